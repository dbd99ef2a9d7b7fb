"""Feeds benchmark: rebuild time and cached `/feeds/all.rss` throughput against nginx.

Why: the feeds are pre-rendered so that serving one is cheap; this measures
how cheap, against a yardstick measured in the same run on the same machine
(nginx serving the very same bytes as a static file), and how long a full
rebuild of every feed takes for a realistic database. Our goal (see the issue)
is at least 0.5x nginx's requests/second for both the 200 and the 304 case.

What it does:

1. creates a temp data dir with a SQLite database (migrated), filled with
   `--articles` articles across `--categories` categories through the real
   `news.store.upsert_article`;
2. times `feeds.cache.rebuild_all` three times (median, and how many feeds it
   wrote);
3. starts `loa serve` (one uvicorn process) and nginx, both pinned to one CPU
   with `taskset`, and runs `wrk -t1 -c32` pinned to another CPU against
   `/feeds/all.rss` of each: a plain GET (200) and a GET with the server's own
   ETag in If-None-Match (304), after checking each answers as expected;
4. prints a table and loa/nginx ratios; it asserts nothing about timings.

Every process it starts is stopped and the temp dir removed, also on Ctrl-C.

Usage: .venv/bin/python bench/feeds.py [--seconds 10] [--articles 10000] [--categories 50]
Needs nginx, wrk and taskset on PATH (Debian: `apt-get install nginx wrk`); when one
is missing it says so and exits with code 2 without installing anything.
Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.loader import load_settings  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds.cache import rebuild_all  # noqa: E402
from news.db import make_engine, make_session_factory, write_session  # noqa: E402
from news.extract import ExtractedArticle  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.store import get_or_create_source, upsert_article  # noqa: E402
from news.text import slugify  # noqa: E402

HOST = "127.0.0.1"
FEED_PATH = "/feeds/all.rss"
BATCH = 1000
REBUILDS = 3
WRK_THREADS = 1
WRK_CONNECTIONS = 32
GOAL_RATIO = 0.5
VN = ZoneInfo("Asia/Ho_Chi_Minh")
EXTRA_PATH = ("/usr/sbin", "/sbin", "/usr/local/sbin")

CATEGORY_NAMES = [
    "Thời sự", "Thế giới", "Kinh tế", "Giáo dục", "Sức khỏe", "Thể thao", "Văn hóa",
    "Pháp luật", "Du lịch", "Khoa học", "Công nghệ", "Đời sống", "Giải trí", "Xe",
    "Bất động sản", "Nông nghiệp", "Môi trường", "Quốc phòng", "Công tác tuyên giáo",
    "Ý kiến", "Tâm sự", "Ẩm thực", "Gia đình", "Việc làm",
]  # fmt: skip
PLACES = ["Hà Nội", "TP Hồ Chí Minh", "Đà Nẵng", "Cần Thơ", "Huế", "Hải Phòng", "Quảng Ninh"]
TOPICS = [
    "giá lúa tăng mạnh", "khởi công cầu vượt sông", "học sinh đạt giải quốc tế",
    "mưa lớn gây ngập úng", "bệnh viện tiếp nhận ca ghép tạng", "đội tuyển thắng đậm",
    "lễ hội đường phố rực rỡ", "điều chỉnh giá xăng dầu", "phát hiện loài thực vật mới",
]  # fmt: skip


class MissingTools(Exception):
    """nginx, wrk or taskset is not installed."""


class BenchError(Exception):
    """A server did not start or answered something unexpected."""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported."""

    requests_per_second: float
    latency: str
    transfer_per_second: str
    bad_responses: int
    socket_errors: str


@dataclass(frozen=True)
class Probe:
    """One request's status, headers and body length."""

    status: int
    etag: str | None
    body: bytes


# --------------------------------------------------------------------------- setup


