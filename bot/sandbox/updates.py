"""The bot's update queue with getUpdates semantics (offsets, long polling, 409 Conflict)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from bot.sandbox.errors import conflict

# Telegram's default when allowed_updates was never given.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT_TEXT = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


class _Poll:
    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.terminated = False


class UpdateQueue:
    def __init__(self, first_update_id: int):
        self._updates: deque[dict[str, Any]] = deque()
        self._next_id = first_update_id
        self._poll: _Poll | None = None
        self.allowed: frozenset[str] | None = None
        self.closed = False

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of the given kind; None when allowed_updates filters it out."""
        if self.allowed is not None and kind not in self.allowed:
            return None
        if self.allowed is None and kind in DEFAULT_EXCLUDED:
            return None
        update_id = self._next_id
        self._next_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        if self._poll is not None:
            self._poll.wake.set()
        return update_id

    def confirm(self, offset: int) -> None:
        """offset > 0 forgets updates below it; offset < 0 keeps only the last -offset."""
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()

    def pending(self) -> int:
        return len(self._updates)

    def peek(self) -> list[dict[str, Any]]:
        return list(self._updates)

    def clear(self) -> None:
        self._updates.clear()

    def set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is not None:
            self.allowed = frozenset(allowed) if allowed else None

    async def get(
        self,
        offset: int,
        limit: int,
        timeout: float,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """getUpdates: a newer call terminates a waiting one with 409 Conflict."""
        if self._poll is not None:
            self._poll.terminated = True
            self._poll.wake.set()
            self._poll = None
        self.confirm(offset)
        if not self._updates and timeout > 0 and not self.closed:
            poll = _Poll()
            self._poll = poll
            try:
                await asyncio.wait_for(poll.wake.wait(), timeout)
            except TimeoutError:
                pass
            finally:
                if self._poll is poll:
                    self._poll = None
            if poll.terminated:
                raise conflict(CONFLICT_TEXT)
        return list(self._updates)[:limit]

    def close(self) -> None:
        """Wake a waiting poller (server shutdown)."""
        self.closed = True
        if self._poll is not None:
            self._poll.wake.set()
