"""docker-compose.yml cannot run here (no Docker engine): check it against the CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from loa.cli import app

ROOT = Path(__file__).resolve().parent.parent
LOA_SERVICES = {"migrate", "worker", "beat", "bot", "web"}
THIRD_PARTY = {"redis", "postgres", "flower", "nginx"}
PUBLIC = {"web", "nginx"}  # the only services published beyond loopback


def _resolve(command: list[str]) -> Any:
    """Walk `loa a b ...` through the CLI's command tree; fail if a word is unknown."""
    assert command[0] == "loa", command
    node: Any = typer.main.get_command(app)
    for word in command[1:]:
        if word.startswith("-"):
            break
        subcommands = getattr(node, "commands", None)
        assert subcommands is not None, f"{command}: {node.name} takes no subcommand"
        assert word in subcommands, f"{command}: unknown command {word!r}"
        node = subcommands[word]
    return node


def test_every_loa_service_runs_a_real_cli_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == LOA_SERVICES | THIRD_PARTY
    for name in LOA_SERVICES:
        command = services[name]["command"]
        cmd = _resolve(command)
        options = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        for word in command[1:]:
            if word.startswith("--"):
                assert word in options, f"{name}: {cmd.name} has no option {word}"
    for name in ("redis", "postgres", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["restart"] == "no"


def test_env_example_names_every_variable_compose_needs() -> None:
    env_names = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert {"TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD", "REDIS_URL"} <= env_names


def test_the_database_password_is_written_once() -> None:
    """DATABASE_URL is composed from POSTGRES_PASSWORD, so the two cannot drift apart."""
    env_text = (ROOT / ".env.example").read_text()
    assert env_text.count("change-me") == 1
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in LOA_SERVICES:
        url = services[name]["environment"]["DATABASE_URL"]
        assert "${POSTGRES_PASSWORD:?" in url, name
    assert "${POSTGRES_PASSWORD:?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_flower_is_not_published_beyond_loopback() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in services.items():
        for mapping in service.get("ports", []):
            if name not in PUBLIC:
                assert str(mapping).startswith("127.0.0.1:"), (name, mapping)


def test_docker_build_context_leaves_out_venv_data_and_secrets() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git", ".env"} <= ignored


def test_example_config_posts_to_an_obvious_placeholder() -> None:
    example = yaml.safe_load((ROOT / "loa.example.yaml").read_text(encoding="utf-8"))
    chats = [c["chat"] for c in example["channels"]] + [r["channel"] for r in example["routes"]]
    assert chats and all("replace_with_your_channel" in chat for chat in chats), chats


def test_dockerfile_installs_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for package in ("config", "news", "feeds", "bot", "tasks", "loa", "ops"):
        assert f"COPY {package} ./{package}" in text


def test_nginx_serves_the_feed_export_that_every_loa_service_writes() -> None:
    """One volume: the Loa services write the export into it, nginx reads it."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "feeds-export" in compose["volumes"]
    for name in ("worker", "beat", "bot", "web"):  # any of them may run a rebuild
        export_dir = services[name]["environment"]["LOA_FEEDS_EXPORT_DIR"]
        assert f"feeds-export:{export_dir}" in services[name]["volumes"], name
    nginx = services["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    served = next(v for v in nginx["volumes"] if v.startswith("feeds-export:"))
    _, mount, mode = served.split(":")
    assert mode == "ro"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert f"alias {mount}/;" in conf
    for directive in ("gzip_static on;", "etag on;", 'add_header Cache-Control "public'):
        assert directive in conf, directive
    assert "healthcheck" in nginx
    assert "/export" in (ROOT / "Dockerfile").read_text()  # the volume starts owned by loa


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_the_nginx_config_is_valid() -> None:
    done = subprocess.run(
        ["nginx", "-t", "-c", str(ROOT / "deploy" / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
