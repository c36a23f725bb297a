"""The sender: claims due outbox rows, sends them within Telegram's limits, records the result.

States: pending -> sending -> sent / failed / unknown. A read timeout leaves a row `unknown`
(Telegram may or may not have delivered it); unknown rows are sent again after
`unknown_retry_seconds`, so a duplicate can only come from a row whose fate was unknown.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.db.models import Cohort, Delivery, DeliveryState, Participant
from bot.db.session import is_postgres, unit_of_work
from bot.failures import short
from bot.services.participants import mark_blocked

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
BATCH = 500
CONCURRENCY = 64


@dataclass
class SendResult:
    delivery_id: int
    chat_id: int
    state: DeliveryState
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    blocked: bool = False
    migrated_to: int | None = None
    attempted: bool = True  # False: refused before sending (a 429, or stopping): not counted


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    retried: int = 0
    rate_limited: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))


_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError)


def _fate_unknown(error: NetworkError) -> bool:
    """Did the request reach Telegram and we just never heard back?

    Connection, pool and write failures mean the request never arrived (safe to retry); an
    HTTP error status (5xx) means Telegram answered and did not send. A read timeout or a
    connection dropped while waiting for the answer leaves the message's fate unknown.
    """
    cause = error.__cause__
    if cause is None or isinstance(cause, _NEVER_SENT):
        return False
    return isinstance(cause, httpx.HTTPError)


class Sender:
    def __init__(
        self,
        *,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        limiter: Any,
        unknown_retry_seconds: float,
        sending_lease_seconds: float = 30.0,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.now = now
        self.limiter = limiter
        self.unknown_retry = timedelta(seconds=unknown_retry_seconds)
        self.lease = timedelta(seconds=sending_lease_seconds)
        self._held: set[int] = set()  # rows this sender has claimed and not yet recorded
        self.stats = SenderStats()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(
        self, stop: asyncio.Event, beat: Callable[[], None] = lambda: None, idle: float = 1.0
    ) -> None:
        """Send until `stop`; a failing batch raises to the supervisor, which restarts this."""
        while not stop.is_set():
            handled = await self.drain_once()
            beat()
            if handled:
                continue
            self._wake.clear()
            waiter = asyncio.create_task(self._wake.wait())
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait(
                    {waiter, stopper}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
                )
            finally:  # also when this task is cancelled (shutdown): no waiter left pending
                waiter.cancel()
                stopper.cancel()

    async def recover_in_flight(self) -> int:
        """Rows left `sending` by a crash may or may not have gone out: mark them unknown."""
        async with unit_of_work(self.sessions) as session:
            result = await session.exec(
                update(Delivery)  # type: ignore[call-overload]
                .where(col(Delivery.state) == DeliveryState.SENDING)
                .values(state=DeliveryState.UNKNOWN, last_error="in flight at shutdown")
            )
            return int(result.rowcount or 0)

    async def sweep_expired_leases(self, now: datetime) -> int:
        """Rows left `sending` past their lease by a send task that died (while this process
        lives on) become `unknown`, and are resent like any row whose fate is unknown."""
        async with unit_of_work(self.sessions) as session:
            stale = (
                await session.exec(
                    select(Delivery.id)
                    .where(col(Delivery.state) == DeliveryState.SENDING)
                    .where(col(Delivery.claimed_at) <= now - self.lease)
                )
            ).all()
            expired = [row_id for row_id in stale if row_id not in self._held]
            if expired:
                await session.exec(
                    update(Delivery)  # type: ignore[call-overload]
                    .where(col(Delivery.id).in_(expired))
                    .where(col(Delivery.state) == DeliveryState.SENDING)
                    .values(state=DeliveryState.UNKNOWN, last_error="sending lease expired")
                )
        if expired:
            log.warning("%d deliveries were left sending past their lease; resending", len(expired))
        return len(expired)

    async def drain_once(self) -> int:
        """Claim one batch of due rows, send them, record the results. Returns rows handled."""
        if self.limiter is not None and self.limiter.stopping:
            return 0
        now = self.now()
        await self.sweep_expired_leases(now)
        batch = await self._claim(now)
        if not batch:
            return 0
        held = {row.id for row in batch}
        self._held |= held  # type: ignore[arg-type]
        handled = await self._send_batch(batch)
        # Released only once recorded: an unrecorded row stays `sending` and held, so the
        # lease sweep never resends what already went out (a restart makes it `unknown`).
        self._held -= held  # type: ignore[arg-type]
        return handled

    async def _send_batch(self, batch: list[Delivery]) -> int:
        by_chat: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in batch:
            by_chat[delivery.chat_id].append(delivery)
        semaphore = asyncio.Semaphore(CONCURRENCY)
        results: list[SendResult] = []

        async def send_chat(rows: list[Delivery]) -> None:
            async with semaphore:
                await self._send_chat(rows, results)

        try:
            await asyncio.gather(*map(send_chat, by_chat.values()))
        finally:
            # Also when cancelled at shutdown: what came back is recorded (a send cut off on
            # the wire stays `sending` and becomes `unknown` at the next start).
            if results:
                await self._record_with_retries(results)
        return len(batch)

    async def _record_with_retries(self, results: list[SendResult]) -> None:
        """What was sent must be written down, or it would be sent again: a database blip
        is waited out (the results stay in memory) before giving up."""
        for delay in RECORD_RETRY_DELAYS:
            try:
                await self._record(results)
                return
            except Exception as exc:  # the database: anything else would fail again too
                log.warning("recording %d sends failed (%s); retrying", len(results), short(exc))
                await asyncio.sleep(delay)
        await self._record(results)

    async def _claim(self, now: datetime) -> list[Delivery]:
        async with unit_of_work(self.sessions) as session:
            await session.exec(
                update(Delivery)  # type: ignore[call-overload]
                .where(col(Delivery.state) == DeliveryState.UNKNOWN)
                .where(col(Delivery.claimed_at) <= now - self.unknown_retry)
                .where(col(Delivery.attempts) < MAX_ATTEMPTS)
                .values(state=DeliveryState.PENDING)
            )
            query = (
                select(Delivery)
                .where(col(Delivery.state) == DeliveryState.PENDING)
                .where(col(Delivery.due_at) <= now)
                .order_by(col(Delivery.id))
                .limit(BATCH)
            )
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True)
            waiting = await _first_waiting_retry(session, now)
            rows = [
                row
                for row in (await session.exec(query)).all()
                if row.id < waiting.get(row.chat_id, row.id + 1)  # type: ignore[operator]
            ]
            for row in rows:
                row.state = DeliveryState.SENDING
                row.claimed_at = now
                row.attempts += 1
                session.add(row)
            return rows

    async def _send_chat(self, rows: list[Delivery], results: list[SendResult]) -> None:
        """Send one chat's rows in order.

        A row that must wait (429, a retryable error) holds back the rows after it, so the
        chat keeps its order; a blocked chat fails them all. A row whose fate is unknown does
        not hold the others back: it most likely arrived.
        """
        for index, row in enumerate(rows):
            result = await self._send_one(row)
            results.append(result)
            if result.blocked or result.state == DeliveryState.PENDING:
                for later in rows[index + 1 :]:
                    results.append(
                        SendResult(
                            later.id,  # type: ignore[arg-type]
                            later.chat_id,
                            DeliveryState.FAILED if result.blocked else DeliveryState.PENDING,
                            error=result.error if result.blocked else None,
                            retry_at=result.retry_at,
                            attempted=False,
                        )
                    )
                break

    async def _send_one(self, row: Delivery) -> SendResult:
        await self.limiter.acquire(row.chat_id)
        if self.limiter.stopping:  # not sent: back to pending, for the next start
            return self._retry(row, "not sent: the bot was stopping", 0, count_attempt=False)
        try:
            return await self._attempt(row)
        except Exception as exc:  # anything unforeseen costs one try, never the whole batch
            log.warning(
                "delivery %s to %s failed unexpectedly (%s)", row.id, row.chat_id, short(exc)
            )
            return self._retry(row, f"unexpected: {short(exc)}", _backoff(row.attempts))

    async def _attempt(self, row: Delivery) -> SendResult:
        try:
            message_id = await self._deliver(row, row.chat_id)
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self.limiter.pause(seconds)
            self.stats.rate_limited += 1
            return self._retry(row, f"429 retry after {seconds}s", seconds, count_attempt=False)
        except ChatMigrated as exc:
            try:
                message_id = await self._deliver(row, exc.new_chat_id)
            except Forbidden as forbidden:
                return self._failed(row, str(forbidden))
            except BadRequest as bad:
                return self._failed(row, str(bad))
            self.stats.sent += 1
            return SendResult(
                row.id,  # type: ignore[arg-type]
                row.chat_id,
                DeliveryState.SENT,
                message_id,
                migrated_to=exc.new_chat_id,
            )
        except Forbidden as exc:
            result = self._failed(row, str(exc))
            result.blocked = True
            return result
        except BadRequest as exc:
            return self._failed(row, str(exc))
        except NetworkError as exc:  # TimedOut included
            if not _fate_unknown(exc):
                seconds = _backoff(row.attempts)
                log.warning(
                    "delivery %s to %s not sent (%s); retrying in %.0f s",
                    row.id,
                    row.chat_id,
                    short(exc),
                    seconds,
                )
                return self._retry(row, f"not sent: {short(exc)}", seconds)
            self.stats.unknown += 1
            return SendResult(
                row.id,  # type: ignore[arg-type]
                row.chat_id,
                DeliveryState.UNKNOWN,
                error=f"no answer: {exc}",
            )
        self.stats.sent += 1
        self.stats.by_kind[row.kind] += 1
        return SendResult(row.id, row.chat_id, DeliveryState.SENT, message_id)  # type: ignore[arg-type]

    async def _deliver(self, row: Delivery, chat_id: int) -> int:
        markup = InlineKeyboardMarkup.de_json(row.reply_markup, None) if row.reply_markup else None
        if row.document and row.document.get("as_photo"):
            message = await self.bot.send_photo(
                chat_id=chat_id,
                photo=base64.b64decode(row.document["content_b64"]),
                caption=row.text or None,
                parse_mode=ParseMode.HTML,
            )
        elif row.document:
            message = await self.bot.send_document(
                chat_id=chat_id,
                document=base64.b64decode(row.document["content_b64"]),
                filename=row.document["filename"],
                caption=row.text or None,
                parse_mode=ParseMode.HTML,
            )
        else:
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=row.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        return message.message_id

    def _retry(
        self, row: Delivery, error: str, seconds: float, *, count_attempt: bool = True
    ) -> SendResult:
        if count_attempt and row.attempts >= MAX_ATTEMPTS:
            return self._failed(row, f"gave up after {row.attempts} attempts: {error}")
        self.stats.retried += 1
        return SendResult(
            row.id,  # type: ignore[arg-type]
            row.chat_id,
            DeliveryState.PENDING,
            error=error,
            retry_at=self.now() + timedelta(seconds=seconds),
            attempted=count_attempt,
        )

    def _failed(self, row: Delivery, error: str) -> SendResult:
        self.stats.failed += 1
        if row.kind == "alert":  # a safety alert that does not arrive must never be quiet
            log.error("safety alert delivery %s to %s failed: %s", row.id, row.chat_id, error)
        else:
            log.info("delivery %s failed: %s", row.id, error)
        return SendResult(row.id, row.chat_id, DeliveryState.FAILED, error=error)  # type: ignore[arg-type]

    async def _record(self, results: list[SendResult]) -> None:
        """Write every result of a batch: one UPDATE per kind of outcome, not one per row."""
        now = self.now()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for result in results:
            values: dict[str, Any] = {"state": result.state, "last_error": result.error}
            if result.state == DeliveryState.SENT:
                values.update(telegram_message_id=result.message_id, sent_at=now)
            elif result.state == DeliveryState.PENDING:
                values["due_at"] = result.retry_at or now
                if result.error is None:
                    values.pop("last_error")
            elif result.state == DeliveryState.FAILED:
                values["remind_at"] = None
            values["_id"] = result.delivery_id
            groups[tuple(sorted(values))].append(values)
        table = Delivery.__table__  # type: ignore[attr-defined]
        by_id = update(table).where(table.c.id == bindparam("_id"))
        not_attempted = [r.delivery_id for r in results if not r.attempted]
        async with unit_of_work(self.sessions) as session:
            for rows in groups.values():
                # Executed once per parameter set; the SET clause is the other keys.
                await session.exec(by_id, params=rows)  # type: ignore[call-overload]
            if not_attempted:  # the claim counted an attempt that never happened
                await session.exec(
                    update(table)  # type: ignore[call-overload]
                    .where(table.c.id.in_(not_attempted))
                    .values(attempts=table.c.attempts - 1)
                )
            for result in results:
                if result.blocked:
                    await mark_blocked(session=session, chat_id=result.chat_id, now=now)
                if result.migrated_to is not None:
                    await _migrate_chat(session, result.chat_id, result.migrated_to)


async def _first_waiting_retry(session: AsyncSession, now: datetime) -> dict[int, int]:
    """Chat -> its earliest row waiting to be retried. A chat's later rows wait for it, so a
    question never arrives before the lesson whose send failed a moment ago. (Everything is
    queued due at once; only retries are due later, so this reads a handful of rows.)"""
    rows = await session.exec(
        select(Delivery.chat_id, func.min(Delivery.id))
        .where(col(Delivery.state) == DeliveryState.PENDING)
        .where(col(Delivery.due_at) > now)
        .group_by(col(Delivery.chat_id))
    )
    return {chat_id: first for chat_id, first in rows.all()}


async def _migrate_chat(session: AsyncSession, old: int, new: int) -> None:
    """A group became a supergroup: every reference to the old chat id moves to the new one."""
    for model, column in ((Cohort, Cohort.group_chat_id), (Participant, Participant.chat_id)):
        await session.exec(
            update(model).where(col(column) == old).values({column.key: new})  # type: ignore[call-overload, attr-defined]
        )
    await session.exec(
        update(Delivery)  # type: ignore[call-overload]
        .where(col(Delivery.chat_id) == old)
        .where(col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.UNKNOWN]))
        .values(chat_id=new)
    )


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


def _backoff(attempts: int) -> float:
    return min(2 ** max(attempts - 1, 0), 60) * random.uniform(0.5, 1.0)
