"""Pacing sends to Telegram's limits: overall, per private chat, and per group."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A little under Telegram's limits (3 at once, then 1/s per chat; 20/min per group), so that
# network jitter between our clock and Telegram's never turns into a 429.
PRIVATE_BURST = 2
PRIVATE_PER_SECOND = 0.9
GROUP_BURST = 10
GROUP_PER_SECOND = 19 / 60


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    updated: float

    def delay(self, now: float) -> float:
        """Seconds until a token is available (taking it if there is one now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        wait = (1 - self.tokens) / self.per_second
        self.tokens -= 1
        return wait


@dataclass
class RateLimiter:
    """Overall messages per second and Telegram's per-chat limits; `per_second=0` turns all
    pacing off (a local emulator without limits, or a benchmark)."""

    per_second: float
    clock: Callable[[], float] = time.monotonic
    _next_global: float = 0.0
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _paused_until: float = 0.0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: hold every send until `retry_after` has passed."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def stop(self) -> None:
        """The bot is stopping: wake every waiting sender now (they check `stopping`)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def acquire(self, chat_id: int) -> None:
        while (wait := self._paused_until - self.clock()) > 0 and not self.stopping:
            await self._sleep(wait)
        if self.per_second <= 0 or self.stopping:
            return
        chat_wait = self._chat_bucket(chat_id).delay(self.clock())
        now = self.clock()
        slot = max(now, self._next_global)
        self._next_global = slot + 1 / self.per_second
        wait = max(chat_wait, slot - now)
        if wait > 0:
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, cut short when the bot stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _chat_bucket(self, chat_id: int) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 50_000:
                self._forget_idle()
            group = chat_id < 0
            capacity = GROUP_BURST if group else PRIVATE_BURST
            rate = GROUP_PER_SECOND if group else PRIVATE_PER_SECOND
            bucket = self._chats[chat_id] = _Bucket(capacity, rate, capacity, self.clock())
        return bucket

    def _forget_idle(self) -> None:
        now = self.clock()
        self._chats = {
            chat: bucket
            for chat, bucket in self._chats.items()
            if bucket.tokens + (now - bucket.updated) * bucket.per_second < bucket.capacity
        }
