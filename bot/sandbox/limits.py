"""Flood control: token buckets per bot and per chat, on an injectable clock."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.errors import too_many_requests


@dataclass
class Bucket:
    """Token bucket holding up to `capacity` tokens, refilled at `rate` tokens per second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class LimitConfig:
    """Telegram's documented limits: ~30 msg/s overall, ~1/s per chat, 20/min per group."""

    global_per_second: float = 30.0
    global_burst: float = 30.0
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0


class RateLimiter:
    def __init__(self, clock: Callable[[], float], config: LimitConfig | None = None):
        self.clock = clock
        self.config = config or LimitConfig()
        now = clock()
        cfg = self.config
        self._global = Bucket(cfg.global_burst, cfg.global_per_second, cfg.global_burst, now)
        self._chats: dict[int, Bucket] = {}

    def _chat_bucket(self, chat_id: int, is_group: bool, now: float) -> Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            cfg = self.config
            if is_group:
                bucket = Bucket(cfg.group_burst, cfg.group_per_minute / 60, cfg.group_burst, now)
            else:
                bucket = Bucket(cfg.private_burst, cfg.private_per_second, cfg.private_burst, now)
            self._chats[chat_id] = bucket
        return bucket

    def acquire(self, chat_id: int, is_group: bool) -> None:
        """Take one token from the bot's and the chat's buckets, or raise 429 with retry_after."""
        now = self.clock()
        chat = self._chat_bucket(chat_id, is_group, now)
        chat.refill(now)
        self._global.refill(now)
        wait = max(chat.wait_time(), self._global.wait_time())
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        chat.tokens -= 1
        self._global.tokens -= 1

    def reset(self) -> None:
        self._chats.clear()
        now = self.clock()
        self._global = Bucket(self._global.capacity, self._global.rate, self._global.capacity, now)
