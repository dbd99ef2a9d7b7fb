"""Only one beat: the second one finds the lock held and must not start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from tasks.beat_lock import BeatLock


def test_second_beat_is_refused_until_the_first_releases(redis_client: redis.Redis) -> None:
    key = f"loa:test:beat:{uuid.uuid4().hex}"
    first = BeatLock(redis_client, key=key, ttl_seconds=5)
    second = BeatLock(redis_client, key=key, ttl_seconds=5)
    assert first.acquire()
    try:
        assert not second.acquire()
        assert second.holder() == first.token
    finally:
        first.release()
    assert second.acquire()
    second.release()
    assert redis_client.get(key) is None


def test_lock_lost_triggers_the_callback(redis_client: redis.Redis) -> None:
    key = f"loa:test:beat:{uuid.uuid4().hex}"
    lost: list[bool] = []
    lock = BeatLock(redis_client, key=key, ttl_seconds=0.3, on_lost=lambda: lost.append(True))
    assert lock.acquire()
    redis_client.set(key, "someone-else")
    assert lock._thread is not None
    lock._thread.join(timeout=3)
    assert lost == [True]
    lock.release()
    assert redis_client.get(key) == b"someone-else"  # release never deletes another's lock
    redis_client.delete(key)


def test_lock_emptied_by_a_redis_restart_is_taken_again(redis_client: redis.Redis) -> None:
    key = f"loa:test:beat:{uuid.uuid4().hex}"
    lost: list[bool] = []
    lock = BeatLock(redis_client, key=key, ttl_seconds=0.3, on_lost=lambda: lost.append(True))
    assert lock.acquire()
    try:
        redis_client.delete(key)  # what a Redis restarted empty looks like to beat
        deadline = time.monotonic() + 3
        while redis_client.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert redis_client.get(key) == lock.token.encode()
        assert lost == []
    finally:
        lock.release()
    assert redis_client.get(key) is None


def test_loa_beat_refuses_to_start_while_another_holds_the_lock(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    holder = BeatLock(redis_client, ttl_seconds=30)
    assert holder.acquire(), "another beat is already running against this Redis"
    try:
        env = {k: v for k, v in os.environ.items() if k not in {"LOA_CONFIG", "DATABASE_URL"}}
        env.update({"REDIS_URL": redis_url, "LOA_DATA_DIR": str(tmp_path)})
        result = subprocess.run(
            [sys.executable, "-m", "loa", "beat"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.release()
    assert result.returncode == 3
    assert "another beat is running" in result.stderr
    assert holder.token in result.stderr
