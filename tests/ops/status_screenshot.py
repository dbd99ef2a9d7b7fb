"""`make screenshot`: docs/status.png, the status page of a demo-like database in Chromium.

Also the helpers the page's browser test uses: find Debian's `chromium`, and
run it headless against a URL for a screenshot or the rendered DOM. The
server is the real app (:func:`feeds.server.create_app`) under uvicorn on
127.0.0.1; the data is :mod:`tests.ops.status_seed`'s 48 hours.

Usage: .venv/bin/python -m tests.ops.status_screenshot [docs/status.png] [--lang vi|en]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from config.loader import load_settings
from config.settings import Settings
from feeds.server import create_app
from news.db import make_engine, make_session_factory
from news.migrate import upgrade
from tests.conftest import free_port
from tests.helpers import running_server
from tests.ops.status_seed import seed_status_demo

#: the page's width in the screenshot, and a height that shows the chart and the tables
WINDOW = (1280, 1960)


def chromium() -> str | None:
    """Debian's chromium (or a chromium-browser / google-chrome on PATH), if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _headless(binary: str, profile: Path, *args: str) -> list[str]:
    """A headless run with a throwaway profile: no sandbox (CI runs as root), no GPU."""
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]


def screenshot(url: str, png: Path, *, window: tuple[int, int] = WINDOW) -> None:
    """Render `url` and write its screenshot to `png`."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        argv = _headless(binary, Path(profile), f"--window-size={window[0]},{window[1]}")
        argv += [f"--screenshot={png}", url]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)


def dump_dom(url: str) -> str:
    """The DOM Chromium built from `url`, serialized."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        argv = _headless(binary, Path(profile), "--dump-dom", url)
        done = subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return done.stdout.decode("utf-8")


def demo_settings(data_dir: Path, password: str, *, database_url: str | None = None) -> Settings:
    """Settings of a demo-like run with the status page on (user ``loa``)."""
    environ = {
        "LOA_DATA_DIR": str(data_dir),
        "LOA_HTTP_PORT": str(free_port()),
        "LOA_STATUS_PASSWORD": password,
    }
    if database_url:
        environ["DATABASE_URL"] = database_url
    return load_settings(None, environ=environ)


def main() -> None:
    """Seed a temporary SQLite database, serve it, screenshot `/status`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", nargs="?", default="docs/status.png", type=Path)
    parser.add_argument("--lang", default="vi", choices=("vi", "en"))
    args = parser.parse_args()
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory() as tmp:
        settings = demo_settings(Path(tmp), password)
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = make_session_factory(engine)
        seed_status_demo(factory)
        app = create_app(settings, factory)
        with running_server(app, settings.http_port) as base:
            url = base.replace("http://", f"http://loa:{password}@") + f"/status?lang={args.lang}"
            args.output.parent.mkdir(parents=True, exist_ok=True)
            screenshot(url, args.output.resolve())
        engine.dispose()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
