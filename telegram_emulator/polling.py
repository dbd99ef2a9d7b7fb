"""getUpdates with real long polling, and the 409s Telegram gives competing readers.

The wait happens on the event loop outside the state lock, checking every 10 ms for new
updates, for a newer poll that supersedes this one, or for the server stopping. A newer
getUpdates (or setWebhook) makes the older long poll return 409, as on Telegram.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from .errors import conflict
from .params import Params
from .state import Bot, State

_TICK = 0.01
_TERMINATED = {
    "getUpdates": "terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    "setWebhook": "terminated by setWebhook request",
}


async def get_updates(state: State, bot: Bot, p: Params, stopping: threading.Event) -> Any:
    """getUpdates: confirm by offset, return pending updates or wait up to ``timeout`` s."""
    bot_id = bot.user.id
    with state.lock:
        if bot.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = max(p.get_int("timeout", 0) or 0, 0)
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            state.updates.allowed[bot_id] = [str(a) for a in allowed]
        offset = p.get_int("offset", 0) or 0
        state.updates.confirm(bot_id, offset)
        generation = state.updates.new_poll(bot_id, "getUpdates")
        updates = state.updates.pending(bot_id, limit)
    if updates or timeout == 0:
        return updates
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        await asyncio.sleep(_TICK)
        with state.lock:
            if not state.updates.current(bot_id, generation):
                reason = state.updates.terminated_by.get(bot_id, "getUpdates")
                raise conflict(_TERMINATED.get(reason, _TERMINATED["getUpdates"]))
            updates = state.updates.pending(bot_id, limit)
        if updates:
            return updates
    return []
