"""Environments for the subprocesses tests start (the CLI, `resilience-bot run`)."""

from __future__ import annotations

import os
from datetime import datetime


def child_env(*, drop: tuple[str, ...] = ("TELEGRAM",), **extra: str) -> dict[str, str]:
    """This process's environment without variables starting with `drop`, plus `extra`.

    Under `faketime -f '@2027-10-31 00:40:00'` every new process starts again at that instant,
    so a child would run minutes behind the test that started it; the child is given the
    test's current (fake) time as its start instead, so both share one clock.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if env.get("FAKETIME", "").startswith("@"):
        env["FAKETIME"] = "@" + datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    env.update(extra)
    return env
