"""The shipped deploy/nginx.conf, run for real on loopback by the tests that need it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.conftest import free_port

DEPLOY_CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"


def deploy_nginx_conf(export_dir: Path, prefix: Path, port: int, loa_base: str) -> str:
    """deploy/nginx.conf with loopback addresses and this test's paths."""
    conf = DEPLOY_CONF.read_text()
    swaps = {
        "listen 80;": f"listen 127.0.0.1:{port};",
        "alias /srv/loa-feeds/;": f"alias {export_dir}/;",
        "http://web:8080": loa_base,
        "pid /tmp/nginx.pid;": f"pid {prefix / 'nginx.pid'};",
        "access_log /dev/stdout;": "access_log off;",
    }
    for old, new in swaps.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    return conf


@contextmanager
def shipped_nginx(export_dir: Path, prefix: Path, loa_base: str) -> Iterator[str]:
    """Run deploy/nginx.conf in front of `loa_base` serving `export_dir`; yield its URL.

    On leaving, nginx is stopped and its error output must hold no ``[emerg]``.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(deploy_nginx_conf(export_dir, prefix, port, loa_base))
    user = "user root;" if os.geteuid() == 0 else ""  # tmp_path is not world-readable
    proc = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-e", "stderr",
         "-g", f"daemon off; {user}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/nginx-healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert b"[emerg]" not in stderr, stderr
