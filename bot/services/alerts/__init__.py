"""Safety alerts: check what participants write, answer with care, tell the facilitators.

Crisis language (see bot/services/safety.py and curricula/safety.yaml) gets the participant an
immediate caring reply with the crisis resources of their cohort, and the cohort's facilitators
(or, if it has none, the administrators) an alert with an "I'm on it" button. An alert nobody
acknowledges within ALERT_ESCALATION_MINUTES is repeated once to the administrators.

- `checker`: the safety configuration and matching (SafetyChecker)
- `recipients`: who gets and may take on a cohort's alerts
- `messages`: the alert message, its button and its outbox keys
- `raising`: check_text, check_scale, raise_alert
- `acknowledging`: "I'm on it", and alert messages showing who took them on
- `escalating`: unacknowledged alerts to the administrators
- `listing`: /alerts
- `reach`: alerts that reached nobody (`resilience-bot doctor`, /cohorts for administrators)
"""

import logging

from bot.services.alerts.acknowledging import (
    AckOutcome,
    AckResult,
    MessageEdit,
    acknowledge,
    stale_alert_messages,
)
from bot.services.alerts.checker import BUNDLED_SAFETY_FILE, SafetyChecker, default_safety_file
from bot.services.alerts.escalating import escalate_due
from bot.services.alerts.listing import (
    AlertView,
    list_alerts,
    list_markup,
    list_open_alerts,
    render_alert_list,
)
from bot.services.alerts.messages import (
    ACK_CALLBACK,
    ACK_PATTERN,
    ALERT_SCOPE,
    CATEGORY_KEYS,
    LOW_SCALE,
    ack_markup,
    category_label,
    participant_label,
    render_alert,
)
from bot.services.alerts.raising import (
    REPEAT_WINDOW,
    SafetyOutcome,
    check_scale,
    check_text,
    raise_alert,
    reply_kind,
)
from bot.services.alerts.reach import UnreachedAlert, unreached_alerts
from bot.services.alerts.recipients import (
    alert_recipients,
    cohort_facilitators,
    facilitator_names,
    may_handle,
    visible_cohort_ids,
)

log = logging.getLogger(__name__)  # the one logger of every module here

__all__ = [
    "ACK_CALLBACK",
    "ACK_PATTERN",
    "ALERT_SCOPE",
    "BUNDLED_SAFETY_FILE",
    "CATEGORY_KEYS",
    "LOW_SCALE",
    "REPEAT_WINDOW",
    "AckOutcome",
    "AckResult",
    "AlertView",
    "MessageEdit",
    "SafetyChecker",
    "SafetyOutcome",
    "UnreachedAlert",
    "ack_markup",
    "acknowledge",
    "alert_recipients",
    "category_label",
    "check_scale",
    "check_text",
    "cohort_facilitators",
    "default_safety_file",
    "escalate_due",
    "facilitator_names",
    "list_alerts",
    "list_markup",
    "list_open_alerts",
    "may_handle",
    "participant_label",
    "raise_alert",
    "render_alert",
    "render_alert_list",
    "reply_kind",
    "stale_alert_messages",
    "unreached_alerts",
    "visible_cohort_ids",
]
