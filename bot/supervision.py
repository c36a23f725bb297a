"""Every background loop runs supervised: a failure is logged once with its traceback and the
loop restarts with backoff; a loop that keeps failing stops the process with exit code 1, so
the service manager restarts it. A bot that is up but deaf is the failure we never ship."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.failures import short

log = logging.getLogger(__name__)

MIN_FAILURES_TO_EXIT = 5
"""An hourly job that failed twice an hour apart has not "kept failing": exiting also takes
this many failures in a row."""

Beat = Callable[[], None]
"""Called by a loop after each iteration that worked: the loop is healthy again."""


@dataclass
class LoopHealth:
    name: str
    state: str = "starting"  # running, failing, stopped
    failures: int = 0
    failing_since: float | None = None  # monotonic
    retry_at: float = 0.0  # monotonic; jobs skip their runs until then
    last_error: str | None = None

    def as_dict(self, now: float) -> dict[str, Any]:
        failing_for = None if self.failing_since is None else round(now - self.failing_since, 1)
        return {
            "state": self.state,
            "failures": self.failures,
            "failing_for_seconds": failing_for,
            "last_error": self.last_error,
        }


class Supervisor:
    def __init__(
        self,
        *,
        fail_exit_seconds: float,
        backoff_start: float = 1.0,
        backoff_max: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fail_exit_seconds = fail_exit_seconds
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self.monotonic = monotonic
        self.loops: dict[str, LoopHealth] = {}
        self.fatal = asyncio.Event()
        self.fatal_reason: str | None = None

    def health(self, name: str) -> LoopHealth:
        return self.loops.setdefault(name, LoopHealth(name))

    def beat(self, name: str) -> None:
        health = self.health(name)
        if health.failing_since is not None:
            log.info("%s works again after %d failed tries", name, health.failures)
        health.state, health.failures, health.failing_since = "running", 0, None
        health.last_error = None

    def failed(self, name: str, error: BaseException) -> float:
        """Record a failure; returns how long to wait before the next try."""
        health = self.health(name)
        now = self.monotonic()
        health.failures += 1
        health.state = "failing"
        health.last_error = short(error)
        delay = min(self.backoff_start * 2 ** (health.failures - 1), self.backoff_max)
        if health.failing_since is None:
            health.failing_since = now
            log.error("%s failed; retrying in %.0f s", name, delay, exc_info=error)
        else:
            log.warning(
                "%s failed again (%d tries in %.0f s): %s; retrying in %.0f s",
                name,
                health.failures,
                now - health.failing_since,
                health.last_error,
                delay,
            )
        kept_failing = (
            now - health.failing_since >= self.fail_exit_seconds
            and health.failures >= MIN_FAILURES_TO_EXIT
        )
        if kept_failing and not self.fatal.is_set():
            self.fatal_reason = (
                f"{name} has kept failing for {now - health.failing_since:.0f} s "
                f"(LOOP_FAIL_EXIT_SECONDS={self.fail_exit_seconds:g}): {health.last_error}"
            )
            log.critical(
                "%s; exiting so that the service manager restarts the bot", self.fatal_reason
            )
            self.fatal.set()
        health.retry_at = now + delay
        return delay

    async def run_loop(
        self, name: str, loop: Callable[[Beat], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """Run `loop(beat)` until `stop` is set, restarting it with backoff when it raises."""
        self.health(name).state = "running"
        beat = lambda: self.beat(name)  # noqa: E731
        while not stop.is_set():
            try:
                await loop(beat)
            except Exception as exc:  # the supervisor's whole point: nothing escapes unseen
                delay = self.failed(name, exc)
            else:
                if stop.is_set():
                    break
                delay = self.failed(name, RuntimeError(f"{name} returned while the bot runs"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        self.health(name).state = "stopped"

    def job(self, name: str, callback: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Any]:
        """A JobQueue callback that is supervised like a loop: while it is failing, runs are
        skipped until its backoff has passed."""
        health = self.health(name)

        async def supervised(context: Any) -> None:
            if self.monotonic() < health.retry_at:
                return
            try:
                await callback(context)
            except Exception as exc:
                self.failed(name, exc)
            else:
                self.beat(name)

        supervised.__name__ = f"supervised_{name}"
        return supervised

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = self.monotonic()
        return {name: health.as_dict(now) for name, health in sorted(self.loops.items())}
