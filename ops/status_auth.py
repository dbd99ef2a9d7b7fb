"""Who may read `/status`: HTTP basic auth against `status_username` / `status_password`.

The page shows chats, failure reasons and what editors paused, so it is never
public: with no password configured it is refused outright, and the API's
bearer tokens are never accepted (a leaked feed-pushing token must not open
the operator's view, nor the other way round). Both the user name and the
password are compared in constant time, and both always, so the answer's
timing says nothing about which one was wrong.

`loa run` in demo mode generates a password once into the data directory
(mode 0600, see :func:`demo_password`) so a newcomer can open the page
without editing any file; nothing prints the password itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from news.errors import ConfigError

#: the user name when `status_username` is unset
DEFAULT_USERNAME = "loa"
#: under the data directory: the password `loa run` generated for the demo
DEMO_PASSWORD_FILE = "status-password"
REALM = 'Basic realm="Loa status", charset="UTF-8"'


@dataclass(frozen=True)
class Credentials:
    """The one user and password that open the page."""

    username: str
    password: str


def configured_credentials(settings: Settings) -> Credentials | None:
    """The configured credentials, or None when no password is set (the page is off)."""
    if settings.status_password is None:
        return None
    password = settings.status_password.get_secret_value()
    if not password:
        return None
    return Credentials(settings.status_username or DEFAULT_USERNAME, password)


def authorized(header: str | None, expected: Credentials) -> bool:
    """Whether an `Authorization` header carries `expected` as basic credentials.

    Anything else (no header, a bearer token, broken base64, no colon) is False.
    """
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, colon, password = decoded.partition(b":")
    if not colon:
        return False
    user_ok = hmac.compare_digest(user, expected.username.encode())
    password_ok = hmac.compare_digest(password, expected.password.encode())
    return user_ok & password_ok


def demo_password(data_dir: Path) -> Path:
    """The demo's generated password file under `data_dir`: created once (0600), then reused.

    Created exclusively, so two starts agree on one; a file readable by others
    is tightened rather than trusted. Returns the path, never the password.
    """
    path = data_dir / DEMO_PASSWORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        read_password(path)  # a damaged file is reported now, not at the first visit
        return path
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(18) + "\n")
    return path


def read_password(path: Path) -> str:
    """The password stored in `path`; an empty or unreadable one is a configuration error."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the status password: {exc}", source=str(path)) from exc
    if not value or len(value) > 256:
        raise ConfigError(
            "the stored status password is not valid: delete the file to generate a new one",
            source=str(path),
        )
    return value


def status_access(settings: Settings, generated: Path | None) -> str:
    """How to log in to `/status`, for `loa run`'s banner: never the password itself."""
    user = settings.status_username or DEFAULT_USERNAME
    if generated is not None:
        return f"user {user}, password in {generated.resolve()}"
    if configured_credentials(settings) is not None:
        return f"user {user}, the configured status_password"
    return "off: set status_password to turn it on"
