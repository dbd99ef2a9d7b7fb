"""The `loa` process entry point: argument order, exit codes, and no stray tracebacks.

Every failure a user can meet ends in one line on stderr that says what to
do, never a traceback (unless `--log-level DEBUG` asks for one), and never
the bot token:

* exit 2: Loa cannot start as configured (a bad config, no database schema,
  no Redis, a busy port): the line names the fix (`loa db upgrade`,
  `REDIS_URL`, `LOA_HTTP_PORT`, ...);
* exit 1: the command ran and failed (a source unreachable, a channel refused);
* exit 130: interrupted by Ctrl-C.

Global options (`--config`, `--log-json`, `--log-level`) are accepted before
or after the command name: ``loa status --log-json`` works like
``loa --log-json status``.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence

from loa.logs import redact_secrets
from news.errors import ConfigError, LoaError, ServiceError, StorageError

#: Global options and whether each takes a value.
GLOBAL_OPTIONS = {"--config": True, "-c": True, "--log-level": True, "--log-json": False}
SETUP_ERRORS = (ConfigError, StorageError, ServiceError)


def exit_code_for(exc: BaseException) -> int:
    """2 when Loa cannot run as set up, 1 when a command ran and failed."""
    return 2 if isinstance(exc, SETUP_ERRORS) else 1


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options written after the command name to the front."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            rest.extend(argv[index:])
            break
        name = token.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in token
            width = 2 if takes_value and index + 1 < len(argv) else 1
            front.extend(argv[index : index + width])
            index += width
            continue
        rest.append(token)
        index += 1
    return front + rest


def _wants_traceback(argv: Sequence[str]) -> bool:
    for index, token in enumerate(argv):
        if token == "--log-level" and index + 1 < len(argv):
            return argv[index + 1].upper() == "DEBUG"
        if token.startswith("--log-level="):
            return token.split("=", 1)[1].upper() == "DEBUG"
    return False


def run_cli(command: Callable[[list[str]], object], argv: Sequence[str]) -> int:
    """Run `command` with `argv` and turn whatever escapes into one line and an exit code."""
    args = hoist_global_options(argv)
    try:
        command(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except LoaError as exc:
        _say(f"loa: {exc}", exc, args)
        return exit_code_for(exc)
    except Exception as exc:  # the last line of defence: one line, redacted
        _say(
            f"loa: unexpected {type(exc).__name__}: {exc} "
            "(run with --log-level DEBUG for the traceback)",
            exc,
            args,
        )
        return 1
    return 0


def _say(line: str, exc: BaseException, args: Sequence[str]) -> None:
    if _wants_traceback(args):
        text = "".join(traceback.format_exception(exc))
        sys.stderr.write(redact_secrets(text, extra=_env_secrets()))
    sys.stderr.write(redact_secrets(line, extra=_env_secrets()) + "\n")
    sys.stderr.flush()


def _env_secrets() -> list[str]:
    """The token as the environment gives it, in case settings never loaded."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
    return [token] if token.strip() else []
