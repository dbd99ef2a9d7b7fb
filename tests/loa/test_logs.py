"""Logging: the bot token never reaches a log line, in text or JSON form."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from loa.logs import REDACTED, setup_logging

FAKE_TOKEN = "123456789:AAFakeTokenForLoaTests_abcdefghijk"


def test_token_is_redacted_everywhere() -> None:
    stream = io.StringIO()
    handler = setup_logging(secrets=[FAKE_TOKEN], stream=stream, level=logging.DEBUG)
    try:
        logging.getLogger("telegram.ext").info(
            "POST https://api.telegram.org/bot%s/sendMessage", FAKE_TOKEN
        )
        logging.getLogger("loa").warning(f"token in f-string {FAKE_TOKEN}")
        try:
            raise RuntimeError(f"failed calling /bot{FAKE_TOKEN}/getMe")
        except RuntimeError:
            logging.getLogger("loa").exception("boom")
        logging.getLogger("httpx").info("HTTP Request: POST .../bot%s/getUpdates", FAKE_TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert FAKE_TOKEN not in output
    assert "AAFakeToken" not in output
    assert output.count(REDACTED) >= 3
    assert "httpx" not in output  # held at WARNING: its request lines never print


def test_log_file_gets_the_same_redacted_lines(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "loa.log"
    handler = setup_logging(secrets=[FAKE_TOKEN], stream=io.StringIO(), log_file=log_file)
    try:
        logging.getLogger("loa.test").warning("token %s", FAKE_TOKEN)
    finally:
        for each in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(each)
            if each is not handler:
                each.close()
    text = log_file.read_text(encoding="utf-8")
    assert f"token {REDACTED}" in text
    assert FAKE_TOKEN not in text


def test_json_lines_are_valid_and_redacted() -> None:
    stream = io.StringIO()
    handler = setup_logging(json_lines=True, secrets=[FAKE_TOKEN], stream=stream)
    try:
        logging.getLogger("loa.test").info("sending with %s", FAKE_TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == "loa.test"
    assert record["message"] == f"sending with {REDACTED}"


def test_library_tracebacks_are_one_line_unless_debug() -> None:
    import io
    import logging

    from loa.logs import setup_logging

    for level, expect_traceback in (("INFO", False), ("DEBUG", True)):
        stream = io.StringIO()
        setup_logging(level=level, stream=stream, secrets=["123456:SECRETSECRET"])
        try:
            raise RuntimeError("token 123456:SECRETSECRET refused")
        except RuntimeError:
            logging.getLogger("telegram.ext").exception("Network Retry Loop: Invalid token")
        text = stream.getvalue()
        assert "Network Retry Loop: Invalid token" in text
        assert ("Traceback" in text) is expect_traceback, text
        assert "SECRETSECRET" not in text
    setup_logging(level="WARNING")
