"""Simulated participants for the end-to-end tests (the demo uses the same ones)."""

from __future__ import annotations

import asyncio

from bot.sandbox.simulation import SimulatedPerson, is_prompt, keep_answering

__all__ = ["Autopilot", "is_prompt", "run_autopilots"]


def Autopilot(emulator, user, scale: str = "4") -> SimulatedPerson:
    """A person who answers every question: scale -> `scale`, choice -> one option, text."""
    return SimulatedPerson(emulator=emulator, user=user, scale=scale)


async def run_autopilots(pilots: list[SimulatedPerson], stop: asyncio.Event) -> None:
    await keep_answering(pilots, stop)
