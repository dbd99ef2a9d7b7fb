"""Broken configuration is one line and exit code 2, never a traceback (issue 9, item 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import load_settings
from news.errors import ConfigError


def write(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("1: one\n", "keys must be names"),
        ("config_file: other.yaml\n", "config_file"),
        (b"feed_title: \xff\xfe Loa\n", "not UTF-8"),
        ("channels:\n  - chat: '--5'\n", "channels.0.chat"),
        ("host_min_delay: .inf\n", "host_min_delay"),
        ("sources:\n  - name: p\n    url: http://x/\n    recheck_window_hours: .nan\n", "finite"),
        ("channels:\n  - chat: '@c'\n    template: '{url:>99999999999}'\n", "template"),
        ("channels:\n  - chat: '@c'\n    template: '{title!r}'\n", "template"),
        ("channels:\n  - chat: '@c'\n    template: '{title.__class__}'\n", "template"),
    ],
)
def test_hostile_yaml_is_a_config_error(
    tmp_path: Path, content: bytes | str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, content), environ={})
    assert expected.lower() in str(info.value).lower()


def test_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "sources:\n  - name: [unclosed\n"), environ={})
    message = str(info.value)
    assert "\n" not in message
    assert "line 3" in message and "column" in message


def test_bad_json_in_a_list_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={"LOA_SOURCES": "notjson"})
    assert "LOA_SOURCES" in str(info.value)


def test_a_numeric_chat_id_written_as_a_number_is_accepted(tmp_path: Path) -> None:
    """What users copy from Telegram: `chat: -1001234567890`, unquoted."""
    text = "channels:\n  - chat: -1001234567890\nroutes:\n  - channel: -1001234567890\n"
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.channels[0].chat == "-1001234567890"
    assert settings.routes[0].channel == "-1001234567890"


@pytest.mark.parametrize(
    "args",
    [
        ["--log-level", "BOGUS", "status"],
        ["--config", "{yaml}", "status"],
    ],
)
def test_cli_says_one_line_and_exits_2(tmp_path: Path, args: list[str]) -> None:
    path = write(tmp_path, "1: one\nconfig_file: x\n")
    argv = [a.replace("{yaml}", str(path)) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "loa", *argv],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "LOA_DATA_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 3, done.stderr  # click's usage lines for a bad option, else one line
