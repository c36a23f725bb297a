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
import traceback
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
from telegram.error import BadRequest, Conflict, NetworkError
from telegram.ext import Application

from bot.db.models import InboxUpdate
from bot.db.session import is_postgres, unit_of_work
from bot.failures import is_transient, short, where_it_failed
from bot.services.outbox import OutgoingMessage, enqueue
from bot.supervision import Beat
from bot.texts import text

T = TypeVar("T")
log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MAX_UPDATE_ATTEMPTS = 3
POLL_QUIET_RETRIES = 8
"""getUpdates failures retried with one WARNING each (about a minute) before the poll loop
fails for the supervisor: a 409 from a second instance or a webhook must not go unseen."""
"""Tries of an update whose handler fails (not counting database or network outages)."""


class UpdateFailed(Exception):
    """An update could not be handled this time; it stays stored and is tried again."""


def _nothing() -> None:
    pass


async def _no_safety_net(update_id: int, payload: dict[str, Any]) -> None:
    pass


@dataclass
class UpdateScope:
    """What one update's handlers share: its session and whether something failed."""

    session: AsyncSession
    update_id: int
    failed: bool = False
    error: BaseException | None = None
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
        self.on_set_aside: Callable[[int, dict[str, Any]], Awaitable[None]] = _no_safety_net
        self._stored = asyncio.Event()
        self._offset: int | None = None
        self.processed_count = 0

    async def poll(self, stop: asyncio.Event, beat: Beat = _nothing) -> None:
        """Fetch updates, store them, and only then confirm them with the next request.

        The offset survives a restart of this loop: while the database is down, updates stay
        unconfirmed in Telegram and are fetched again once it is back."""
        bot = self.application.bot
        failures = 0
        while not stop.is_set():
            try:
                fetched = await _unless_stopped(
                    stop,
                    bot.get_updates(
                        offset=self._offset,
                        timeout=self.poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                        read_timeout=self.poll_timeout + 10,
                    ),
                )
            except BadRequest:
                raise  # not an outage: the supervisor logs it and backs off
            except (NetworkError, Conflict) as exc:  # TimedOut and 5xx included
                failures += 1
                if failures > POLL_QUIET_RETRIES:  # a minute of this: let it show (health)
                    raise
                delay = min(0.25 * 2**failures, 15)
                log.warning("getUpdates failed (%s); retrying in %.1f s", short(exc), delay)
                await _sleep_or_stop(stop, delay)
                continue
            if fetched is None:  # stopping: nothing fetched, nothing confirmed
                break
            failures = 0
            updates = [update.to_dict() for update in fetched]
            if updates:
                async with unit_of_work(self.sessions) as session:
                    await store_updates(session=session, updates=updates, now=self.now())
                self._offset = max(u["update_id"] for u in updates) + 1
                self._stored.set()
            beat()

    async def process(self, stop: asyncio.Event, beat: Beat = _nothing) -> None:
        """Process stored updates in order, each in its own unit of work."""
        while not stop.is_set():
            handled = await self.process_pending(stop=stop)
            beat()
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
        """Handle one stored update in one transaction.

        A failure because of the database or the network raises UpdateFailed (the supervisor
        retries it with backoff, counting nothing); a failure of the handler itself is counted,
        and after MAX_UPDATE_ATTEMPTS the update is set aside and its sender told, once."""
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
                scope.failed = True
                scope.error = scope.error or exc
            finally:
                current_scope.reset(token)
            if scope.failed:
                await session.rollback()
            else:
                row.processed = True
                row.processed_at = self.now()
                session.add(row)
                try:
                    await session.commit()
                except Exception as exc:  # a constraint that only fails at commit, or an outage
                    await session.rollback()
                    scope.failed, scope.error = True, exc
        if scope.failed:
            await self._failed(update_id, scope.error)
            return
        for chat_id, action in scope.after_commit:
            await self._after_commit(update_id, chat_id, action)
        self.processed_count += 1
        self.on_processed()

    async def _failed(self, update_id: int, error: BaseException | None) -> None:
        error = error or RuntimeError("handler error")
        if is_transient(error):
            raise UpdateFailed(f"update {update_id} could not be handled now: {short(error)}")
        async with unit_of_work(self.sessions) as session:
            row = await session.get(InboxUpdate, update_id)
            if row is None:
                return
            row.attempts += 1
            session.add(row)
            if row.attempts < MAX_UPDATE_ATTEMPTS:
                attempts = row.attempts
            else:
                attempts = 0
                row.processed = True
                row.processed_at = self.now()
                row.error = where_it_failed(error)
                await _tell_the_sender(session, row, self.now())
        # Neither is chained to the error, nor logged with it: a handler's exception message
        # may quote what the person wrote. Where it failed is enough to find the bug.
        if attempts:
            raise UpdateFailed(
                f"update {update_id} failed (try {attempts}): {where_it_failed(error)}"
            )
        log.error(
            "update %s set aside after %d failed tries (%s); "
            "'resilience-bot inbox retry %s' handles it again\n%s",
            update_id,
            MAX_UPDATE_ATTEMPTS,
            where_it_failed(error),
            update_id,
            "".join(traceback.format_tb(error.__traceback__)).rstrip(),
        )
        await self._safety_net(update_id, row.payload)
        self.on_processed()

    async def _safety_net(self, update_id: int, payload: dict[str, Any]) -> None:
        """The update's handlers were rolled back, its safety check with them: run that
        check again on its own, so a crisis message is never lost with a bug."""
        try:
            await self.on_set_aside(update_id, payload)
        except Exception as exc:
            log.error("safety check of set-aside update %s failed: %s", update_id, short(exc))

    async def _after_commit(
        self, update_id: int, chat_id: int | None, action: Callable[[], Awaitable[Any]]
    ) -> None:
        """A direct call (answer a button, edit a message) after the work is saved: it may
        fail without undoing anything, and is not retried (a 429 must not stall the inbox)."""
        try:
            if chat_id is not None:
                await self.pace(chat_id)
            await action()
        except Exception as exc:  # cosmetic (a button answer, a keyboard edit): never fatal
            log.info("after-commit call for update %s failed: %s", update_id, short(exc))


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


async def _tell_the_sender(session: AsyncSession, row: InboxUpdate, now: datetime) -> None:
    """The person whose update was set aside hears so, once, instead of silence."""
    payload = row.payload
    message = payload.get("message") or payload.get("edited_message") or {}
    if not message and "callback_query" in payload:
        message = payload["callback_query"].get("message") or {}
    chat = message.get("chat") or {}
    if chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return
    sender = (payload.get("callback_query") or message).get("from") or {}
    await enqueue(
        session=session,
        messages=[
            OutgoingMessage(
                chat_id=chat["id"],
                text=text("error", sender.get("language_code")),
                kind="reply",
                item="failed",
                scope=f"u{row.update_id}",
                due_at=now,
            )
        ],
    )
