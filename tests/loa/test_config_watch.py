"""`loa run` picks up a changed config file: worker, beat and bot restart, serve stays.

The decision and the restart run on real child processes (`sleep`, which dies
on SIGTERM as a worker does on a warm shutdown); the slow end-to-end version
with a real `loa run` is marked long.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.loader import load_settings
from config.yaml_append import append_source
from loa.config_watch import ConfigWatch
from loa.supervisor import Child, Supervisor

CONFIG = "sources:\n  - name: one  # the first\n    url: https://one.example.vn/\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def supervisor(config: Path, tmp_path: Path) -> Iterator[Supervisor]:
    env = {"LOA_DATA_DIR": str(tmp_path / "data"), "PATH": os.environ.get("PATH", "")}
    settings = load_settings(config, environ=env)
    supervisor = Supervisor(settings, config_path=config, environ=env)
    supervisor.children = [
        Child(name, ["sleep", "60"], env=env) for name in ("worker", "beat", "serve", "bot")
    ]
    for child in supervisor.children:
        child.start()
    supervisor.watch = supervisor.config_watch(env)
    yield supervisor
    supervisor.shutdown()


def pids(supervisor: Supervisor) -> dict[str, int]:
    return {c.name: c.process.pid for c in supervisor.children if c.process is not None}


_CLOCK = [time.monotonic()]


def later(supervisor: Supervisor) -> float:
    """A moment past the watch's next look (each call a later one)."""
    assert supervisor.watch is not None
    _CLOCK[0] = max(_CLOCK[0], time.monotonic()) + supervisor.watch.interval + 1
    return _CLOCK[0]


def test_an_added_source_restarts_worker_beat_and_bot_but_not_serve(
    supervisor: Supervisor, config: Path
) -> None:
    before = pids(supervisor)
    assert supervisor.check_config(later(supervisor)) is False  # nothing changed yet
    append_source(config, {"name": "two", "url": "https://two.example.vn/"})
    assert supervisor.check_config(later(supervisor)) is True
    after = pids(supervisor)
    assert after["serve"] == before["serve"]
    for name in ("worker", "beat", "bot"):
        assert after[name] != before[name], name
    old = [before[name] for name in ("worker", "beat", "bot")]
    assert not any(_alive(pid) for pid in old)
    assert all(c.process is not None and c.process.poll() is None for c in supervisor.children)
    assert [s.name for s in supervisor.settings.sources] == ["one", "two"]
    assert supervisor.check_config(later(supervisor)) is False  # once per change


def test_a_broken_file_is_logged_and_ignored_then_a_fixed_one_applies(
    supervisor: Supervisor, config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = pids(supervisor)
    config.write_text(CONFIG + "  - name: Bad Name\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="loa.config_watch"):
        assert supervisor.check_config(later(supervisor)) is False
        os.utime(config, ns=(time.time_ns(), time.time_ns() + 10**9))  # same bad content
        assert supervisor.check_config(later(supervisor)) is False
    assert [r.getMessage() for r in caplog.records if "does not load" in r.getMessage()] != []
    assert len(caplog.records) == 1  # logged once per content
    assert pids(supervisor) == before
    config.write_text(CONFIG + "language: en\n", encoding="utf-8")
    assert supervisor.check_config(later(supervisor)) is True
    assert supervisor.settings.language == "en"


def test_a_touch_without_a_change_and_a_look_too_soon_restart_nothing(
    supervisor: Supervisor, config: Path
) -> None:
    before = pids(supervisor)
    os.utime(config, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert supervisor.check_config(later(supervisor)) is False
    config.write_text(CONFIG + "language: en\n", encoding="utf-8")
    assert supervisor.check_config(_CLOCK[0] + 0.1) is False  # before the interval is up
    assert pids(supervisor) == before


def test_without_a_config_file_nothing_is_watched(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"LOA_DATA_DIR": str(tmp_path)})
    supervisor = Supervisor(settings, config_path=None, environ={})
    assert supervisor.config_watch({}) is None
    assert supervisor.check_config() is False


def test_the_watch_reads_the_file_only_when_its_stat_changes(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    loads: list[str] = []

    def load(p: Path) -> str:
        loads.append(p.read_text())
        return loads[-1]

    watch = ConfigWatch(path, load, interval=0.0)
    assert watch.changed() is None
    path.write_text("a: 2\n", encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert watch.changed() == "a: 2\n"
    path.unlink()
    assert watch.changed() is None  # a missing file (mid-replace) is no change
    assert loads == ["a: 2\n"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.long
def test_loa_run_polls_a_source_appended_to_its_config(tmp_path: Path) -> None:
    """A real `loa run --config f.yaml`: the appended source's first poll shows up in the log."""
    from tests.conftest import free_port
    from tests.sites.server import SiteServer

    with SiteServer() as site:
        listing = site.url_for("http://portal.test/")
        config = tmp_path / "loa.yaml"
        config.write_text(f"data_dir: {tmp_path / 'data'}\nsources: []\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
        env.pop("TELEGRAM_BOT_TOKEN", None)
        env["LOA_HTTP_PORT"] = str(free_port())
        log_file = tmp_path / "data" / "logs" / "loa.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "loa", "--config", str(config), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait(lambda: log_file.exists() and "started beat" in log_file.read_text(), 60)
            append_source(
                config,
                {"name": "portal", "url": listing, "profile": "cms-portal", "poll_interval": 5},
            )
            _wait(lambda: "config changed: restarting" in log_file.read_text(), 30)
            _wait(lambda: site.hits("/portal.test/") > 0, 60)
        finally:
            process.terminate()
            process.wait(60)


def _wait(condition: object, timeout: float) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")
