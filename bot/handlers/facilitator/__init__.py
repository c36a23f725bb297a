"""Facilitator handlers: cohorts, reports, charts, answers, exports, announcements, the digest
setting, group links and invites.

Every command first checks who is asking (see `access`). Anyone who is neither an
administrator (`FACILITATOR_IDS`) nor a facilitator of some cohort gets exactly the reply for an
unknown command. A facilitator asking about a cohort that isn't theirs gets the same reply as
for a cohort that doesn't exist. Every read of a cohort's data is written to the audit log.

Conversation state (/newcohort steps, broadcast previews) lives in `context.user_data`, in
memory: it survives only while the process runs; after a restart the buttons say "expired".

One module per command or command pair; `bot.handlers.registry` registers the callbacks
re-exported here.
"""

from bot.handlers.facilitator.access import Who
from bot.handlers.facilitator.answer_pages import ANSWER_PREVIEW, FILE_THRESHOLD, PAGE_SIZE, answers
from bot.handlers.facilitator.buttons import PICKABLE, button
from bot.handlers.facilitator.cohort_list import cohorts
from bot.handlers.facilitator.digests import digest
from bot.handlers.facilitator.display import PREFIX
from bot.handlers.facilitator.exports import DOCUMENT_LIMIT, export
from bot.handlers.facilitator.groups import linkgroup_group, linkgroup_private
from bot.handlers.facilitator.invites import invite_facilitator, start_invite
from bot.handlers.facilitator.newcohort import DELIVERY_TIMES, NEW, newcohort, newcohort_text
from bot.handlers.facilitator.outreach import broadcast, nudge
from bot.handlers.facilitator.registration import (
    FIRST_HANDLERS,
    HANDLERS,
    PRE_HANDLERS,
    PRIVATE,
)
from bot.handlers.facilitator.reports import chart, report

__all__ = [
    "ANSWER_PREVIEW",
    "DELIVERY_TIMES",
    "DOCUMENT_LIMIT",
    "FILE_THRESHOLD",
    "FIRST_HANDLERS",
    "HANDLERS",
    "NEW",
    "PAGE_SIZE",
    "PICKABLE",
    "PREFIX",
    "PRE_HANDLERS",
    "PRIVATE",
    "Who",
    "answers",
    "broadcast",
    "button",
    "chart",
    "cohorts",
    "digest",
    "export",
    "invite_facilitator",
    "linkgroup_group",
    "linkgroup_private",
    "newcohort",
    "newcohort_text",
    "nudge",
    "report",
    "start_invite",
]
