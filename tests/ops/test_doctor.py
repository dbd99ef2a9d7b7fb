"""`loa doctor` as an operator runs it: a subprocess against real services.

The Bot API emulator (one channel where the bot may post, one where it is a
plain member), the test site server (a working source, a dead one), real
databases and Redis; then a closed Redis port, an un-migrated database, a
Bot API that never answers, a refused token. A known fake token is never in
the output.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from telegram_emulator import Emulator
from tests.conftest import free_port
from tests.sites.server import SiteServer

TOKEN = "765432:" + "Q" * 35


def _doctor(
    tmp_path: Path, env: dict[str, str], *args: str
) -> tuple[int, dict[str, list[tuple[str, str]]], str]:
    """Run `loa doctor`; (exit code, {check: [(verdict, detail)]}, all output)."""
    base = {k: v for k, v in os.environ.items() if k not in {"LOA_CONFIG", "TELEGRAM_BOT_TOKEN"}}
    base.update({"LOA_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "400"})
    base.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "loa", "doctor", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=base,
    )  # fmt: skip
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in done.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 3 and cells[0] != "check":
            rows.setdefault(cells[0], []).append((cells[1], cells[2]))
    return done.returncode, rows, done.stdout + done.stderr


def _verdict(rows: dict[str, list[tuple[str, str]]], check: str) -> str:
    ((verdict, _),) = rows[check]
    return verdict


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung service)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def test_a_working_setup_and_what_is_wrong_in_it(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    telegram_emulator: Emulator,
    site_server: SiteServer,
) -> None:
    telegram_emulator.create_chat("channel", username="kenh_tot", title="Kênh tốt")
    telegram_emulator.create_chat("channel", username="kenh_khong_quyen", bot_status="member")
    telegram_emulator.create_chat("channel", username="kenh_khong_sua", can_edit_messages=False)
    config = tmp_path / "loa.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: portal, url: '{site_server.url_for('http://portal.test/')}',"
        " profile: cms-portal}\n"
        f"  - {{name: dead, url: '{site_server.base_url}/fault/404'}}\n"
        "channels:\n  - chat: '@kenh_tot'\n  - chat: '@kenh_khong_quyen'\n"
        "  - chat: '@kenh_khong_sua'\n"
        "routes:\n  - channel: '@kenh_tot'\n",
        encoding="utf-8",
    )
    env = {
        "LOA_CONFIG": str(config),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
    }
    code, rows, output = _doctor(tmp_path, env)
    assert code == 1, output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert _verdict(rows, "config") == "ok", output
    assert _verdict(rows, "database") == "ok", output
    assert _verdict(rows, "redis") == "ok", output
    assert _verdict(rows, "telegram") == "ok", output
    assert (
        rows["channel @kenh_tot"] == [("ok", next(d for _, d in rows["channel @kenh_tot"]))]
        and "post yes, edit yes, delete yes" in rows["channel @kenh_tot"][0][1]
    )
    assert _verdict(rows, "channel @kenh_khong_quyen") == "fail"
    assert "not an administrator" in rows["channel @kenh_khong_quyen"][0][1]
    assert _verdict(rows, "channel @kenh_khong_sua") == "warn"
    assert _verdict(rows, "source portal") == "ok"
    assert "links; read «" in rows["source portal"][0][1]
    assert _verdict(rows, "source dead") == "fail" and "404" in rows["source dead"][0][1]
    assert "failed" in output.splitlines()[-1]


def test_closed_redis_unmigrated_database_and_no_token(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # exists, never migrated
    env = {
        "DATABASE_URL": f"sqlite:///{empty}",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    }
    code, rows, output = _doctor(tmp_path, env, "--timeout", "3")
    assert code == 1, output
    database = rows["database"][0]
    assert database[0] == "fail" and "no schema" in database[1] and "loa db upgrade" in database[1]
    assert _verdict(rows, "redis") == "fail"
    assert "refused" in rows["redis"][0][1].lower() or "connect" in rows["redis"][0][1].lower()
    # no token: a dry run, said plainly, and not a failure of its own
    assert rows["telegram"][0][0] == "warn" and "not configured" in rows["telegram"][0][1]


def test_a_hanging_service_is_one_failed_line_and_a_refused_token_stays_secret(
    tmp_path: Path, database_url: str, silent_port: int
) -> None:
    hanging = {
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{silent_port}/bot",
        "REDIS_URL": f"redis://127.0.0.1:{silent_port}/0",
    }
    code, rows, output = _doctor(tmp_path, hanging, "--timeout", "2")
    assert code == 1, output
    assert _verdict(rows, "telegram") == "fail"
    assert _verdict(rows, "redis") == "fail"
    assert _verdict(rows, "database") == "ok"
    assert TOKEN not in output

    with Emulator(auto_register_bots=False) as strict:  # knows no bot: 401 for any token
        refused = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN,
                   "TELEGRAM_API_BASE_URL": strict.base_url}  # fmt: skip
        code, rows, output = _doctor(tmp_path, refused)
    assert code == 1
    assert _verdict(rows, "telegram") == "fail" and "rejected" in rows["telegram"][0][1]
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_an_unmigrated_postgres_database_says_what_to_run(
    postgres_server_url: str | None, tmp_path: Path
) -> None:
    if postgres_server_url is None:
        pytest.skip("PostgreSQL only: set DATABASE_URL")
    server = make_url(postgres_server_url)
    name = f"loa_doctor_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = server.set(database=name).render_as_string(hide_password=False)
        code, rows, output = _doctor(tmp_path, {"DATABASE_URL": fresh})
        assert code == 1, output
        verdict, detail = rows["database"][0]
        assert verdict == "fail" and "no schema" in detail and "loa db upgrade" in detail
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
