"""Send editors' alerts: claim each due row of news.alerts, render it, send it through the courier.

Alerts take the one send path (bot.delivery.Courier: the shared limiter, 429
waits, 403 handling) like every other message, and record their outcome on
their own ledger rows. They are written in the newsroom's language
(`settings.language`); the event's detail is escaped, since it quotes
whatever a site or Telegram answered.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.delivery import SendStatus
from bot.i18n import t
from bot.publisher import Publisher
from bot.render import BotRequest
from news import alerts
from news.db import utcnow

log = logging.getLogger(__name__)
DETAIL_CHARS = 1500


@dataclass(frozen=True)
class AlertOutcome:
    """What one :meth:`AlertSender.send_due` did; `retry_in`: when to come back (None: done)."""

    sent: int = 0
    failed: int = 0
    retry_in: float | None = None


def render_alert(claimed: alerts.ClaimedAlert, language: str, tz: tzinfo) -> str:
    """The alert's HTML: a headline for its kind, when, and the event's (escaped) detail."""
    title = t(language, f"alert_{claimed.kind.value}")
    when = claimed.created_at.astimezone(tz).strftime("%H:%M %d/%m")
    detail = claimed.message
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    return f"<b>{html.escape(title)}</b> ({when})\n{html.escape(detail)}"


class AlertSender:
    """Plans open events for the editors' chats and sends every due alert row."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.factory = publisher.factory
        self.settings = publisher.settings

    def chats(self) -> list[str]:
        """The editors' chat, or each editor privately."""
        return alerts.alert_chats(self.settings.editors, self.settings.editors_chat)

    def run(self, *, now: datetime | None = None) -> AlertOutcome:
        """Plan alerts for new events, then send whatever is due."""
        chats = self.chats()
        alerts.register_private_chats(self.factory, chats)
        alerts.plan_alerts(self.factory, chats, now=now)
        return self.send_due(now=now)

    def send_due(self, *, now: datetime | None = None) -> AlertOutcome:
        """Send every due alert row; the earliest wait is returned for rescheduling."""
        stuck_after = timedelta(seconds=self.settings.publish.stuck_after_seconds)
        with self.factory() as session:
            due = alerts.due_alert_ids(session, now=now, stuck_after=stuck_after)
        sent = failed = 0
        waits: list[float] = []
        for alert_id in due:
            claimed = alerts.claim_alert(self.factory, alert_id, now=now, stuck_after=stuck_after)
            if claimed is None:
                continue
            status, wait = self._send(claimed)
            sent += status is SendStatus.SENT
            failed += status is SendStatus.FAILED
            if wait is not None:
                waits.append(wait)
        return AlertOutcome(sent, failed, min(waits) if waits else None)

    def _send(self, claimed: alerts.ClaimedAlert) -> tuple[SendStatus, float | None]:
        text = render_alert(claimed, self.settings.language, self.settings.tz)
        request = BotRequest(
            "sendMessage",
            {
                "chat_id": claimed.chat_id,
                "text": text,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            },
        )
        key = f"alert-{claimed.id}"
        result = self.publisher.courier.send(
            claimed.chat_id, request, key=key, attempt=claimed.attempts
        )
        if result.status is SendStatus.SENT:
            alerts.mark_alert_sent(self.factory, claimed.id, result.message_id)
            return SendStatus.SENT, None
        reason = result.error or str(result.status)
        if result.status in (SendStatus.RETRY, SendStatus.DEFERRED):
            wait = result.retry_in or 0.0
            not_before = utcnow() + timedelta(seconds=wait)
            alerts.mark_alert_retry(self.factory, claimed.id, reason, not_before=not_before)
            return result.status, wait
        alerts.mark_alert_failed(self.factory, claimed.id, reason)
        log.warning("%s to %s failed: %s", key, claimed.chat_id, reason)
        return SendStatus.FAILED, None
