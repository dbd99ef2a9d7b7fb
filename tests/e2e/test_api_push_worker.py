"""CMS push through the real processes: `loa serve` enqueues on Redis, `loa worker` sends.

The API tests call the publisher themselves; this one checks the wiring they
skip: the HTTP server builds its Celery app from the settings and the push's
deliveries reach the emulator's channel through a worker, as under `loa run`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.conftest import free_port
from tests.helpers import healthy
from tests.workers import start_worker, stop_worker, wait_for, worker_env

pytestmark = pytest.mark.e2e
BOT_TOKEN = "777777:" + "F" * 35
API_TOKEN = "e2e-" + "t" * 28



def test_a_push_reaches_the_channel_through_serve_and_a_worker(
    factory: sessionmaker[Session],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    channel = telegram_emulator.create_chat("channel", username="tin_nhanh")
    port = free_port()
    env = worker_env(
        database_url, redis_url, tmp_path,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=telegram_emulator.base_url,
        LOA_API_TOKENS=API_TOKEN, LOA_HTTP_PORT=str(port),
        LOA_ROUTES=json.dumps([{"channel": "@tin_nhanh"}]),
    )  # fmt: skip
    create_celery_app(load_settings(None, environ=env)).control.purge()
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "loa", "serve"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    worker = start_worker(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base), timeout=30, what="loa serve")
        answer = requests.post(
            f"{base}/api/articles",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            json={
                "title": "Tin nóng từ CMS",
                "url": "https://cms.example/tin/1.html",
                "summary": "Đăng lúc này, lên kênh ngay.",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["queued"] == 1
        wait_for(
            lambda: len(telegram_emulator.messages(channel["id"])) == 1,
            timeout=30,
            what="the channel message",
        )
    finally:
        stop_worker(worker)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    (message,) = telegram_emulator.messages(channel["id"])
    assert message.text is not None and message.text.startswith("Tin nóng từ CMS")
