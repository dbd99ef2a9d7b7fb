"""Settings come from YAML and the environment; bad values fail clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import load_settings
from config.settings import DEFAULT_TELEGRAM_API_BASE_URL
from news.errors import ConfigError
from news.routing import rule_matches

ROOT = Path(__file__).resolve().parents[2]

GOOD_YAML = """
timezone: Asia/Ho_Chi_Minh
sources:
  - name: portal
    url: https://portal.example.vn/
    poll_interval: 120
channels:
  - chat: "@tin_tuc"
routes:
  - channel: "@tin_tuc"
    categories: ["Công tác tuyên giáo"]
editors: [12345]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_values_are_loaded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD_YAML), environ={})
    assert settings.sources[0].name == "portal"
    assert settings.sources[0].poll_interval == 120
    assert settings.editors == [12345]
    assert settings.telegram_api_base_url == DEFAULT_TELEGRAM_API_BASE_URL
    assert rule_matches(settings.routes[0], category_slug="cong-tac-tuyen-giao", source="portal")
    assert not rule_matches(settings.routes[0], category_slug="kinh-te", source="portal")
    assert not settings.is_demo


def test_environment_overrides_file_and_secrets_stay_secret(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgresql://u@h/db",
        "TELEGRAM_BOT_TOKEN": "123456:SECRET-token",
        "LOA_HTTP_PORT": "9090",
        "LANGUAGE": "en_US:en",  # the OS variable must not leak into `language`
    }
    settings = load_settings(write(tmp_path, GOOD_YAML), environ=env)
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.http_port == 9090
    assert settings.language == "vi"
    assert settings.telegram_bot_token is not None
    assert "SECRET" not in repr(settings)


def test_overrides_win_over_environment(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"LOA_HTTP_PORT": "9090"}, overrides={"http_port": 7000})
    assert settings.http_port == 7000


def test_defaults_without_any_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.sources == []
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("var/loa.db")
    assert not settings.is_demo
    demo = load_settings(None, environ={"LOA_DEMO_PORTAL_URL": "http://127.0.0.1:1/"})
    assert demo.is_demo
    assert [s.name for s in demo.effective_sources()] == ["demo", "demo-bao"]
    assert [c.chat for c in demo.effective_channels()] == ["@loa_demo"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("sources:\n  - name: portal\n    url: ftp://nope\n", "sources.0.url"),
        ("timezone: Mars/Olympus\n", "timezone"),
        ("channels:\n  - chat: not-a-chat\n", "channels.0.chat"),
        (
            "sources:\n  - name: p\n    url: http://x/\n    poll_interval: 1\n",
            "sources.0.poll_interval",
        ),
        ("colour: blue\n", "colour"),
    ],
)
def test_bad_values_name_the_field_and_file(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.field == field
    assert str(path) in str(info.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={"LOA_HTTP_PORT": "eighty"})
    assert "LOA_HTTP_PORT" in str(info.value)


def test_unparsable_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "sources: [unclosed\n"), environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_cli_exits_2_on_bad_config_and_starts_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: Mars/Olympus\n")
    result = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(path), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "LOA_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2
    assert "timezone" in result.stderr
    assert str(path) in result.stderr
    assert not (tmp_path / "data").exists()


def test_example_config_is_valid() -> None:
    settings = load_settings(ROOT / "loa.example.yaml", environ={})
    assert settings.sources
    assert settings.channels


def test_bad_profile_selector_and_unknown_profile_are_config_errors(tmp_path: Path) -> None:
    bad_selector = (
        "profiles:\n  mysite:\n    name: mysite\n    title: 'h1[[['\n"
        "sources:\n  - {name: s, url: 'http://s.test/', profile: mysite}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, bad_selector), environ={})
    assert info.value.field is not None and info.value.field.startswith("profiles.mysite.title")
    unknown = "sources:\n  - {name: s, url: 'http://s.test/', profile: nosuch}\n"
    with pytest.raises(ConfigError, match="unknown site profile 'nosuch'"):
        load_settings(write(tmp_path, unknown), environ={})


EMPTY_ENV = {
    "TELEGRAM_BOT_TOKEN": "",
    "TELEGRAM_API_BASE_URL": "",
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "LOA_PUBLIC_BASE_URL": "",
    "LOA_DEMO_PORTAL_URL": "",
    "LOA_FEED_LOGO_URL": "",
    "LOA_HTTP_PORT": "",
}


def test_empty_environment_variables_mean_unset(tmp_path: Path) -> None:
    """`TELEGRAM_BOT_TOKEN=` as .env.example ships it is the dry run, not a token."""
    settings = load_settings(None, environ={**EMPTY_ENV, "LOA_DATA_DIR": str(tmp_path)})
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == DEFAULT_TELEGRAM_API_BASE_URL
    assert settings.database_url is None and settings.redis_url is None
    assert settings.public_base_url is None and settings.demo_portal_url is None
    assert settings.feed_logo_url is None
    assert settings.http_port == 8080
    assert settings.effective_database_url.startswith("sqlite:///")


def test_empty_yaml_secrets_and_urls_mean_unset(tmp_path: Path) -> None:
    text = 'telegram_bot_token: ""\nredis_url: ""\ndatabase_url: ""\ntelegram_api_base_url: ""\n'
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.telegram_bot_token is None
    assert settings.redis_url is None and settings.database_url is None
    assert settings.telegram_api_base_url == DEFAULT_TELEGRAM_API_BASE_URL


def test_empty_token_cli_is_the_dry_run(tmp_path: Path) -> None:
    """`loa channels` with an empty token says there is nothing to check, no traceback."""
    env = {"PATH": "/usr/bin:/bin", **EMPTY_ENV, "LOA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "loa", "channels"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "TELEGRAM_BOT_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr
