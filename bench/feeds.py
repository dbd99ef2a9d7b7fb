"""Feeds benchmark: `loa serve`, nginx on the static export, and an nginx baseline.

Why: the feeds are pre-rendered so that serving one is cheap, and every
rebuild can also write them as static files (`feeds_export_dir`,
:mod:`feeds.export`) for nginx or a CDN. This measures both against a
yardstick measured in the same run on the same machine: nginx serving the
very same bytes as a plain static file. It also times a full rebuild
(export included) for a realistic database.

For each dataset (the demo's size, `--small-articles`: 12 articles in 4
categories like the demo portal's pool; and a big one, `--articles`: 10,000
in 50 categories; `/feeds/all.rss` holds the newest 50 either way) it:

1. creates a temp data dir with a SQLite database (migrated), filled through
   the real `news.store.upsert_article`, with `LOA_FEEDS_EXPORT_DIR` set;
2. times `feeds.cache.rebuild_all` three times (median, keys changed); the
   first run writes the export;
3. starts three servers, each pinned to one CPU with `taskset`:
   - `loa serve` (one uvicorn process, the embedded default);
   - "nginx export": nginx from `deploy/nginx.conf` (the compose file's
     config: gzip_static, ETag, Cache-Control, charset; one worker, loopback)
     serving the export directory;
   - "nginx baseline": a minimal nginx serving a copy of the bytes `loa serve`
     returned (and of the .gz twin, requested by its own name);
   after checking that all three send the same bytes;
4. runs `wrk -t1 -c32` pinned to another CPU against `/feeds/all.rss`: a plain
   GET (200), a GET with the server's own ETag in If-None-Match (304), and a
   GET with `Accept-Encoding: gzip` (200 gz);
5. prints a table per dataset with ratios against the baseline and the load
   average (`uptime`) at the start and end; it asserts nothing about timings.

Every process it starts is stopped and the temp dir removed, also on Ctrl-C.

Usage: .venv/bin/python bench/feeds.py [--seconds 10] [--articles 10000] [--categories 50]
       [--small-articles 12] [--small-categories 4]
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
DEPLOY_NGINX_CONF = REPO / "deploy" / "nginx.conf"
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
    """One request's status, ETag and raw body (not decompressed)."""

    status: int
    etag: str | None
    body: bytes
    encoding: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One database size to measure."""

    name: str
    articles: int
    categories: int


@dataclass
class DatasetResult:
    """What one dataset measured."""

    dataset: Dataset
    fill_seconds: float
    rebuilds: list[tuple[float, int]]
    body_size: int
    gzip_size: int
    load_before: str
    load_after: str
    results: dict[tuple[str, str], WrkResult]


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


def bench_environ(data_dir: Path, database_url: str, port: int, export_dir: Path) -> dict[str, str]:
    """Exactly what the bench's settings are loaded from (no other LOA_* variables)."""
    return {
        "LOA_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "LOA_HTTP_PORT": str(port),
        "LOA_FEEDS_EXPORT_DIR": str(export_dir),
    }


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as `uptime` shows them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


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


