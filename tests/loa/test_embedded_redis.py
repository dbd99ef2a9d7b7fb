"""The bundled redis-server: private socket, clean stop, orphans found."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import psutil
import redis

from loa.embedded_redis import EmbeddedRedis, redis_server_binary, stop_orphan


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
