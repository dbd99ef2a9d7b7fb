"""Polling at scale: 1,000 sources polled every minute by two workers and one beat.

Why: "how far does one machine go" needs a measured answer. The goal (issue
13) on this 2-core machine, PostgreSQL and the local Redis: under 50 % of
both cores, worker RSS under 300 MB per process, poll lag p95 under 10 s.

What it does:

1. creates a private PostgreSQL database for the run (dropped after; as
   bench/services.py does) from DATABASE_URL, migrates it, and leases a Redis
   database of its own on REDIS_URL's server (``SET NX loa:faults:db:<n>`` on db 0,
   the fault suite's lease, so neither flushes the other's; or ``--redis-db``);
2. starts bench/scale_sites.py: ``--sources`` simulated portals, each on a
   loopback address of its own (127.1.x.y), 10 % of them gaining an article
   per minute (one per source every ``--change-every`` seconds);
3. writes a loa.yaml with one ``cms-portal`` source per portal, polled every
   ``--interval`` seconds, and starts ``--workers`` ``loa worker`` processes
   (``--concurrency`` pool processes each) and one ``loa beat``;
4. samples every second, with psutil: CPU time of every Loa process (worker
   main processes, their pool children, beat), of the PostgreSQL backends of
   the run's database, and of the whole machine; the RSS of every worker
   process; the load average;
5. after ``--warmup`` minutes (the first polls read every portal's initial
   article), measures for ``--minutes`` minutes: CPU share of both cores,
   max RSS per worker process, poll lag (from the time a poll was due,
   :func:`tasks.schedule.poll_due_at`, to the portal receiving the listing
   request, which is the poll's first request), polls and new articles per
   minute;
6. prints a table with the goals; asserts nothing about timings.

No channel is configured: this measures polling, extraction, storage and the
feed rebuilds they cause (publishing has bench/publish.py). Only 127.0.0.0/8
is ever contacted. Every process it starts is stopped, also on Ctrl-C.

Usage: DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
       REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/scale_poll.py --minutes 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import psutil
import redis
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.scale_sites import host_of  # noqa: E402
from bench.services import percentile, throwaway_database  # noqa: E402
from news.db import make_engine, make_session_factory  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.models import Article  # noqa: E402
from tasks.schedule import poll_due_at  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.workers import start_worker, stop_worker, worker_env  # noqa: E402

GOAL_CPU = 0.50
GOAL_RSS_MB = 300
GOAL_LAG_P95 = 10.0


@dataclass
class Sampler:
    """CPU seconds per process group, RSS maxima, machine CPU, sampled once a second."""

    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    rss_max_mb: dict[int, float] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)

    def cpu_seconds(self, procs: list[psutil.Process]) -> float:
        """Total CPU seconds the processes used so far (dead ones keep their last value)."""
        for proc in procs:
            try:
                times = proc.cpu_times()
                self.cpu_by_pid[proc.pid] = times.user + times.system
            except psutil.Error:
                pass
        return sum(self.cpu_by_pid[p.pid] for p in procs if p.pid in self.cpu_by_pid)


def tree(pid: int) -> list[psutil.Process]:
    """A process and its children (a worker's pool), those still alive."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return []


def database_backends(name: str) -> list[psutil.Process]:
    """The PostgreSQL backends serving database `name` (their title names it)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if cmdline.startswith("postgres:") and f" {name} " in f"{cmdline} ":
            found.append(proc)
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(times)
    return total - idle, total


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def write_config(path: Path, args: argparse.Namespace, port: int) -> None:
    """loa.yaml: one cms-portal source per simulated portal."""
    sources = [
        {
            "name": f"s{i:04d}",
            "url": f"http://{host_of(i)}:{port}/",
            "profile": "cms-portal",
            "poll_interval": args.interval,
        }
        for i in range(args.sources)
    ]
    path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True))


def make_url_redis(base: str, db: int) -> str:
    """REDIS_URL with its database number replaced by `db`."""
    head, _, _ = base.rstrip("/").rpartition("/")
    if not head.startswith("redis"):
        raise SystemExit(f"REDIS_URL {base!r} is not redis://host:port/db")
    if head.endswith(":"):  # redis://host:port without a db
        head = base.rstrip("/")
    return f"{head}/{db}"


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=5.0, help="measured minutes")
    parser.add_argument("--warmup", type=float, default=7.0, help="minutes before measuring")
    parser.add_argument("--interval", type=int, default=60, help="seconds between polls")
    parser.add_argument("--change-every", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="pool processes per worker")
    parser.add_argument("--redis-db", type=int, default=None, help="default: lease one")
    parser.add_argument("--no-304", action="store_true", help="portals never answer 304")
    parser.add_argument("--keep", action="store_true", help="keep the logs (temp dir)")
    parser.add_argument(
        "--beat-grid",
        action="store_true",
        help="lag from beat's start + k intervals (Celery's plain interval schedule)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url, redis_base = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not database_url.startswith("postgresql") or not redis_base:
        print("bench/scale_poll.py: set DATABASE_URL (PostgreSQL) and REDIS_URL", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    work = Path(tempfile.mkdtemp(prefix="loa-bench-scale-"))
    seconds = int((args.warmup + args.minutes) * 60) + 600
    with (
        leased_redis_db(redis_base, args.redis_db, seconds) as redis_url,
        throwaway_database(database_url, work) as db_url,
    ):
        code = run(args, work, db_url, redis_url)
    if args.keep:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return code


@contextmanager
def leased_redis_db(base: str, wanted: int | None, seconds: int) -> Iterator[str]:
    """REDIS_URL's server with a database number nobody else uses for `seconds`.

    The fault suite leases numbers 15 down to 1 with SET NX on db 0 and flushes
    what it leases; this takes its number the same way, from 1 up.
    """
    admin = redis.Redis.from_url(make_url_redis(base, 0))
    token = f"scale-bench:{os.getpid()}:{time.monotonic_ns()}"
    numbers = [wanted] if wanted is not None else list(range(1, 16))
    leased = next(
        (n for n in numbers if admin.set(f"loa:faults:db:{n}", token, nx=True, ex=seconds)),
        None,
    )
    if leased is None:
        raise SystemExit(f"no free Redis database among {numbers} (leased by others)")
    try:
        yield make_url_redis(base, leased)
    finally:
        if admin.get(f"loa:faults:db:{leased}") == token.encode():
            admin.delete(f"loa:faults:db:{leased}")
        admin.close()


def run(args: argparse.Namespace, work: Path, db_url: str, redis_url: str) -> int:
    engine = make_engine(db_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    db_name = make_url(db_url).database or ""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    port = free_port()
    hits_log, config = work / "hits.log", work / "loa.yaml"
    write_config(config, args, port)
    data_dir = work / "data"
    data_dir.mkdir()
    site_argv = [
        sys.executable, str(REPO / "bench" / "scale_sites.py"), "--port", str(port),
        "--sources", str(args.sources), "--change-every", str(args.change_every),
        "--log", str(hits_log), *(["--no-304"] if args.no_304 else []),
    ]  # fmt: skip
    env = worker_env(db_url, redis_url, data_dir, LOA_CONFIG=str(config))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    procs: list[subprocess.Popen[bytes]] = []
    sampler = Sampler()
    try:
        with (work / "sites.log").open("wb") as out:
            sites = subprocess.Popen(site_argv, stdout=out, stderr=subprocess.STDOUT)
        procs.append(sites)
        time.sleep(2)
        workers = [
            start_worker(env, work, concurrency=args.concurrency) for _ in range(args.workers)
        ]
        procs += workers
        with (work / "beat.log").open("wb") as out:
            beat = subprocess.Popen(
                [sys.executable, "-m", "loa", "beat"], env=env, cwd=work, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        procs.append(beat)
        started = time.time()
        print(f"{args.sources} sources, {args.workers} workers × {args.concurrency}; "
              f"warm-up {args.warmup} min, then {args.minutes} min measured; load {load()}",
              flush=True)  # fmt: skip
        time.sleep(args.warmup * 60)
        loa_pids = [w.pid for w in workers] + [beat.pid]

        def loa_procs() -> list[psutil.Process]:
            return [p for pid in loa_pids for p in tree(pid)]

        backends = database_backends(db_name)
        window_start = time.time()
        load_start = load()
        loa_cpu0 = sampler.cpu_seconds(loa_procs())
        db_cpu0 = sampler.cpu_seconds(backends)
        busy0, total0 = machine_busy()
        deadline = window_start + args.minutes * 60
        queue_depths: list[int] = []
        next_note = window_start + 60
        while time.time() < deadline:
            for pid in [w.pid for w in workers]:
                for member in tree(pid):
                    try:
                        mb = member.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    sampler.rss_max_mb[member.pid] = max(sampler.rss_max_mb.get(member.pid, 0), mb)
                    sampler.roles[member.pid] = "main" if member.pid == pid else "pool"
            sampler.cpu_seconds(loa_procs())
            queue_depths.append(int(client.llen("celery")))
            backends = list({p.pid: p for p in [*backends, *database_backends(db_name)]}.values())
            sampler.cpu_seconds(backends)
            for proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(f"a process exited early ({proc.args!r}); see {work}")
            if time.time() >= next_note:
                print(f"  {(time.time() - window_start) / 60:.0f} min: load {load()}", flush=True)
                next_note += 60
            time.sleep(1.0)
        window_end = time.time()
        loa_cpu = sampler.cpu_seconds(loa_procs()) - loa_cpu0
        db_cpu = sampler.cpu_seconds(backends) - db_cpu0
        busy1, total1 = machine_busy()
        load_end = load()
    finally:
        for proc in reversed(procs):
            if proc in procs[1:]:
                stop_worker(proc)
            else:
                proc.terminate()
                proc.wait(timeout=10)
    wall = window_end - window_start
    cores = psutil.cpu_count() or 1
    lags, polls = poll_lags(hits_log, args, window_start, window_end, beat_started=started)
    with factory() as session:
        new_articles = session.scalar(
            select(func.count())
            .select_from(Article)
            .where(
                Article.first_seen_at >= datetime.fromtimestamp(window_start, UTC),
                Article.first_seen_at < datetime.fromtimestamp(window_end, UTC),
            )
        )
    engine.dispose()
    client.flushdb()
    minutes = wall / 60
    peaks = sampler.rss_max_mb.items()
    rss_main = max((v for p, v in peaks if sampler.roles[p] == "main"), default=0.0)
    rss_pool = max((v for p, v in peaks if sampler.roles[p] == "pool"), default=0.0)
    lag_p95 = percentile(lags, 0.95) if lags else float("nan")
    share = loa_cpu / (wall * cores)
    rows = [
        ("sources / interval", f"{args.sources} every {args.interval} s, "
                               f"{args.sources * 60 / args.change_every:.0f} changing per min"),
        ("workers", f"{args.workers} × concurrency {args.concurrency} + 1 beat"),
        ("measured", f"{minutes:.1f} min after {args.warmup} min warm-up"),
        ("load average start / end", f"{load_start} / {load_end}"),
        ("CPU, Loa processes", f"{share:.1%} of {cores} cores (goal < {GOAL_CPU:.0%})"),
        ("CPU, PostgreSQL backends", f"{db_cpu / (wall * cores):.1%} of {cores} cores"),
        ("CPU, whole machine", f"{(busy1 - busy0) / (total1 - total0):.1%} "
                               "(other helpers' work included)"),
        ("worker RSS max, main", f"{rss_main:.0f} MB"),
        ("worker RSS max, pool process", f"{rss_pool:.0f} MB (goal < {GOAL_RSS_MB} MB)"),
        ("poll lag p50 / p95 / max", f"{percentile(lags, 0.5):.2f} / {lag_p95:.2f} / "
                                     f"{max(lags):.2f} s (goal p95 < {GOAL_LAG_P95:.0f} s)"
         if lags else "no polls"),
        ("queue depth mean / max", f"{sum(queue_depths) / max(len(queue_depths), 1):.0f} / "
                                   f"{max(queue_depths, default=0)} tasks"),
        ("polls per minute", f"{polls / minutes:.0f} "
                             f"(expected {args.sources * 60 / args.interval:.0f})"),
        ("new articles per minute", f"{(new_articles or 0) / minutes:.0f}"),
    ]  # fmt: skip
    print()
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    met = share < GOAL_CPU and rss_pool < GOAL_RSS_MB and rss_main < GOAL_RSS_MB
    met = met and lag_p95 < GOAL_LAG_P95
    print(f"\ngoal {'met' if met else 'NOT met'}")
    return 0


def poll_lags(
    hits_log: Path, args: argparse.Namespace, start: float, end: float, *, beat_started: float
) -> tuple[list[float], int]:
    """Each measured poll's lag: listing request time minus the time it was due."""
    lags = []
    for line in hits_log.read_text().splitlines():
        index_text, _, when_text = line.partition(" ")
        when = float(when_text)
        if not start <= when < end:
            continue
        if args.beat_grid:
            due = beat_started + (when - beat_started) // args.interval * args.interval
        else:
            due = poll_due_at(f"s{int(index_text):04d}", args.interval, when)
        lags.append(when - due)
    return lags, len(lags)


if __name__ == "__main__":
    sys.exit(main())
