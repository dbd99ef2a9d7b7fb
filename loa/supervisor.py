"""`loa run`: every Loa process in one supervised group.

The supervisor starts the embedded Redis (when `REDIS_URL` is unset), runs
the migrations once, starts the demo portal (when nothing is configured) and
then the children: worker, beat, HTTP server and, with a token, the bot. A
child that exits on its own is reported and restarted with backoff; Ctrl-C or
SIGTERM stops every child (and its own children) and then Redis.

The config file is watched (loa.config_watch): when it changes to something
that still loads, say after `loa add-source --write` or an editor's
``/addsource``, the worker, beat and bot are restarted gracefully (SIGTERM,
as at stop) so a new source is polled without a manual restart.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from config.loader import load_settings
from config.settings import DEMO_STATE_FILE, Settings
from loa.config_watch import ConfigWatch
from loa.demo_portal import DemoPortal
from loa.embedded_redis import EmbeddedRedis
from loa.lifeline import SUPERVISOR_PID_ENV
from loa.ports import require_free_port
from news.migrate import upgrade
from ops.metrics import clear_directory
from ops.status_auth import configured_credentials, demo_password, read_password, status_access
from tasks.runtime import Runtime

log = logging.getLogger(__name__)
STOP_TIMEOUT = 15.0
MAX_BACKOFF = 30.0
#: the children that read sources and routes: restarted when the config file changes
RELOADED = ("worker", "beat", "bot")


@dataclass
class Child:
    """One supervised process and its restart bookkeeping."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.process.pid)


