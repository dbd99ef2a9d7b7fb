"""CMS push benchmark: ``POST /api/articles`` → message accepted by the Bot API emulator.

Runs the real processes on the embedded defaults: `loa serve` (the HTTP API)
and `loa worker` (Celery on Redis, python-telegram-bot to the emulator over
HTTP), each a subprocess as `loa run` starts them. Each push carries the full
fields (nothing is fetched) and is routed to a channel of its own, so the
per-channel limit (20 a minute) never queues it: what is measured is Loa's own
path (HTTP, validation, store, ledger, enqueue, worker, limiter, send). Pushes
go one at a time at a steady pace; the table gives p50/p95 against a baseline
measured in the same run: a bare python-telegram-bot ``send_message`` to the
emulator, what any bot pays without Loa.

Usage: .venv/bin/python bench/ingest.py [--pushes 200] [--workers 2] [--pace 0.1]
Uses DATABASE_URL / REDIS_URL when set, else a SQLite file and the bundled Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.services import (  # noqa: E402
    Services,
    baseline_latency,
    bench_services,
    percentile,
    print_table,
    worker_settings,
)
from bot.channels import ChannelRegistry  # noqa: E402
from bot.senders import TelegramSender  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.workers import start_worker, stop_worker, wait_for  # noqa: E402

TOKEN = "434343:" + "E" * 35
API_TOKEN = "bench-" + "x" * 26
GOAL_P95 = 0.300


def start_server(env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    """`loa serve` in its own process group, logging to a file in `work`."""
    with open(work / "serve.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "loa", "serve"],
            env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop_server(server: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def push_body(n: int) -> dict[str, str]:
    return {
        "title": f"Bài số {n}: giá lúa tăng mạnh",
        "url": f"https://cms.example/tin-tuc/bai-{n}.html",
        "published_at": "2024-05-01T09:30:00+07:00",
        "category": f"Kênh {n}",  # → route @bench_kenh_<n>: one channel per push
        "summary": "Giá lúa tại đồng bằng tăng mạnh trong tuần qua. " * 3,
        "body": "Nội dung bài viết.\nĐoạn hai.",
        "image": f"https://cms.example/images/{n}.jpg",
    }


def run(args: argparse.Namespace, services: Services) -> list[tuple[str, str]]:
    """Baseline, then the pushes; (measure, result) rows."""
    emulator, work = services.emulator, services.work
    emulator.set_limits(global_per_second=1000)
    total = args.pushes + 1  # push 0 is the first after start: reported on its own
    channels = [f"@bench_kenh_{n}" for n in range(total)]
    baseline_chats = [emulator.create_chat("channel", username=c[1:])["id"] for c in channels]
    base = baseline_latency(emulator, baseline_chats, min(args.pushes, 100), token=TOKEN)
    emulator.reset()
    emulator.set_limits(global_per_second=1000)
    ids = {emulator.create_chat("channel", username=c[1:])["id"]: c for c in channels}

    port = free_port()
    env, _ = worker_settings(services, TOKEN)
    env.update(
        LOA_API_TOKENS=API_TOKEN,
        LOA_HTTP_PORT=str(port),
        LOA_CHANNELS=json.dumps([{"chat": c} for c in channels]),
        LOA_ROUTES=json.dumps([{"channel": "@bench_{category_slug}"}]),
    )
    # Channels are resolved once (getChat) when first used, as `loa channels` or a
    # first post does; done here so every measured push is a steady-state post.
    sender = TelegramSender(TOKEN, base_url=emulator.base_url)
    registry = ChannelRegistry(services.factory, sender)
    for chat in channels:
        registry.target(chat)
    sender.close()

    server = start_server(env, work)
    worker = start_worker(env, work, concurrency=args.workers)
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {API_TOKEN}"
    url = f"http://127.0.0.1:{port}"
    pushed_at: dict[str, float] = {}
    answers: list[float] = []
    try:
        wait_for(lambda: _healthy(http, url), timeout=30, what="loa serve")
        time.sleep(3)  # worker start-up is not part of the latency
        for n in range(total):
            started = time.monotonic()
            response = http.post(f"{url}/api/articles", json=push_body(n), timeout=10)
            answers.append(time.monotonic() - started)
            if response.status_code != 201:
                raise SystemExit(f"push {n}: {response.status_code} {response.text}")
            pushed_at[channels[n]] = started
            time.sleep(args.pace)
        wait_for(lambda: len(emulator.sent()) >= total, timeout=120, what="every message")
    finally:
        stop_worker(worker)
        stop_server(server)
    sent = [m for m in emulator.sent() if m.chat_id in ids]
    by_chat = {ids[m.chat_id]: m.accepted_at - pushed_at[ids[m.chat_id]] for m in sent}
    first = by_chat.pop(channels[0])
    latencies = list(by_chat.values())
    answers = answers[1:]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    b50, b95 = statistics.median(base), percentile(base, 0.95)
    verdict = "met" if p95 <= GOAL_P95 else "MISSED"
    return [
        ("bare send_message p50 / p95", f"{b50 * 1000:.1f} ms / {b95 * 1000:.1f} ms"),
        ("POST → 201 answer p50 / p95",
         f"{statistics.median(answers) * 1000:.1f} ms / {percentile(answers, 0.95) * 1000:.1f} ms"),
        ("push → accepted p50", f"{p50 * 1000:.0f} ms ({p50 / b50:.1f}× bare send)"),
        ("push → accepted p95",
         f"{p95 * 1000:.0f} ms (goal ≤ {GOAL_P95 * 1000:.0f} ms: {verdict})"),
        ("first push after start (not in the above)",
         f"{first * 1000:.0f} ms (one-time set-up: connections, caches)"),
        ("messages", f"{len(sent)} for {total} pushes, "
                     f"{len({m.chat_id for m in sent})} channels"),
    ]  # fmt: skip


def _healthy(http: requests.Session, url: str) -> bool:
    try:
        return http.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--pace", type=float, default=0.1, help="seconds between pushes")
    args = parser.parse_args()
    with bench_services() as services:
        rows = run(args, services)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
