"""One ordered table registers every handler; the command menu is generated from it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import data_rights, facilitator, menus, participant, safety

Callback = Callable[..., Coroutine[Any, Any, None]]
PRIVATE = filters.ChatType.PRIVATE


@dataclass(frozen=True)
class Command:
    name: str
    callback: Callback
    description: str
    audience: str = "participant"  # or "facilitator": hidden from everyone else's menu


COMMANDS: list[Command] = [
    Command("start", participant.start, "join a program from your invite link"),
    Command("today", participant.today, "today's lesson and open questions"),
    Command("progress", participant.progress, "how far you've come"),
    Command("pause", participant.pause, "take a break from daily messages"),
    Command("resume", participant.resume, "carry on after a break"),
    Command("timezone", participant.timezone, "set your time zone"),
    Command("stop", participant.stop, "leave the program"),
    Command("mydata", data_rights.mydata, "get everything stored about you"),
    Command("delete", data_rights.delete, "erase your answers and leave"),
    Command("help", participant.help_command, "what you can do"),
    # Facilitators (everyone else gets the unknown-command reply):
    Command("cohorts", facilitator.cohorts, "your cohorts at a glance", "facilitator"),
    Command("report", facilitator.report, "engagement report for a cohort", "facilitator"),
    Command("chart", facilitator.chart, "engagement chart (PNG)", "facilitator"),
    Command("answers", facilitator.answers, "read a day's answers", "facilitator"),
    Command("export", facilitator.export, "all answers as CSV or JSON Lines", "facilitator"),
    Command("broadcast", facilitator.broadcast, "message everyone in a cohort", "facilitator"),
    Command("nudge", facilitator.nudge, "check in with people who are slipping", "facilitator"),
    Command("newcohort", facilitator.newcohort, "set up a new cohort", "facilitator"),
    Command("digest", facilitator.digest, "daily summary: /digest 08:00 or off", "facilitator"),
    Command(
        "linkgroup", facilitator.linkgroup_private, "post daily themes to a group", "facilitator"
    ),
    Command(
        "invitefacilitator",
        facilitator.invite_facilitator,
        "invite a co-facilitator",
        "facilitator",
    ),
    Command("alerts", safety.alerts_command, "open safety alerts", "facilitator"),
]

EXTRA_COMMANDS: list[Command] = []
"""Commands added by feature modules (facilitator tools, data rights) via `add_commands`."""

EXTRA_HANDLERS: list[BaseHandler[Any, Any, Any]] = []


def add_commands(commands: list[Command], handlers: list[Any] | None = None) -> None:
    EXTRA_COMMANDS.extend(c for c in commands if c not in EXTRA_COMMANDS)
    EXTRA_HANDLERS.extend(h for h in handlers or [] if h not in EXTRA_HANDLERS)


def all_commands() -> list[Command]:
    return [*COMMANDS, *EXTRA_COMMANDS]


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Every handler in the order it is tried."""
    return [
        *facilitator.FIRST_HANDLERS,  # /start fac-<code>, before the participant /start
        *(CommandHandler(c.name, c.callback, filters=PRIVATE) for c in COMMANDS),
        *facilitator.HANDLERS,
        *EXTRA_HANDLERS,
        *(CommandHandler(c.name, c.callback) for c in EXTRA_COMMANDS),
        CallbackQueryHandler(participant.consent_button, pattern=r"^consent:\d+:[yn]$"),
        CallbackQueryHandler(participant.answer_button, pattern=r"^a:\d+:\d+:\d+:\d+$"),
        CallbackQueryHandler(participant.stop_button, pattern=r"^stop:\d+:[yn]$"),
        *safety.HANDLERS,  # "I'm on it" on safety alerts
        *data_rights.HANDLERS,  # /delete confirmation
        MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, participant.edited_message),
        MessageHandler(PRIVATE & filters.COMMAND, participant.unknown_command),
        MessageHandler(
            PRIVATE & filters.TEXT & filters.UpdateType.MESSAGE, participant.text_message
        ),
        MessageHandler(
            PRIVATE
            & filters.UpdateType.MESSAGE
            & (
                filters.VOICE
                | filters.AUDIO
                | filters.PHOTO
                | filters.Sticker.ALL
                | filters.Document.ALL
                | filters.VIDEO
                | filters.VIDEO_NOTE
                | filters.ANIMATION
            ),
            participant.media_message,
        ),
        ChatMemberHandler(participant.chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ]


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, menus.offer_menu), group=-2)
    application.add_handlers(facilitator.PRE_HANDLERS, group=-1)  # typed /newcohort steps
    application.add_handlers(build_handlers())


def build_command_list(audience: str = "participant") -> list[BotCommand]:
    """The command menu for an audience, generated from the same table as the handlers."""
    wanted = {"participant"} if audience == "participant" else {"participant", audience}
    return [
        BotCommand(c.name, c.description)
        for c in all_commands()
        if c.audience in wanted and c.name != "start"
    ]
