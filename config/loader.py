"""Build :class:`config.settings.Settings` from the environment and a YAML file.

Entry points call :func:`load_settings` once and pass the result down. A bad
value becomes one :class:`news.errors.ConfigError` that names the field and
where it came from (the file or the environment variable), so ``loa`` can
print it and exit with code 2 before starting anything.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import SettingsError

from config.errors import ConfigError
from config.settings import DEMO_STATE_FILE, ENVIRON, Settings

DEFAULT_CONFIG_FILE = Path("loa.yaml")


def resolve_config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """The YAML file to read: `explicit`, then `LOA_CONFIG`, then ./loa.yaml if present."""
    if explicit:
        return Path(explicit)
    if environ.get("LOA_CONFIG"):
        return Path(environ["LOA_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse the YAML file into a mapping, or raise ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}): save the file as UTF-8", source=str(path)
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML{_where(exc)}", source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of settings", source=str(path))
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be names, not {key!r}", source=str(path))
    if "config_file" in data:
        raise ConfigError(
            "config_file is not a setting (give the file with --config or LOA_CONFIG)",
            source=str(path),
            field="config_file",
        )
    return data


def _where(exc: yaml.YAMLError) -> str:
    """ " at line L, column C: problem" on one line, from PyYAML's multi-line report."""
    mark = getattr(exc, "problem_mark", None)
    problem = " ".join(str(getattr(exc, "problem", "") or exc).split())
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load_settings(
    config_path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load settings from `environ` (default: os.environ), the YAML file and `overrides`.

    `overrides` (from command-line flags) win over everything else.
    """
    env = dict(os.environ if environ is None else environ)
    path = resolve_config_path(config_path, env)
    file_data = read_yaml(path) if path else {}
    data: dict[str, Any] = dict(file_data)
    try:
        settings = _build(data, env, path)
        overrides = {**(overrides or {}), **_demo_portal(settings, path)}
        if overrides:
            merged = settings.model_dump(mode="python", exclude={"config_file"})
            settings = _build({**merged, **overrides}, {}, path)
    except ValidationError as exc:
        raise _config_error(exc, file_data, path, env) from None
    except SettingsError as exc:  # a variable pydantic-settings could not even parse
        raise ConfigError(_unparsable_variable(exc), source="environment") from None
    return settings


def _unparsable_variable(exc: SettingsError) -> str:
    """Name the variable: `LOA_SOURCES=notjson` must be JSON, say so."""
    match = re.search(r'field "(\w+)"', str(exc))
    name = f"LOA_{match.group(1).upper()}" if match else "a variable"
    return f"{name} is not valid JSON (lists and mappings in the environment are JSON)"


def _demo_portal(settings: Settings, path: Path | None) -> dict[str, Any]:
    """The demo source `loa run` uses in this data directory, for one-shot commands.

    With no config file and no sources, `loa run` serves the demo portal and
    saves its address under the data directory; `loa routes`, `loa poll` and
    `loa check-source demo` then resolve the same source, channels and routes.
    """
    if path is not None or settings.sources or settings.demo_portal_url:
        return {}
    try:
        saved = json.loads((settings.data_dir / DEMO_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    url = saved.get("url") if isinstance(saved, dict) else None
    return {"demo_portal_url": url} if isinstance(url, str) and url.startswith("http") else {}


def _build(data: dict[str, Any], env: Mapping[str, str], path: Path | None) -> Settings:
    """Construct Settings with `env` as the environment, without touching os.environ."""
    token = ENVIRON.set(env)
    try:
        return Settings(**data, config_file=path)
    finally:
        ENVIRON.reset(token)


def _config_error(
    exc: ValidationError, file_data: Mapping[str, Any], path: Path | None, env: Mapping[str, str]
) -> ConfigError:
    """Turn pydantic's report into one message naming the first bad field and its origin."""
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    top = str(first["loc"][0]) if first["loc"] else ""
    origin = _origin(top, file_data, path, env)
    problem = first["msg"]
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{problem}{extra}", source=origin, field=location)


def _origin(
    top: str, file_data: Mapping[str, Any], path: Path | None, env: Mapping[str, str]
) -> str:
    """Where the bad value came from: an environment variable or the YAML file."""
    field = Settings.model_fields.get(top)
    names = [f"LOA_{top.upper()}"]
    if field is not None and field.validation_alias is not None:
        choices = getattr(field.validation_alias, "choices", [])
        names = [str(c) for c in choices if str(c).isupper()] or names
    for name in names:
        if name in env:
            return f"environment variable {name}"
    if path is not None and (top in file_data or not top):
        return str(path)
    return str(path) if path else "environment"
