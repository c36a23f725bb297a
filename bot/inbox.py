"""The durable inbox: updates are stored before Telegram is told they arrived, then processed
from the store, one database session per update.

python-telegram-bot's own polling confirms updates before the handlers have run; a crash in
between would lose them. Here the next getUpdates call (which confirms) only happens after the
batch is committed, and an update is marked processed in the same transaction as its effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, TimedOut
from telegram.ext import Application

from bot.db.models import InboxUpdate
from bot.db.session import is_postgres, unit_of_work

T = TypeVar("T")
log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


@dataclass
class UpdateScope:
    """What one update's handlers share: its session and whether something failed."""

    session: AsyncSession
    update_id: int
    failed: bool = False
    replies: int = 0
    after_commit: list[tuple[int | None, Callable[[], Awaitable[Any]]]] = field(
        default_factory=list
    )


current_scope: ContextVar[UpdateScope | None] = ContextVar("current_scope", default=None)


async def store_updates(
    *, session: AsyncSession, updates: list[dict[str, Any]], now: datetime
) -> int:
    if not updates:
        return 0
    rows = [
        {"update_id": u["update_id"], "payload": u, "processed": False, "received_at": now}
        for u in updates
    ]
    dialect = postgresql if is_postgres(session) else sqlite
    statement = dialect.insert(InboxUpdate).values(rows).on_conflict_do_nothing()
    result = await session.exec(statement)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


class Inbox:
    def __init__(
        self,
        *,
        application: Application,  # type: ignore[type-arg]
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        on_processed: Callable[[], None],
        pace: Callable[[int], Awaitable[None]],
        poll_timeout: int = 10,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self.now = now
        self.on_processed = on_processed
        self.pace = pace
        self.poll_timeout = poll_timeout
        self._stored = asyncio.Event()
        self.processed_count = 0

    async def poll(self, stop: asyncio.Event) -> None:
        """Fetch updates, store them, and only then confirm them with the next request."""
        offset: int | None = None
        bot = self.application.bot
        failures = 0
        while not stop.is_set():
            try:
                fetched = await _unless_stopped(
                    stop,
                    bot.get_updates(
                        offset=offset,
                        timeout=self.poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                        read_timeout=self.poll_timeout + 10,
                    ),
                )
            except (TimedOut, NetworkError, Conflict) as exc:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", exc.__class__.__name__)
                await _sleep_or_stop(stop, min(0.25 * 2**failures, 15))
                continue
            if fetched is None:  # stopping: nothing fetched, nothing confirmed
                break
            failures = 0
            updates = [update.to_dict() for update in fetched]
            if not updates:
                continue
            async with unit_of_work(self.sessions) as session:
                await store_updates(session=session, updates=updates, now=self.now())
            offset = max(u["update_id"] for u in updates) + 1
            self._stored.set()

    async def process(self, stop: asyncio.Event) -> None:
        """Process stored updates in order, each in its own unit of work."""
        while not stop.is_set():
            handled = await self.process_pending(stop=stop)
            if handled:
                continue
            self._stored.clear()
            waiter = asyncio.create_task(self._stored.wait())
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait(
                    {waiter, stopper}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                )
            finally:  # also when this task is cancelled (shutdown): no waiter left pending
                waiter.cancel()
                stopper.cancel()

    async def process_pending(self, limit: int = 100, stop: asyncio.Event | None = None) -> int:
        """Process up to `limit` stored updates; when `stop` is set, finish the current one and
        leave the rest stored for the next start."""
        async with self.sessions() as session:
            ids = list(
                (
                    await session.exec(
                        select(InboxUpdate.update_id)
                        .where(col(InboxUpdate.processed).is_(False))
                        .order_by(col(InboxUpdate.update_id))
                        .limit(limit)
                    )
                ).all()
            )
        for done, update_id in enumerate(ids):
            if stop is not None and stop.is_set():
                return done
            await self.process_one(update_id)
        return len(ids)

    async def process_one(self, update_id: int) -> None:
        async with self.sessions() as session:
            row = await session.get(InboxUpdate, update_id)
            if row is None or row.processed:
                return
            scope = UpdateScope(session=session, update_id=update_id)
            token = current_scope.set(scope)
            try:
                update = Update.de_json(row.payload, self.application.bot)
                await self.application.process_update(update)
            except Exception as exc:  # process_update hands handler errors to the error handler
                log.exception("update %s could not be processed", update_id)
                scope.failed = True
                scope.after_commit.clear()
                failure: Exception | None = exc
            else:
                failure = None
            finally:
                current_scope.reset(token)
            if scope.failed:
                await session.rollback()
                await self._mark_failed(update_id, failure)
            else:
                row.processed = True
                row.processed_at = self.now()
                session.add(row)
                await session.commit()
        for chat_id, action in scope.after_commit:
            try:
                if chat_id is not None:
                    await self.pace(chat_id)
                await action()
            except (BadRequest, Forbidden, NetworkError) as exc:
                log.info("after-commit call for update %s failed: %s", update_id, exc)
        self.processed_count += 1
        self.on_processed()

    async def _mark_failed(self, update_id: int, error: Exception | None) -> None:
        """A failing update is set aside (kept, with its error) so it cannot block the queue."""
        async with unit_of_work(self.sessions) as session:
            row = await session.get(InboxUpdate, update_id)
            if row is not None:
                row.processed = True
                row.processed_at = self.now()
                row.error = repr(error) if error else "handler error (see log)"
                session.add(row)


async def _unless_stopped(stop: asyncio.Event, request: Awaitable[T]) -> T | None:
    """The request's result, or None once `stop` is set first (the request is cancelled: it
    only waits on the network, never on the database)."""
    fetch = asyncio.ensure_future(request)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch  # let the cancelled request unwind before we go on
    if fetch.cancelled():
        return None
    return fetch.result()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
