"""The bot's own @username, recorded at start for the feed server's t.me deep links.

The home page links `https://t.me/<bot>?start=cat_<slug>`, but only the bot
process learns the username (from getMe). It writes it to a small file in the
data directory, which `loa run` and Docker Compose share between processes:
the feed server reads it with one small file read per home page, needing no
Redis connection (which it otherwise has no use for) and no Telegram call.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def record_username(path: Path, username: str | None) -> None:
    """Write `username` to `path` atomically; a failure is logged, never raised.

    Deep links are a convenience: a read-only data directory must not stop the bot.
    """
    if not username:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="ascii", dir=path.parent, prefix=".bot-username.", delete=False
        ) as file:
            file.write(username + "\n")
        os.replace(file.name, path)
    except OSError as exc:
        log.warning("could not record the bot's username in %s: %s", path, exc.strerror)
