"""The callback context handlers receive: the update's session, the clock, and replies that go
through the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.inbox import UpdateScope, current_scope
from bot.runtime import Runtime
from bot.services.outbox import OutgoingMessage, enqueue


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def runtime(self) -> Runtime:
        return self.application.bot_data["runtime"]  # type: ignore[no-any-return]

    @property
    def scope(self) -> UpdateScope:
        scope = current_scope.get()
        if scope is None:
            raise RuntimeError("handlers run only inside the inbox's unit of work")
        return scope

    @property
    def session(self) -> AsyncSession:
        return self.scope.session

    @property
    def now(self) -> datetime:
        return self.runtime.now()

    async def reply(
        self,
        chat_id: int,
        text: str,
        *,
        markup: dict[str, Any] | None = None,
        kind: str = "reply",
        cohort_id: int | None = None,
        document: dict[str, Any] | None = None,
    ) -> None:
        """Queue a reply in the outbox, keyed by this update so reprocessing never repeats it."""
        scope = self.scope
        scope.replies += 1
        await enqueue(
            session=scope.session,
            messages=[
                OutgoingMessage(
                    chat_id=chat_id,
                    text=text,
                    kind=kind,
                    item=f"r{scope.replies}",
                    scope=f"u{scope.update_id}",
                    due_at=self.now,
                    reply_markup=markup,
                    cohort_id=cohort_id,
                    document=document,
                )
            ],
        )

    def after_commit(self, chat_id: int | None, action: Callable[[], Awaitable[Any]]) -> None:
        """Run a direct Telegram call in `chat_id` (answer a button, edit a message) once the
        work is saved; calls into a chat (`chat_id` given) share the outbox's rate limits."""
        self.scope.after_commit.append((chat_id, action))
