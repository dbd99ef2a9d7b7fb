"""/addsource through the real bot, the Bot API emulator and the test site server.

An editor asks, gets the proposal and two buttons; a reader's tap is refused;
the editor's tap appends the source to the running config file (a copy of
loa.example.yaml), a second tap or the same tap delivered twice writes
nothing more; cancel writes nothing; nothing watchable lists what was tried;
without a config file the YAML is shown to paste.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from telegram_emulator import Emulator
from telegram_emulator.models import MessageRecord
from tests.bot.running_bot import TOKEN, RunningBot, running_bot
from tests.bot.test_reader_commands import buttons
from tests.sites.server import SiteServer

EXAMPLE = Path(__file__).resolve().parents[2] / "loa.example.yaml"
ADDSOURCE_SITES = Path(__file__).resolve().parents[1] / "sites" / "addsource"
EDITOR = 6101  # English client
EDITOR_VI = 6102
READER = 6103
GROUP = -100667
NOT_PERMITTED = "Bạn không có quyền dùng lệnh này."


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    with SiteServer(corpus_dir=ADDSOURCE_SITES) as server:
        yield server


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def make_settings(emulator: Emulator, tmp_path: Path, config: Path | None) -> Settings:
    return load_settings(
        config,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "LOA_EDITORS": f"{EDITOR},{EDITOR_VI}",
            "LOA_ALLOWED_HOSTS": "127.0.0.1",  # the test sites: an intranet portal's case
        },
    )


@contextmanager
def started(
    emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    emulator.set_limits(enabled=False)
    for user, code in ((EDITOR, "en"), (EDITOR_VI, "vi"), (READER, "vi")):
        emulator.create_user(user, f"User {user}", language_code=code)
    emulator.create_chat("supergroup", chat_id=GROUP, title="Newsroom")
    with running_bot(emulator, settings, factory) as running:
        yield running


@pytest.fixture
def bot(
    telegram_emulator: Emulator,
    tmp_path: Path,
    config_file: Path,
    factory: sessionmaker[Session],
) -> Iterator[RunningBot]:
    settings = make_settings(telegram_emulator, tmp_path, config_file)
    with started(telegram_emulator, settings, factory) as running:
        yield running


def ask_and_wait(bot: RunningBot, chat: int, text: str, user: int | None = None) -> MessageRecord:
    """Send the command; the bot's "looking…" message once it has been edited to the result."""
    first = bot.ask(chat, text, user_id=user)  # the emulator's record: edits change it in place
    record: MessageRecord = bot.wait_for(
        lambda: len((m := bot.message(chat, first.message_id)).history) > 1 and m, timeout=60
    )
    return record


def press(bot: RunningBot, chat: int, message_id: int, data: str, user: int) -> dict[str, Any]:
    before = len(bot.emulator.answers())
    bot.emulator.inject_callback_query(chat, message_id, data, user_id=user)
    answer: dict[str, Any] = bot.wait_for(lambda: bot.emulator.answers()[before:], timeout=20)[0]
    return answer