def find_tools() -> dict[str, str]:
    """Absolute paths of nginx, wrk and taskset (sbin dirs included); MissingTools if not."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_PATH])
    found = {name: shutil.which(name, path=search) for name in ("nginx", "wrk", "taskset")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise MissingTools(", ".join(missing))
    return {name: path for name, path in found.items() if path is not None}


def pick_cpus() -> tuple[int, int]:
    """CPU for the server under test and CPU for wrk (0 and 1 when allowed)."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        print(f"warning: only CPU {allowed[0]} is available; server and wrk share it")
        return allowed[0], allowed[0]
    return allowed[0], allowed[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_environ(data_dir: Path, database_url: str, port: int) -> dict[str, str]:
    """Exactly what the bench's settings are loaded from (no other LOA_* variables)."""
    return {"LOA_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "LOA_HTTP_PORT": str(port)}


def category_names(count: int) -> list[str]:
    """`count` distinct Vietnamese category names (numbered once the list runs out)."""
    names = []
    for n in range(count):
        base = CATEGORY_NAMES[n % len(CATEGORY_NAMES)]
        round_ = n // len(CATEGORY_NAMES)
        names.append(base if round_ == 0 else f"{base} {round_ + 1}")
    return names


def make_article(n: int, category: str, now: datetime) -> ExtractedArticle:
    """Article number `n`: Vietnamese text with diacritics, tz-aware publication time."""
    place, topic = PLACES[n % len(PLACES)], TOPICS[n % len(TOPICS)]
    url = f"http://bench.test/{slugify(category)}/bai-{n}.html"
    title = f"{place}: {topic} – bản tin số {n}"
    summary = (
        f"Theo ghi nhận của phóng viên tại {place}, {topic} trong tuần qua. "
        "Người dân bày tỏ sự quan tâm, chính quyền địa phương cho biết sẽ tiếp tục theo dõi "
        "và thông tin kịp thời đến bạn đọc."
    )
    published = (now - timedelta(minutes=7 * n)).astimezone(VN)
    return ExtractedArticle(
        url=url, canonical_url=url, title=title, category=category,
        category_slug=slugify(category), published_at=published,
        date_inferred=False, summary=summary, body=summary * 4 + "\nNội dung chi tiết.",
        image=f"http://bench.test/anh/{n}.jpg", author="Phóng viên Loa",
    )  # fmt: skip


def fill_database(settings: Settings, articles: int, categories: int) -> float:
    """Migrate and fill the bench database; return the seconds it took."""
    started = time.monotonic()
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        names = category_names(categories)
        now = datetime.now(UTC)
        for first in range(0, articles, BATCH):
            with write_session(factory) as session:
                source = get_or_create_source(
                    session, name="bench", kind="cms", url="http://bench.test/"
                )
                for n in range(first, min(first + BATCH, articles)):
                    upsert_article(
                        session, make_article(n, names[n % len(names)], now), source=source
                    )
    finally:
        engine.dispose()
    return time.monotonic() - started


def time_rebuilds(settings: Settings) -> list[tuple[float, int]]:
    """Seconds and number of keys returned for each of REBUILDS full rebuilds.

    The first runs on a fresh database (every feed is new); later ones may write
    fewer or no keys when `rebuild_all` skips unchanged bytes.
    """
    engine = make_engine(settings.effective_database_url)
    try:
        factory = make_session_factory(engine)
        runs = []
        for _ in range(REBUILDS):
            started = time.monotonic()
            keys = len(rebuild_all(factory, settings))
            runs.append((time.monotonic() - started, keys))
    finally:
        engine.dispose()
    return runs


# --------------------------------------------------------------------------- processes


@contextmanager
def running(
    argv: list[str], *, log: Path, env: dict[str, str], cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own session; on exit terminate it, then kill it if it lingers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait up to 10 s, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def request(port: int, headers: dict[str, str] | None = None) -> Probe:
    """One GET of FEED_PATH on 127.0.0.1:`port`."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", FEED_PATH, headers=headers or {})
        response = conn.getresponse()
        return Probe(response.status, response.getheader("ETag"), response.read())
    finally:
        conn.close()


def wait_until_up(proc: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    """Poll until the server answers on `port`; BenchError (with its log) if it dies or stalls."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with code {proc.returncode}:\n{tail(log)}")
        try:
            request(port)
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{name} did not answer on {HOST}:{port} within 30 s:\n{tail(log)}")


def tail(log: Path, lines: int = 20) -> str:
    """The last lines of a server's log, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def server_environ(settings_env: dict[str, str]) -> dict[str, str]:
    """The parent's environment without Loa's own variables, plus the bench's."""
    loa_vars = ("LOA_", "DATABASE_URL", "REDIS_URL", "TELEGRAM_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(loa_vars)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **settings_env}


def nginx_conf(root: Path, prefix: Path, port: int) -> str:
    """A minimal nginx.conf: one worker, static files from `root`, ETags on."""
    temp = prefix / "temp"
    return f"""daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{}}
http {{
    access_log off;
    default_type application/rss+xml;
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    server {{
        listen {HOST}:{port};
        location / {{
            root {root};
            etag on;
        }}
    }}
}}
"""


def expect(probe: Probe, status: int, name: str, case: str) -> None:
    """BenchError unless the check request got `status`."""
    if probe.status != status:
        raise BenchError(f"{name} answered {probe.status} to the {case} check, expected {status}")


# --------------------------------------------------------------------------- wrk

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TRANSFER = re.compile(r"^Transfer/sec:\s+(\S+)", re.M)
_LATENCY = re.compile(r"^\s+Latency\s+(\S+)", re.M)
_BAD = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors:\s+(.+)")


def run_wrk(
    tools: dict[str, str], cpu: int, port: int, seconds: int, etag: str | None
) -> WrkResult:
    """wrk pinned to `cpu` against FEED_PATH; with `etag`, as a conditional GET."""
    argv = [
        tools["taskset"], "-c", str(cpu), tools["wrk"], f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
    ]  # fmt: skip
    if etag is not None:
        argv += ["-H", f"If-None-Match: {etag}"]
    argv.append(f"http://{HOST}:{port}{FEED_PATH}")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    rps = _RPS.search(done.stdout)
    if done.returncode != 0 or rps is None:
        raise BenchError(f"wrk failed (code {done.returncode}):\n{done.stdout}{done.stderr}")
    transfer, latency = _TRANSFER.search(done.stdout), _LATENCY.search(done.stdout)
    bad, sock = _BAD.search(done.stdout), _SOCKET.search(done.stdout)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        latency=latency.group(1) if latency else "?",
        transfer_per_second=transfer.group(1) if transfer else "?",
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=sock.group(1).strip() if sock else "",
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per case")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.articles < 1 or args.categories < 1:
        parser.error("--seconds, --articles and --categories must be at least 1")
    return args


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tools = find_tools()
    except MissingTools as exc:
        print(
            f"bench/feeds.py: missing {exc}; install with `apt-get install nginx wrk` "
            "(taskset is in util-linux). Nothing was run.",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    server_cpu, wrk_cpu = pick_cpus()
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-feeds-"))
    try:
        return run(args, tools, tmp, server_cpu, wrk_cpu)
    except BenchError as exc:
        print(f"bench/feeds.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    args: argparse.Namespace, tools: dict[str, str], tmp: Path, server_cpu: int, wrk_cpu: int
) -> int:
    data_dir, web_root, nginx_dir = tmp / "data", tmp / "www", tmp / "nginx"
    for path in (data_dir, web_root / "feeds", nginx_dir / "temp"):
        path.mkdir(parents=True)
    # nginx's worker may run as an unprivileged user: let it read the document root.
    for path in (tmp, web_root, web_root / "feeds"):
        path.chmod(0o755)
    loa_port, nginx_port = free_port(), free_port()
    database_url = f"sqlite:///{data_dir / 'loa.db'}"
    settings_env = bench_environ(data_dir, database_url, loa_port)
    settings = load_settings(None, environ=settings_env)

    print(f"filling {args.articles} articles in {args.categories} categories ...", flush=True)
    fill_seconds = fill_database(settings, args.articles, args.categories)
    print(f"  done in {fill_seconds:.1f} s")
    print(f"rebuilding all feeds {REBUILDS} times ...", flush=True)
    rebuilds = time_rebuilds(settings)

    loa_log, nginx_log = tmp / "loa-serve.log", nginx_dir / "stdout.log"
    loa_argv = [
        tools["taskset"], "-c", str(server_cpu), sys.executable, "-m", "loa",
        "--log-level", "WARNING", "serve", "--port", str(loa_port),
    ]  # fmt: skip
    conf = nginx_dir / "nginx.conf"
    conf.write_text(nginx_conf(web_root, nginx_dir, nginx_port))
    nginx_argv = [
        tools["taskset"], "-c", str(server_cpu), tools["nginx"],
        "-e", str(nginx_dir / "error.log"), "-c", str(conf), "-p", str(nginx_dir),
    ]  # fmt: skip

    results: dict[tuple[str, str], WrkResult] = {}
    env = server_environ(settings_env)
    with running(loa_argv, log=loa_log, env=env, cwd=data_dir) as loa:
        wait_until_up(loa, loa_port, "loa serve", loa_log)
        first = request(loa_port)
        expect(first, 200, "loa serve", "plain GET")
        if first.etag is None:
            raise BenchError("loa serve sent no ETag for /feeds/all.rss")
        expect(request(loa_port, {"If-None-Match": first.etag}), 304, "loa serve", "If-None-Match")
        body = first.body
        (web_root / "feeds" / "all.rss").write_bytes(body)
        (web_root / "feeds" / "all.rss").chmod(0o644)

        with running(nginx_argv, log=nginx_log, env=dict(os.environ), cwd=nginx_dir) as nginx:
            wait_until_up(nginx, nginx_port, "nginx", nginx_dir / "error.log")
            plain = request(nginx_port)
            expect(plain, 200, "nginx", "plain GET")
            if plain.body != body or plain.etag is None:
                raise BenchError("nginx does not serve the same bytes with an ETag")
            expect(
                request(nginx_port, {"If-None-Match": plain.etag}), 304, "nginx", "If-None-Match"
            )
            cases = [
                ("200", "loa serve", loa_port, None),
                ("200", "nginx", nginx_port, None),
                ("304", "loa serve", loa_port, first.etag),
                ("304", "nginx", nginx_port, plain.etag),
            ]
            for case, name, port, etag in cases:
                print(f"wrk {case} against {name} for {args.seconds} s ...", flush=True)
                results[(case, name)] = run_wrk(tools, wrk_cpu, port, args.seconds, etag)
            for name, proc, log in (("loa serve", loa, loa_log), ("nginx", nginx, nginx_log)):
                if proc.poll() is not None:
                    raise BenchError(f"{name} died during the run:\n{tail(log)}")

    report(args, fill_seconds, rebuilds, len(body), results, server_cpu, wrk_cpu)
    return 0


def report(
    args: argparse.Namespace,
    fill_seconds: float,
    rebuilds: list[tuple[float, int]],
    body_size: int,
    results: dict[tuple[str, str], WrkResult],
    server_cpu: int,
    wrk_cpu: int,
) -> None:
    print()
    print(f"Feeds benchmark: {args.articles} articles, {args.categories} categories")
    print(f"  database fill: {fill_seconds:.1f} s")
    median = statistics.median(seconds for seconds, _ in rebuilds)
    runs = ", ".join(f"{seconds * 1000:.0f} ms/{keys} keys" for seconds, keys in rebuilds)
    print(f"  rebuild_all: median {median * 1000:.0f} ms (runs: {runs})")
    print(f"  /feeds/all.rss body: {body_size:,} bytes")
    print(
        f"  wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.seconds}s on CPU {wrk_cpu}; "
        f"servers on CPU {server_cpu}"
    )
    print()
    header = f"{'case':<5} {'server':<10} {'req/s':>10} {'avg lat':>9} {'transfer/s':>11}  errors"
    print(header)
    print("-" * len(header))
    for (case, name), r in results.items():
        errors = []
        if r.bad_responses:
            errors.append(f"{r.bad_responses} non-2xx/3xx")
        if r.socket_errors:
            errors.append(f"socket: {r.socket_errors}")
        print(
            f"{case:<5} {name:<10} {r.requests_per_second:>10,.0f} {r.latency:>9} "
            f"{r.transfer_per_second:>11}  {'; '.join(errors) or '-'}"
        )
    print()
    for case in ("200", "304"):
        loa, nginx = results[(case, "loa serve")], results[(case, "nginx")]
        ratio = loa.requests_per_second / nginx.requests_per_second
        verdict = "meets" if ratio >= GOAL_RATIO else "below"
        print(f"{case}: loa serve / nginx = {ratio:.3f}x ({verdict} the {GOAL_RATIO}x goal)")


if __name__ == "__main__":
    sys.exit(main())
