"""`loa check-source` against a real site: a table of what Loa would find, no DB writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.sites.server import SiteServer


def _run(config: Path, name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "LOA_CONFIG"}}
    env.update({"LOA_DATA_DIR": str(cwd / "var"), "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "check-source", name],
        capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
    )  # fmt: skip


def test_check_source_prints_articles_and_problems(site_server: SiteServer, tmp_path: Path) -> None:
    good = site_server.url_for("http://portal.test/")
    config = tmp_path / "loa.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: portal, url: '{good}', profile: cms-portal}}\n"
        f"  - {{name: dead, url: '{site_server.base_url}/fault/404'}}\n",
        encoding="utf-8",
    )
    ok = _run(config, "portal", tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "article links" in ok.stdout
    assert "Công tác tuyên giáo" in ok.stdout or "Xây dựng Đảng" in ok.stdout
    assert not (tmp_path / "var" / "loa.db").exists()  # nothing written

    dead = _run(config, "dead", tmp_path)
    assert dead.returncode == 1
    assert "HTTP 404" in dead.stdout

    unknown = _run(config, "nosuch", tmp_path)
    assert unknown.returncode == 2 and "no source named 'nosuch'" in unknown.stderr
