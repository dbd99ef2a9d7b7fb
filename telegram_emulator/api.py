"""The Starlette app: Bot API routes, file downloads, and the mounted control API.

One endpoint serves every method at ``/bot<token>/<method>`` (method names are
case-insensitive, as on Telegram). The request path is: parse the body, authenticate the
token (401), find the method (404), apply injected faults (latency, hang, forced errors),
then run the handler under the state lock and wrap its result in ``{"ok": true, ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from . import methods_misc as misc
from . import methods_send as send
from .control import Control
from .control_http import control_routes
from .errors import ApiError, not_found
from .params import Params, parse_body
from .polling import get_updates
from .state import Bot, State
from .webhook import deliver_forever

Handler = Callable[[State, Bot, Params], Any]

HANDLERS: dict[str, Handler] = {
    "getMe": misc.get_me,
    "sendMessage": send.send_message,
    "sendPhoto": send.send_photo,
    "editMessageText": send.edit_message_text,
    "editMessageCaption": send.edit_message_caption,
    "editMessageReplyMarkup": send.edit_message_reply_markup,
    "deleteMessage": send.delete_message,
    "sendChatAction": send.send_chat_action,
    "getChat": misc.get_chat,
    "getChatMember": misc.get_chat_member,
    "setMyCommands": misc.set_my_commands,
    "getMyCommands": misc.get_my_commands,
    "deleteMyCommands": misc.delete_my_commands,
    "answerCallbackQuery": misc.answer_callback_query,
    "answerInlineQuery": misc.answer_inline_query,
    "setWebhook": misc.set_webhook,
    "deleteWebhook": misc.delete_webhook,
    "getWebhookInfo": misc.get_webhook_info,
    "getFile": misc.get_file,
}
_CANONICAL = {name.lower(): name for name in [*HANDLERS, "getUpdates"]}


def _reply(error: ApiError) -> JSONResponse:
    return JSONResponse(error.to_payload(), status_code=error.error_code)


async def _sleep(seconds: float, stopping: threading.Event) -> None:
    """Sleep in small steps so stop() never waits for an injected hang."""
    deadline = time.monotonic() + seconds
    while not stopping.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, max(deadline - time.monotonic(), 0)))


class InjectedError(ApiError):
    """An error a fault forced (the call record names the fault's kind)."""

    def __init__(self, error: ApiError, kind: str):
        super().__init__(error.error_code, error.description, error.parameters)
        self.kind = kind


async def _apply_faults(
    state: State, method: str, p: Params, stopping: threading.Event
) -> InjectedError | None:
    """Run latency/hang faults and return the forced error, if any fault gives one."""
    raw = p.values.get("chat_id")
    with state.lock:
        chat = state.find_chat(raw) if isinstance(raw, int | str) and raw != "" else None
        fired = state.faults.take(
            method, chat.id if chat else None, str(raw) if raw is not None else None,
            state.clock.monotonic(),
        )  # fmt: skip
    for fault in fired:
        if fault.kind in ("latency", "timeout"):
            await _sleep(fault.seconds, stopping)
            if fault.kind == "timeout":
                return InjectedError(ApiError(504, "Gateway Timeout"), fault.kind)
            continue
        error = fault.error(chat.type if chat else None)
        return None if error is None else InjectedError(error, fault.kind)
    return None


def build_app(control: Control, stopping: threading.Event) -> Starlette:
    """The ASGI app serving one emulator's state."""
    state = control.state

    async def bot_api(request: Request) -> Response:
        token = request.path_params["token"]
        method = _CANONICAL.get(request.path_params["method"].lower())
        bot_id: int | None = None
        params: dict[str, Any] = {}
        try:
            values = parse_body(
                request.headers.get("content-type", ""), await request.body(), request.url.query
            )
            p = Params(values)
            params = p.loggable()
            bot = state.bot_for_token(token)
            bot_id = bot.user.id
            if method is None:
                raise not_found()
            forced = await _apply_faults(state, method, p, stopping)
            if forced is not None:
                raise forced
            if method == "getUpdates":
                result = await get_updates(state, bot, p, stopping)
            else:
                with state.lock:
                    result = HANDLERS[method](state, bot, p)
        except ApiError as error:
            state.log_call(
                bot_id, method or request.path_params["method"], params, error.error_code,
                error.kind if isinstance(error, InjectedError) else None,
            )  # fmt: skip
            return _reply(error)
        state.log_call(bot_id, method, params, 200)
        return JSONResponse({"ok": True, "result": result})

    async def download(request: Request) -> Response:
        try:
            state.bot_for_token(request.path_params["token"])
        except ApiError as error:
            return _reply(error)
        name = request.path_params["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        with state.lock:
            content = state.files.get(name)
        if content is None:
            return _reply(not_found())
        return Response(content, media_type="application/octet-stream")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(deliver_forever(state, stopping))
        try:
            yield
        finally:
            stopping.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", download, methods=["GET"]),
            Mount("/_emulator", routes=control_routes(control)),
        ],
        lifespan=lifespan,
    )