class Supervisor:
    """Runs the children for `settings` until asked to stop."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None,
        log_json: bool = False,
        environ: Mapping[str, str] | None = None,
        emulator: bool = False,
    ):
        self.settings = settings
        self.config_path = config_path
        self.log_json = log_json
        self.environ = dict(os.environ if environ is None else environ)
        self.redis: EmbeddedRedis | None = None
        self.portal: DemoPortal | None = None
        self.use_emulator = emulator
        self.emulator: Any = None
        self.children: list[Child] = []
        self._stopping = False
        #: set by run() when there is a config file to watch
        self.watch: ConfigWatch[Settings] | None = None
        #: the demo's generated /status password, when `loa run` made one
        self.status_password_file: Path | None = None

    # --- start -----------------------------------------------------------

    def prepare(self) -> dict[str, str]:
        """Start Redis, migrate, start the demo portal; return the children's environment."""
        data_dir = self.settings.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(self.environ)
        env["LOA_DATA_DIR"] = str(data_dir)
        env["LOA_HTTP_PORT"] = str(self.settings.http_port)
        env[SUPERVISOR_PID_ENV] = str(os.getpid())  # children stop if we die (loa.lifeline)
        if self.config_path is not None:
            env["LOA_CONFIG"] = str(self.config_path.resolve())
        if not self.settings.redis_url:
            self.redis = EmbeddedRedis(data_dir)
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        with closing(Runtime(self.settings)) as runtime:
            upgrade(runtime.engine)
        clear_directory(self.settings.metrics_dir)  # the last run's processes are gone
        if not self.settings.sources and self.config_path is None:
            # Same port and articles as the last run in this data directory, so a
            # restart announces nothing twice (see loa.demo_timeline).
            self.portal = DemoPortal.resume(data_dir / DEMO_STATE_FILE)
            self.portal.start()
            env["LOA_DEMO_PORTAL_URL"] = self.portal.url
            if configured_credentials(self.settings) is None:
                # The demo's /status opens with a password kept in the data dir (0600).
                self.status_password_file = demo_password(data_dir)
                env["LOA_STATUS_PASSWORD"] = read_password(self.status_password_file)
        if self.use_emulator:
            env.update(self._start_emulator())
        return env

    def _start_emulator(self) -> dict[str, str]:
        """The offline demo's Telegram: the bundled Bot API emulator, channels created."""
        from loa.demo_stories import STORIES
        from news.text import slugify
        from telegram_emulator import Emulator

        self.emulator = Emulator().start()
        names = {c.chat for c in self.settings.effective_channels()}
        if not self.settings.channels:
            names |= {"@loa_demo"} | {
                f"@loa_demo_{slugify(s.category).replace('-', '_')}" for s in STORIES
            }
        for name in sorted(names):
            if name.startswith("@"):
                self.emulator.create_chat("channel", username=name)
            else:
                self.emulator.create_chat("channel", chat_id=int(name))
        return {
            "TELEGRAM_BOT_TOKEN": "1000001:" + "E" * 35,
            "TELEGRAM_API_BASE_URL": self.emulator.base_url,
        }

    def plan_children(self, env: dict[str, str]) -> list[Child]:
        """The processes to run, each a `loa` subcommand."""
        base = [sys.executable, "-m", "loa"] + (["--log-json"] if self.log_json else [])
        names = ["worker", "beat", "serve"]
        if (
            self.settings.telegram_bot_token is not None
            or env.get("TELEGRAM_BOT_TOKEN", "").strip()
        ):
            names.append("bot")
        return [Child(name, base + [name], env=env) for name in names]

    def run(self) -> int:
        """Start everything, supervise until a stop signal; return the exit code."""
        require_free_port(self.settings.http_host, self.settings.http_port)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            env = self.prepare()
            self.children = self.plan_children(env)
            for child in self.children:
                child.start()
            self._announce(env)
            self.watch = self.config_watch(env)
            while not self._stopping:
                self._check_children()
                self.check_config()
                time.sleep(0.5)
        finally:
            self.shutdown()
        return 0

    def _announce(self, env: Mapping[str, str]) -> None:
        base = f"http://{self.settings.http_host}:{self.settings.http_port}"
        lines = [
            "Loa is running. Open:",
            f"  feeds      {base}/feeds/all.rss",
            f"  home page  {base}/",
            f"  health     {base}/healthz  (ready: {base}/readyz, metrics: {base}/metrics)",
        ]
        access = status_access(self.settings, self.status_password_file)
        lines.append(f"  status     {base}/status  ({access})")
        if self.portal is not None:
            lines.append(f"  demo portal {self.portal.url}  (a new article every minute)")
        if self.emulator is not None:
            lines.append(f"  Telegram   {self.emulator.url}/_emulator/messages  (Bot API emulator)")
        elif self.settings.telegram_bot_token is None:
            lines.append(f"  outbox     {self.settings.outbox_dir.resolve()}  (dry run: no token)")
        if self.settings.webhook_url and any(c.name == "bot" for c in self.children):
            listen = f"{self.settings.webhook_host}:{self.settings.webhook_port}"
            lines.append(f"  bot webhook {self.settings.webhook_url}  (listening on {listen})")
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), flush=True)

    # --- supervise -------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("received %s, stopping", signal.Signals(signum).name)
        self._stopping = True

    def _check_children(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if now >= child.next_start:
                    child.start()
                continue
            code = child.process.poll()
            if code is None:
                continue
            uptime = now - child.started_at
            child.restarts = 0 if uptime > 60 else child.restarts + 1
            delay = min(2.0**child.restarts, MAX_BACKOFF)
            log.error("%s exited with code %s; restarting in %.0fs", child.name, code, delay)
            _kill_tree(child.process.pid)
            child.process = None
            child.next_start = now + delay

    # --- config changes --------------------------------------------------

    def config_watch(self, env: Mapping[str, str]) -> ConfigWatch[Settings] | None:
        """A watch on the config file, loading it as the children will (their environment)."""
        if self.config_path is None:
            return None
        child_env = dict(env)
        return ConfigWatch(self.config_path, lambda path: load_settings(path, environ=child_env))

    def check_config(self, now: float | None = None) -> bool:
        """Restart worker, beat and bot when the config file changed and loads; True if so."""
        if self.watch is None:
            return False
        settings = self.watch.changed(now)
        if settings is None:
            return False
        self.settings = settings
        restarted = [c for c in self.children if c.name in RELOADED]
        log.info("config changed: restarting %s to apply it", ", ".join(c.name for c in restarted))
        self._stop(restarted)
        for child in restarted:
            child.restarts = 0
            child.start()
        return True

    # --- stop ------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop children (gracefully, then by force), the demo portal, and Redis."""
        self._stop(self.children)
        if self.portal is not None:
            self.portal.stop()
            self.portal = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        log.info("all stopped")

    def _stop(self, children: list[Child]) -> None:
        """SIGTERM the running ones among `children`, wait, then kill what is left of each."""
        running = [c for c in children if c.process is not None]
        for child in running:
            assert child.process is not None
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
            _kill_tree(child.process.pid)
            child.process = None


def _kill_tree(pid: int) -> None:
    """Kill whatever is left of a child's session (say, orphaned pool processes)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        psutil.Process(pid).wait(2)
    except (psutil.Error, psutil.TimeoutExpired):
        pass