def request(port: int, headers: dict[str, str] | None = None, path: str = FEED_PATH) -> Probe:
    """One GET of `path` on 127.0.0.1:`port`; the body as sent (gzip stays gzip)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return Probe(
            response.status,
            response.getheader("ETag"),
            response.read(),
            response.getheader("Content-Encoding"),
        )
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


def export_nginx_conf(export_dir: Path, prefix: Path, port: int, loa_port: int) -> str:
    """deploy/nginx.conf as compose runs it, on loopback, one worker, no access log.

    Only addresses and paths change, so what is measured is the shipped config.
    """
    conf = DEPLOY_NGINX_CONF.read_text()
    temp = prefix / "temp"
    swaps = {
        "worker_processes auto;": "daemon off;\nworker_processes 1;",
        "listen 80;": f"listen {HOST}:{port};",
        "alias /srv/loa-feeds/;": f"alias {export_dir}/;",
        "http://web:8080": f"http://{HOST}:{loa_port}",
        "pid /tmp/nginx.pid;": f"pid {prefix / 'nginx.pid'};",
        "error_log /dev/stderr warn;": f"error_log {prefix / 'error.log'} warn;",
        "access_log /dev/stdout;": (
            f"access_log off;\n    client_body_temp_path {temp / 'body'};\n"
            f"    proxy_temp_path {temp / 'proxy'};\n    fastcgi_temp_path {temp / 'fastcgi'};\n"
            f"    uwsgi_temp_path {temp / 'uwsgi'};\n    scgi_temp_path {temp / 'scgi'};"
        ),
    }
    for old, new in swaps.items():
        if old not in conf:
            raise BenchError(f"{DEPLOY_NGINX_CONF} no longer contains {old!r}")
        conf = conf.replace(old, new)
    return conf


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
    tools: dict[str, str], cpu: int, port: int, seconds: int, headers: dict[str, str], path: str
) -> WrkResult:
    """wrk pinned to `cpu` against `path`, every request with `headers`."""
    argv = [
        tools["taskset"], "-c", str(cpu), tools["wrk"], f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
    ]  # fmt: skip
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}{path}")
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

SERVERS = ("loa serve", "nginx export", "nginx baseline")
CASES = ("200", "304", "200 gz")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per case")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--small-articles", type=int, default=12, help="the demo's size")
    parser.add_argument("--small-categories", type=int, default=4)
    args = parser.parse_args(argv)
    sizes = (args.seconds, args.articles, args.categories)
    if min(*sizes, args.small_articles, args.small_categories) < 1:
        parser.error("--seconds, the article and the category counts must be at least 1")
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
    datasets = [
        Dataset("small (demo)", args.small_articles, args.small_categories),
        Dataset(f"{args.articles:,} articles", args.articles, args.categories),
    ]
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-feeds-"))
    try:
        measured = []
        for n, dataset in enumerate(datasets):
            work = tmp / f"set{n}"
            measured.append(run(dataset, args, tools, work, server_cpu, wrk_cpu))
        for result in measured:
            report(args, result, server_cpu, wrk_cpu)
        return 0
    except BenchError as exc:
        print(f"bench/feeds.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    dataset: Dataset,
    args: argparse.Namespace,
    tools: dict[str, str],
    tmp: Path,
    server_cpu: int,
    wrk_cpu: int,
) -> DatasetResult:
    """Fill, rebuild (and export), start the three servers, check them, run wrk."""
    data_dir, web_root, export_dir = tmp / "data", tmp / "www", tmp / "export"
    base_dir, export_nginx_dir = tmp / "nginx-baseline", tmp / "nginx-export"
    for folder in (data_dir, web_root / "feeds", base_dir / "temp", export_nginx_dir / "temp"):
        folder.mkdir(parents=True)
    # nginx's worker may run as an unprivileged user: let it read the document roots.
    for folder in (tmp.parent, tmp, web_root, web_root / "feeds"):
        folder.chmod(0o755)
    loa_port, base_port, export_port = free_port(), free_port(), free_port()
    database_url = f"sqlite:///{data_dir / 'loa.db'}"
    settings_env = bench_environ(data_dir, database_url, loa_port, export_dir)
    settings = load_settings(None, environ=settings_env)
    load_before = load_average()

    print(f"[{dataset.name}] filling {dataset.articles} articles ...", flush=True)
    fill_seconds = fill_database(settings, dataset.articles, dataset.categories)
    print(f"[{dataset.name}] rebuilding (and exporting) all feeds {REBUILDS} times ...")
    rebuilds = time_rebuilds(settings)
    export_dir.chmod(0o755)

    loa_log = tmp / "loa-serve.log"
    loa_argv = [
        tools["taskset"], "-c", str(server_cpu), sys.executable, "-m", "loa",
        "--log-level", "WARNING", "serve", "--port", str(loa_port),
    ]  # fmt: skip
    base_conf, export_conf = base_dir / "nginx.conf", export_nginx_dir / "nginx.conf"
    base_conf.write_text(nginx_conf(web_root, base_dir, base_port))
    export_conf.write_text(export_nginx_conf(export_dir, export_nginx_dir, export_port, loa_port))

    def nginx_argv(conf: Path, prefix: Path) -> list[str]:
        return [
            tools["taskset"], "-c", str(server_cpu), tools["nginx"],
            "-e", str(prefix / "error.log"), "-c", str(conf), "-p", str(prefix),
        ]  # fmt: skip

    results: dict[tuple[str, str], WrkResult] = {}
    env = server_environ(settings_env)
    nginx_env = dict(os.environ)
    with (
        running(loa_argv, log=loa_log, env=env, cwd=data_dir) as loa,
        running(
            nginx_argv(export_conf, export_nginx_dir),
            log=export_nginx_dir / "stdout.log", env=nginx_env, cwd=export_nginx_dir,
        ) as nginx_export,
    ):  # fmt: skip
        wait_until_up(loa, loa_port, "loa serve", loa_log)
        wait_until_up(nginx_export, export_port, "nginx export", export_nginx_dir / "error.log")
        body, gz = check_loa(loa_port, export_dir)
        (web_root / "feeds" / "all.rss").write_bytes(body)
        (web_root / "feeds" / "all.rss.gz").write_bytes(gz)
        for name in ("all.rss", "all.rss.gz"):
            (web_root / "feeds" / name).chmod(0o644)
        with running(
            nginx_argv(base_conf, base_dir), log=base_dir / "stdout.log", env=nginx_env,
            cwd=base_dir,
        ) as nginx_base:  # fmt: skip
            wait_until_up(nginx_base, base_port, "nginx baseline", base_dir / "error.log")
            plan = {
                "loa serve": (loa_port, FEED_PATH, FEED_PATH),
                "nginx export": (export_port, FEED_PATH, FEED_PATH),
                "nginx baseline": (base_port, FEED_PATH, FEED_PATH + ".gz"),
            }
            for name, (port, path, gz_path) in plan.items():
                etag = check_server(name, port, path, gz_path, body, gz)
                for case in CASES:
                    headers: dict[str, str] = {}
                    target = path
                    if case == "304":
                        headers["If-None-Match"] = etag
                    elif case == "200 gz":
                        target = gz_path
                        if name != "nginx baseline":
                            headers["Accept-Encoding"] = "gzip"
                    print(f"[{dataset.name}] wrk {case} against {name} ...", flush=True)
                    results[(case, name)] = run_wrk(
                        tools, wrk_cpu, port, args.seconds, headers, target
                    )
            for name, proc, log in (
                ("loa serve", loa, loa_log),
                ("nginx export", nginx_export, export_nginx_dir / "error.log"),
                ("nginx baseline", nginx_base, base_dir / "error.log"),
            ):
                if proc.poll() is not None:
                    raise BenchError(f"{name} died during the run:\n{tail(log)}")
    return DatasetResult(
        dataset, fill_seconds, rebuilds, len(body), len(gz), load_before, load_average(), results
    )


def check_loa(port: int, export_dir: Path) -> tuple[bytes, bytes]:
    """`loa serve`'s plain and gzip bodies, which must be the exported files' bytes."""
    plain = request(port)
    expect(plain, 200, "loa serve", "plain GET")
    zipped = request(port, {"Accept-Encoding": "gzip"})
    expect(zipped, 200, "loa serve", "gzip GET")
    if zipped.encoding != "gzip":
        raise BenchError("loa serve did not gzip /feeds/all.rss")
    if (export_dir / "all.rss").read_bytes() != plain.body:
        raise BenchError("the exported all.rss differs from what loa serve sends")
    if (export_dir / "all.rss.gz").read_bytes() != zipped.body:
        raise BenchError("the exported all.rss.gz differs from what loa serve sends")
    return plain.body, zipped.body


def check_server(name: str, port: int, path: str, gz_path: str, body: bytes, gz: bytes) -> str:
    """BenchError unless `name` sends `body`, `gz` and 304 for its ETag; return the ETag."""
    plain = request(port, path=path)
    expect(plain, 200, name, "plain GET")
    if plain.body != body or plain.etag is None:
        raise BenchError(f"{name} does not send loa serve's bytes with an ETag")
    accept = {} if gz_path.endswith(".gz") else {"Accept-Encoding": "gzip"}
    zipped = request(port, accept, path=gz_path)
    expect(zipped, 200, name, "gzip GET")
    if zipped.body != gz:
        raise BenchError(f"{name} does not send loa serve's gzip bytes")
    expect(request(port, {"If-None-Match": plain.etag}, path=path), 304, name, "If-None-Match")
    return plain.etag


def report(args: argparse.Namespace, result: DatasetResult, server_cpu: int, wrk_cpu: int) -> None:
    """One table per dataset: req/s per case and server, and ratios to the baseline."""
    dataset = result.dataset
    print()
    print(f"Feeds benchmark, {dataset.name}: {dataset.articles} articles, "
          f"{dataset.categories} categories")  # fmt: skip
    print(f"  load average before / after: {result.load_before} / {result.load_after}")
    print(f"  database fill: {result.fill_seconds:.1f} s")
    median = statistics.median(seconds for seconds, _ in result.rebuilds)
    runs = ", ".join(f"{seconds * 1000:.0f} ms/{keys} keys" for seconds, keys in result.rebuilds)
    print(f"  rebuild_all + export: median {median * 1000:.0f} ms (runs: {runs})")
    print(f"  /feeds/all.rss: {result.body_size:,} bytes, gzip {result.gzip_size:,} bytes")
    print(
        f"  wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.seconds}s on CPU {wrk_cpu}; "
        f"servers on CPU {server_cpu}"
    )
    print()
    header = (
        f"{'case':<7} {'server':<15} {'req/s':>10} {'vs baseline':>12} {'avg lat':>9} "
        f"{'transfer/s':>11}  errors"
    )
    print(header)
    print("-" * len(header))
    for case in CASES:
        baseline = result.results[(case, "nginx baseline")].requests_per_second
        for name in SERVERS:
            r = result.results[(case, name)]
            errors = []
            if r.bad_responses:
                errors.append(f"{r.bad_responses} non-2xx/3xx")
            if r.socket_errors:
                errors.append(f"socket: {r.socket_errors}")
            ratio = r.requests_per_second / baseline if baseline else 0.0
            print(
                f"{case:<7} {name:<15} {r.requests_per_second:>10,.0f} {ratio:>11.2f}x "
                f"{r.latency:>9} {r.transfer_per_second:>11}  {'; '.join(errors) or '-'}"
            )


if __name__ == "__main__":
    sys.exit(main())
