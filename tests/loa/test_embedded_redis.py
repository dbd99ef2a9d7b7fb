"""The bundled redis-server: private socket, clean stop, orphans found."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import redis

from loa.embedded_redis import EmbeddedRedis, redis_server_binary, stop_orphan
from news.errors import ServiceError


def test_starts_on_a_private_socket_and_stops_cleanly(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    with server:
        assert server.process is not None
        pid = server.process.pid
        client = redis.Redis(unix_socket_path=str(server.socket))
        assert client.ping()
        assert client.config_get("save")["save"] == ""
        assert stat.S_IMODE(os.stat(server.socket.parent).st_mode) == 0o700
        assert server.pidfile.read_text().strip() == str(pid)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not server.socket.exists()
    assert not server.pidfile.exists()


def test_an_orphan_from_a_killed_run_is_stopped_on_next_start(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    first.start()
    orphan = first.process
    assert orphan is not None
    first.process = None  # forget it, as a `kill -9` of the supervisor would
    second = EmbeddedRedis(tmp_path)
    second.start()
    try:
        # stop_orphan terminated it; reap it (it is our child in this test)
        assert orphan.wait(timeout=5) is not None
        assert second.process is not None and second.process.poll() is None
    finally:
        second.stop()


def test_stop_orphan_ignores_a_pidfile_of_another_program(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    pidfile = tmp_path / "redis.pid"
    pidfile.write_text(str(sleeper.pid))
    try:
        assert stop_orphan(pidfile) is False
        assert sleeper.poll() is None
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()
    assert Path(redis_server_binary()).is_file()


def test_a_stale_pidfile_never_stops_an_unrelated_redis_server(tmp_path: Path) -> None:
    """Only the redis-server serving Loa's own socket is an orphan of Loa's."""
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--unixsocket", str(other_dir / "o.sock"),
         "--save", "", "--dir", str(other_dir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not (other_dir / "o.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        server = EmbeddedRedis(tmp_path)
        server.directory.mkdir(parents=True)
        server.pidfile.write_text(str(other.pid))  # a stale pidfile naming someone else's
        with server:
            assert server.process is not None and server.process.pid != other.pid
        assert other.poll() is None, "an unrelated redis-server was stopped"
    finally:
        other.kill()
        other.wait()


def _long_data_dir(tmp_path: Path) -> Path:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    return deep


def test_fallback_socket_directory_refuses_a_planted_symlink(tmp_path: Path) -> None:
    data_dir = _long_data_dir(tmp_path)
    server = EmbeddedRedis(data_dir)
    assert not server.socket.is_relative_to(data_dir)  # the short fallback path is used
    target = tmp_path / "victim"
    target.mkdir(mode=0o755)
    fallback = server.socket.parent
    shutil.rmtree(fallback, ignore_errors=True)
    fallback.symlink_to(target)
    try:
        with pytest.raises(ServiceError, match="symlink"):
            server.start()
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o755  # not chmod-ed through the link
    finally:
        fallback.unlink()


def test_fallback_socket_directory_is_private_and_ours(tmp_path: Path) -> None:
    server = EmbeddedRedis(_long_data_dir(tmp_path))
    with server:
        info = os.lstat(server.socket.parent)
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
        assert stat.S_IMODE(info.st_mode) == 0o700
