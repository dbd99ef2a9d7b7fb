"""Flood control: 429 with retry_after, per chat and per bot, and configurable."""

from __future__ import annotations

import datetime as dtm

import httpx
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from telegram_emulator import Emulator, ManualClock

from .helpers import TOKEN, run_with_bot


def test_second_message_to_a_private_chat_within_a_second(
    telegram_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    telegram_emulator.create_user(3003, "Cid")

    async def body(bot: Bot) -> None:
        await bot.send_message(3003, "one")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(3003, "two")
        assert info.value.retry_after == dtm.timedelta(seconds=1)

    run_with_bot(telegram_emulator, body)
    reply = httpx.post(telegram_emulator.api_url(TOKEN, "sendMessage"),
                       json={"chat_id": 3003, "text": "three"})  # fmt: skip
    assert reply.status_code == 429
    assert reply.json() == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }  # fmt: skip
    assert [m.text for m in telegram_emulator.messages(3003)] == ["one"]


def _send(emulator: Emulator, chat: int | str, text: str = "x") -> httpx.Response:
    return httpx.post(emulator.api_url(TOKEN, "sendMessage"), json={"chat_id": chat, "text": text})


def test_group_limit_per_minute_and_clock() -> None:
    clock = ManualClock()
    with Emulator(clock=clock) as emulator:
        emulator.create_chat("channel", username="c")
        for _ in range(20):
            assert _send(emulator, "@c").status_code == 200
        refused = _send(emulator, "@c")
        assert refused.status_code == 429 and refused.json()["parameters"]["retry_after"] == 60
        clock.advance(30)
        assert _send(emulator, "@c").json()["parameters"]["retry_after"] == 30
        clock.advance(30)
        assert _send(emulator, "@c").status_code == 200


def test_global_cap_and_switching_off() -> None:
    clock = ManualClock()
    with Emulator(clock=clock) as emulator:
        users = [emulator.create_user(4000 + i)["id"] for i in range(4)]
        emulator.set_limits(global_per_second=3)
        assert [_send(emulator, u).status_code for u in users] == [200, 200, 200, 429]
        emulator.set_limits(enabled=False)
        assert all(_send(emulator, users[0]).status_code == 200 for _ in range(5))
        emulator.set_limits(enabled=True, global_per_second=1000, private_per_second=0)
        clock.advance(1)
        assert all(_send(emulator, users[1]).status_code == 200 for _ in range(50))
        with pytest.raises(ValueError, match="unknown limit"):
            emulator.set_limits(bogus=1)


def test_the_call_record_tells_injected_429s_from_flood_control(
    telegram_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault scenarios count "429s Loa caused" apart from the ones they injected."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = telegram_emulator.create_user(4242)
    telegram_emulator.add_fault("retry_after", chat_id=user["id"], times=1, retry_after=1)

    async def body(bot: Bot) -> None:
        with pytest.raises(RetryAfter):
            await bot.send_message(user["id"], "injected")
        await bot.send_message(user["id"], "accepted")
        with pytest.raises(RetryAfter):
            await bot.send_message(user["id"], "too fast")  # 1 message a second per chat

    run_with_bot(telegram_emulator, body)
    sends = [(c["status"], c["fault"]) for c in telegram_emulator.calls("sendMessage")]
    assert sends == [(429, "retry_after"), (200, None), (429, None)]
