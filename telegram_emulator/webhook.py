"""Delivering updates to a bot's webhook, the way Telegram pushes them.

One background task on the server loop POSTs each pending update as JSON, with the
``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set. A 2xx reply confirms the
update; anything else is recorded for getWebhookInfo (``last_error_*``) and retried later,
in order, like Telegram does.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from .state import State

_TICK = 0.02
_RETRY_AFTER_FAILURE = 1.0


async def deliver_forever(state: State, stopping: threading.Event) -> None:
    """Push pending updates to every bot with a webhook until the server stops."""
    next_try: dict[int, float] = {}
    async with httpx.AsyncClient(timeout=10.0) as client:
        while not stopping.is_set():
            await asyncio.sleep(_TICK)
            with state.lock:
                if not state.settings.deliver_webhooks:
                    continue
                jobs = [
                    (bot_id, bot.webhook, state.updates.pending(bot_id, 1))
                    for bot_id, bot in state.bots.items()
                    if bot.webhook is not None and next_try.get(bot_id, 0) <= time.monotonic()
                ]
            for bot_id, hook, pending in jobs:
                if hook is None or not pending:
                    continue
                update = pending[0]
                headers = {}
                if hook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
                error: str | None = None
                try:
                    response = await client.post(hook.url, json=update, headers=headers)
                    if not 200 <= response.status_code < 300:
                        error = f"Wrong response from the webhook: {response.status_code} " + (
                            response.reason_phrase or ""
                        )
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {type(exc).__name__}"
                with state.lock:
                    bot = state.bots.get(bot_id)
                    if bot is None or bot.webhook is not hook:
                        continue
                    if error is None:
                        state.updates.confirm(bot_id, int(update["update_id"]) + 1)
                    else:
                        hook.last_error_date = int(state.clock.time())
                        hook.last_error_message = error.strip()
                        next_try[bot_id] = time.monotonic() + _RETRY_AFTER_FAILURE
