"""Start and stop real `loa worker` processes for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def worker_env(database_url: str, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker that shares the test's database and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "LOA_CONFIG"}}
    env.update(
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOA_DATA_DIR": str(data_dir)}
    )
    env.update(extra)
    return env


def start_worker(
    env: dict[str, str], cwd: Path, *, concurrency: int = 1
) -> subprocess.Popen[bytes]:
    """`loa worker` in its own process group (so the whole pool can be killed at once)."""
    with open(cwd / f"worker-{time.monotonic_ns()}.log", "wb") as log:  # the child keeps a copy
        return subprocess.Popen(
            [sys.executable, "-m", "loa", "worker", "--concurrency", str(concurrency)],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(worker: subprocess.Popen[bytes], *, hard: bool = False) -> None:
    """SIGTERM (warm shutdown), or SIGKILL to the whole group (`hard`), and reap it."""
    try:
        os.killpg(worker.pid, signal.SIGKILL if hard else signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` until true; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
