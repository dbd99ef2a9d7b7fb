"""Bot API methods that do not create messages: identity, chats, commands, answers, webhooks.

getUpdates is not here: it waits, so it lives in ``polling.py`` on the event loop.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request
from .models import Membership, admin_json
from .params import Params
from .state import Bot, State
from .updates import Webhook

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_QUERY_ERROR = "query is too old and response timeout expired or query ID is invalid"


def get_me(state: State, bot: Bot, p: Params) -> Any:
    """getMe."""
    data = bot.user.json()
    data.update(
        can_join_groups=True, can_read_all_group_messages=False, supports_inline_queries=True,
        can_connect_to_business=False, has_main_web_app=False,
    )  # fmt: skip
    return data


def get_chat(state: State, bot: Bot, p: Params) -> Any:
    """getChat: resolves @username; private groups the bot is not in are "not found"."""
    chat = state.chat_for_request(p.chat_ref())
    member = chat.membership(bot.user.id)
    if chat.type != "private" and not chat.username and member.status in ("left", "kicked"):
        raise bad_request("chat not found")
    return chat.full_json()


def get_chat_member(state: State, bot: Bot, p: Params) -> Any:
    """getChatMember: the bot's own standing, or a known user as a plain member."""
    chat = state.chat_for_request(p.chat_ref())
    user_id = p.require_int("user_id", "user_id is empty")
    if user_id == bot.user.id:
        if chat.type == "private":
            return admin_json(bot.user, Membership(status="member"), chat.type)
        return admin_json(bot.user, chat.membership(bot.user.id), chat.type)
    user = state.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private" and chat.id != user_id:
        raise bad_request("user not found")
    return admin_json(user, Membership(status="member"), chat.type)


def _scope_key(p: Params) -> str:
    scope = p.get_json("scope")
    language = p.get_str("language_code") or ""
    kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
    chat = scope.get("chat_id", "") if isinstance(scope, dict) else ""
    return f"{kind}:{chat}:{language}"


def set_my_commands(state: State, bot: Bot, p: Params) -> Any:
    """setMyCommands: validates names and descriptions like Telegram."""
    commands = p.get_json("commands")
    if not isinstance(commands, list):
        raise bad_request('parameter "commands" is required')
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("command description is empty")
    bot.commands[_scope_key(p)] = commands
    return True


def get_my_commands(state: State, bot: Bot, p: Params) -> Any:
    """getMyCommands."""
    return bot.commands.get(_scope_key(p), [])


def delete_my_commands(state: State, bot: Bot, p: Params) -> Any:
    """deleteMyCommands."""
    bot.commands.pop(_scope_key(p), None)
    return True


def answer_callback_query(state: State, bot: Bot, p: Params) -> Any:
    """answerCallbackQuery: each injected query may be answered once."""
    query_id = p.get_str("callback_query_id") or ""
    query = state.callback_queries.get(query_id)
    if query is None or query["bot_id"] not in (None, bot.user.id) or query["answered"]:
        raise bad_request(_QUERY_ERROR)
    query["answered"] = True
    state.answers.append(
        {
            "type": "callback_query", "id": query_id, "bot_id": bot.user.id,
            "text": p.get_str("text"), "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"), "cache_time": p.get_int("cache_time"),
        }
    )  # fmt: skip
    return True


def answer_inline_query(state: State, bot: Bot, p: Params) -> Any:
    """answerInlineQuery: at most 50 results, each with a unique id."""
    query_id = p.get_str("inline_query_id") or ""
    query = state.inline_queries.get(query_id)
    if query is None or query["bot_id"] not in (None, bot.user.id) or query["answered"]:
        raise bad_request(_QUERY_ERROR)
    results = p.get_json("results")
    if not isinstance(results, list):
        raise bad_request('parameter "results" is required')
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH")
    ids = [r.get("id") for r in results if isinstance(r, dict)]
    if len(ids) != len(results) or len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    query["answered"] = True
    state.answers.append(
        {"type": "inline_query", "id": query_id, "bot_id": bot.user.id, "results": results,
         "cache_time": p.get_int("cache_time"), "next_offset": p.get_str("next_offset")}
    )  # fmt: skip
    return True


def set_webhook(state: State, bot: Bot, p: Params) -> Any:
    """setWebhook: an empty url removes it; http://localhost is allowed for tests."""
    url = p.get_str("url") or ""
    if p.get_bool("drop_pending_updates"):
        state.updates.drop_pending(bot.user.id)
    state.updates.new_poll(bot.user.id, "setWebhook")
    if not url:
        bot.webhook = None
        return True
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = p.get_json("allowed_updates")
    if isinstance(allowed, list):
        state.updates.allowed[bot.user.id] = [str(a) for a in allowed]
    bot.webhook = Webhook(
        url=url, secret_token=secret, max_connections=p.get_int("max_connections") or 40,
        allowed_updates=state.updates.allowed.get(bot.user.id),
    )  # fmt: skip
    return True


def delete_webhook(state: State, bot: Bot, p: Params) -> Any:
    """deleteWebhook."""
    if p.get_bool("drop_pending_updates"):
        state.updates.drop_pending(bot.user.id)
    bot.webhook = None
    return True


def get_webhook_info(state: State, bot: Bot, p: Params) -> Any:
    """getWebhookInfo."""
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates.pending(bot.user.id, limit=10**9)),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


def get_file(state: State, bot: Bot, p: Params) -> Any:
    """getFile: only files uploaded to the emulator can be downloaded."""
    file_id = (p.get_str("file_id") or "").removesuffix("_s")
    if file_id not in state.files:
        raise bad_request("invalid file_id")
    content = state.files[file_id]
    data: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id[-12:]}
    if content is not None:
        data.update(file_size=len(content), file_path=f"photos/{file_id}.jpg")
    return data
