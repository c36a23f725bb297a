"""What an alert message says, its "I'm on it" button, and the outbox keys it is found by.

Alert messages go through the outbox under the dedupe key `alerts:alert<id>:<recipient>`
(`alerts:alert<id>:esc:<admin>` for the escalation), so they are sent once and can be found
again to show who took the alert on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db.models import Cohort, Participant, SafetyAlert
from bot.services.alerts.checkins import CHECKIN_MATCH_PREFIX
from bot.services.outbox import OutgoingMessage
from bot.texts import escape, text

LOW_SCALE = "low_scale"
ALERT_SCOPE = "alerts"
ACK_CALLBACK = "alert:{id}:ack"
ACK_PATTERN = r"^alert:\d+:ack$"

CATEGORY_KEYS = {
    "self_harm": "alert_cat_self_harm",
    "harm_to_others": "alert_cat_harm_to_others",
    "abuse": "alert_cat_abuse",
    "harm_to_dependent": "alert_cat_harm_to_dependent",
    LOW_SCALE: "alert_cat_low_scale",
}


def category_label(category: str) -> str:
    key = CATEGORY_KEYS.get(category)
    return text(key) if key else escape(category)


def participant_name(participant: Participant) -> str:
    """Their name, or a short pseudonym when they gave none (plain text)."""
    return participant.display_name or f"participant {participant.pseudonym[:6]}"


def participant_label(participant: Participant | None, *, link: bool = True) -> str:
    """The participant's name (HTML), linked to their profile when they can still be reached."""
    if participant is None or participant.data_deleted_at is not None:
        return text("alert_deleted_participant")
    name = escape(participant_name(participant))
    if link and participant.telegram_user_id > 0:
        return f'<a href="tg://user?id={participant.telegram_user_id}">{name}</a>'
    return name


def shorten(value: str, limit: int) -> str:
    """`value` cut to `limit` characters with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _quote(value: str | None, limit: int = 1500) -> str:
    if not value:
        return text("alert_text_deleted")
    return f"<blockquote>{escape(shorten(value, limit))}</blockquote>"


def render_alert(alert: SafetyAlert, cohort: Cohort, participant: Participant | None) -> str:
    """The alert as facilitators read it (HTML)."""
    head = text(
        "alert_head",
        cohort=escape(cohort.name),
        category=category_label(alert.category),
    )
    who = participant_label(participant)
    if alert.category == LOW_SCALE:
        body = text("alert_body_scale", name=who, detail=escape(alert.matched or ""))
    elif (alert.matched or "").startswith(CHECKIN_MATCH_PREFIX):
        answer = alert.matched.removeprefix(CHECKIN_MATCH_PREFIX)  # type: ignore[union-attr]
        body = text("alert_body_checkin", name=who, answer=text(f"checkin_button_{answer}"))
    else:
        body = text("alert_body_text", name=who, message=_quote(alert.message_text))
    return f"{head}\n{body}\n\n{text('alert_footer')}"


def ack_markup(alert_id: int) -> dict[str, Any]:
    data = ACK_CALLBACK.format(id=alert_id)
    assert len(data.encode()) <= 64
    return {"inline_keyboard": [[{"text": text("alert_button_ack"), "callback_data": data}]]}


def alert_message(
    alert: SafetyAlert, recipient: int, body: str, now: datetime, *, escalation: bool = False
) -> OutgoingMessage:
    """The alert for one recipient's chat, with its "I'm on it" button, due now."""
    return OutgoingMessage(
        chat_id=recipient,
        text=body,
        kind="alert",
        item=_item(alert.id, recipient, escalation),  # type: ignore[arg-type]
        scope=ALERT_SCOPE,
        cohort_id=alert.cohort_id,
        due_at=now,
        reply_markup=ack_markup(alert.id),  # type: ignore[arg-type]
    )


def _item(alert_id: int, recipient: int, escalation: bool = False) -> str:
    return f"alert{alert_id}:esc:{recipient}" if escalation else f"alert{alert_id}:{recipient}"


def dedupe_prefix(alert_id: int) -> str:
    """The start of the dedupe key of every message of this alert."""
    return f"{ALERT_SCOPE}:alert{alert_id}:"