def test_an_editor_adds_a_source_with_one_tap_and_only_once(
    bot: RunningBot, sites: SiteServer, config_file: Path
) -> None:
    url = sites.url_for("http://feedsite.test/")
    before = config_file.read_bytes()
    proposal = ask_and_wait(bot, GROUP, f"/addsource {url}", EDITOR)
    text = proposal.text or ""
    assert text.startswith("Proposed source\nKind: rss\nAddress: http://127.0.0.1:")
    assert "tin-moi.rss" in text and "Read with: zero-config (score 1.00)" in text
    assert "Articles found: 4" in text
    assert "sources:\n  - name: feedsite\n    title: Báo Đồng Bằng\n    kind: rss\n" in text
    assert "Thời sự: Thời sự" in text and "# thoi-su" in text
    [(add_label, add), (cancel_label, cancel)] = buttons(proposal)
    assert (add_label, cancel_label) == ("➕ Add to the config", "Cancel")
    assert add.startswith("as:y:") and cancel.startswith("as:n:") and len(add.encode()) < 64
    assert config_file.read_bytes() == before  # asking writes nothing

    assert press(bot, GROUP, proposal.message_id, add, READER)["text"] == NOT_PERMITTED
    assert config_file.read_bytes() == before

    # the tap delivered twice at once (a retried update, a double tap): one write
    answers = len(bot.emulator.answers())
    bot.emulator.inject_callback_query(GROUP, proposal.message_id, add, user_id=EDITOR)
    bot.emulator.inject_callback_query(GROUP, proposal.message_id, add, user_id=EDITOR)
    got = bot.wait_for(
        lambda: len(bot.emulator.answers()) >= answers + 2 and bot.emulator.answers()
    )
    assert [a.get("text") for a in got[answers:]] == [None, "This source was already added."]
    done = bot.wait_for(
        lambda: len((m := bot.message(GROUP, proposal.message_id)).history) > 2 and m
    )
    assert (done.text or "").startswith(f"Added source feedsite to {config_file}.")
    assert "docker compose restart worker beat bot" in (done.text or "")
    assert buttons(done) == []
    added = config_file.read_bytes()
    assert added.startswith(before.split(b"  # - name: tinmoi")[0])
    settings = load_settings(config_file, environ={})
    assert [s.name for s in settings.sources] == ["dangbokhoi", "feedsite"]
    assert settings.sources[1].url.endswith("/feedsite.test/tin-moi.rss")

    # the button tapped again on an old copy of the question: already added, nothing written
    copy = bot.send_with_buttons(GROUP, add)
    assert press(bot, GROUP, copy, add, EDITOR_VI)["text"] == "Nguồn này đã được thêm rồi."
    assert config_file.read_bytes() == added

    # the same site proposed again: the duplicate is refused, the question stays
    again = ask_and_wait(bot, GROUP, f"/addsource {url}", EDITOR_VI)
    [(_, add_again), (_, cancel_again)] = buttons(again)
    sent = len(bot.emulator.sent(GROUP))
    press(bot, GROUP, again.message_id, add_again, EDITOR_VI)
    refusal = bot.wait_for(lambda: bot.emulator.sent(GROUP)[sent:])[0]
    assert (refusal.text or "").startswith("Không ghi được vào tệp cấu hình: ")
    assert "already" in (refusal.text or "")
    assert config_file.read_bytes() == added
    press(bot, GROUP, again.message_id, cancel_again, EDITOR_VI)
    cancelled = bot.wait_for(lambda: buttons(m := bot.message(GROUP, again.message_id)) == [] and m)
    assert cancelled.text == "Đã hủy, không thêm nguồn nào."
    assert config_file.read_bytes() == added


def test_nothing_watchable_and_a_refused_address_say_why(
    bot: RunningBot, sites: SiteServer
) -> None:
    parked = sites.url_for("http://parked.test/")
    reply = ask_and_wait(bot, EDITOR, f"/addsource {parked}").text or ""
    assert reply.startswith(f"Nothing watchable at {parked}. Tried:\n• the given page: ")
    assert "HTTP 404" in reply
    assert buttons(bot.emulator.sent(EDITOR)[-1]) == []
    refused = ask_and_wait(bot, EDITOR, "/addsource http://10.1.2.3/").text or ""
    assert refused.startswith("Not done: refused to fetch http://10.1.2.3/")
    assert bot.ask(EDITOR, "/addsource").text == (
        "Usage: /addsource <URL of a page>, e.g. /addsource https://baomoi.vn/"
    )
    assert bot.ask(READER, f"/addsource {parked}").text == NOT_PERMITTED


def test_without_a_config_file_the_yaml_is_shown_to_paste(
    telegram_emulator: Emulator,
    tmp_path: Path,
    sites: SiteServer,
    factory: sessionmaker[Session],
) -> None:
    settings = make_settings(telegram_emulator, tmp_path, None)
    assert settings.config_file is None
    with started(telegram_emulator, settings, factory) as bot:
        url = sites.url_for("http://feedsite.test/")
        reply = ask_and_wait(bot, EDITOR_VI, f"/addsource {url}")
        text = reply.text or ""
        assert text.startswith("Đề xuất nguồn mới\nLoại: rss\n")
        assert "sources:\n  - name: feedsite\n" in text
        assert text.endswith("hãy dán đoạn YAML trên vào tệp cấu hình.")
        assert buttons(reply) == []
