"""Fixtures: an emulator on a fake clock, a python-telegram-bot client and a raw HTTP helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from telegram import Bot

from bot.sandbox import Emulator


class FakeClock:
    """Injectable time source: advances only when told to."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


RawApi = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


@pytest.fixture
async def raw(emu: Emulator) -> AsyncIterator[RawApi]:
    """POST a method as JSON (or form=True) and get (HTTP status, parsed envelope)."""
    async with aiohttp.ClientSession() as session:

        async def call(
            method: str, *, token: str | None = None, form: bool = False, **params: Any
        ) -> tuple[int, dict[str, Any]]:
            url = f"{emu.url}/bot{token or emu.token}/{method}"
            kwargs: dict[str, Any] = {"data": params} if form else {"json": params}
            async with session.post(url, **kwargs) as resp:
                return resp.status, await resp.json()

        yield call
