"""The control API over HTTP, for tests whose bot runs in another process.

``POST /_emulator/<name>`` with a JSON object of keyword arguments calls the
``Control`` method of that name; ``GET`` works for the read-only ones with query
parameters. Replies use the Bot API envelope: ``{"ok": true, "result": ...}`` or
``{"ok": false, "description": ...}`` with status 400 for a misused control call.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import EmulatorError

if TYPE_CHECKING:
    from .control import Control

ACTIONS = frozenset(
    {
        "create_bot", "create_user", "create_chat", "set_bot_rights", "block_user",
        "migrate_group", "set_limits", "set_settings", "add_fault", "clear_faults",
        "advance_clock", "reset", "inject_message", "inject_command",
        "inject_callback_query", "inject_inline_query", "inject_edited_message",
        "inject_sticker", "messages", "sent", "calls",
        "answers", "chat", "faults", "limits",
    }
)  # fmt: skip
READ_ONLY = frozenset({"messages", "sent", "calls", "answers", "chat", "faults", "limits"})


def to_json(value: Any) -> Any:
    """Dataclasses and sets into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    return value


def _query_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key, raw in request.query_params.items():
        try:
            args[key] = json.loads(raw)
        except ValueError:
            args[key] = raw
    return args


def control_routes(control: Control) -> list[Route]:
    """Routes to mount at ``/_emulator``."""

    async def call(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ACTIONS or (request.method == "GET" and name not in READ_ONLY):
            return JSONResponse({"ok": False, "description": f"unknown action {name}"}, 404)
        args = _query_args(request)
        if request.method == "POST":
            # Only JSON: a browser may send text/plain or form posts cross-origin
            # without asking first, JSON needs a CORS preflight the emulator never grants.
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return JSONResponse(
                    {"ok": False, "description": "Content-Type must be application/json"}, 415
                )
            body = await request.body()
            try:
                decoded = json.loads(body) if body.strip() else {}
            except ValueError:
                return JSONResponse({"ok": False, "description": "body must be JSON"}, 400)
            if not isinstance(decoded, dict):
                return JSONResponse({"ok": False, "description": "body must be an object"}, 400)
            args.update(decoded)
        try:
            result = getattr(control, name)(**args)
        except (EmulatorError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"ok": False, "description": f"{type(exc).__name__}: {exc}"}, 400)
        return JSONResponse({"ok": True, "result": to_json(result)})

    return [Route("/{name}", call, methods=["GET", "POST"])]
