"""The health file: `run` writes what its loops are doing every few seconds; `resilience-bot
health` (Docker's healthcheck) reads it and checks the database itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime import Runtime

WRITE_EVERY_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0
"""A file older than this means the bot is not running, or its event loop is stuck."""
UNHEALTHY_AFTER_FAILING_SECONDS = 60.0


async def write_health_file(
    runtime: Runtime, stop: asyncio.Event, beat: Callable[[], None]
) -> None:
    path = runtime.settings.health_file
    while not stop.is_set():
        write(path, runtime.supervisor.snapshot())
        beat()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=WRITE_EVERY_SECONDS)
    write(path, runtime.supervisor.snapshot(), stopped=True)


def write(
    path: Path, loops: dict[str, Any], *, stopped: bool = False, written_at: datetime | None = None
) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "pid": os.getpid(),
        "written_at": (written_at or datetime.now(UTC)).isoformat(),
        "stopped": stopped,
        "loops": loops,
    }
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(body, indent=2), encoding="utf-8")
    partial.replace(path)


def _written_at(body: dict[str, Any], path: Path) -> float:
    """The writer's own clock (the file's mtime is the kernel's, which a faked clock skips)."""
    try:
        return datetime.fromisoformat(body["written_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return path.stat().st_mtime


def problems(path: Path, *, now: float | None = None) -> list[str]:
    """What is wrong according to the health file; empty when all is well."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        age = (now if now is not None else time.time()) - _written_at(body, path)
    except FileNotFoundError:
        return [f"no health file at {path}: is 'resilience-bot run' running?"]
    except (OSError, ValueError) as exc:
        return [f"cannot read the health file {path}: {exc}"]
    if body.get("stopped"):
        return ["the bot has stopped"]
    if age > STALE_AFTER_SECONDS:
        return [f"the health file is {age:.0f} s old: the bot is not running, or is stuck"]
    found = []
    for name, loop in sorted(body.get("loops", {}).items()):
        failing_for = loop.get("failing_for_seconds")
        if loop.get("state") == "stopped":
            found.append(f"{name} has stopped")
        elif failing_for is not None and failing_for >= UNHEALTHY_AFTER_FAILING_SECONDS:
            found.append(
                f"{name} has been failing for {failing_for:.0f} s: {loop.get('last_error')}"
            )
    return found
