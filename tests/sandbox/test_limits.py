"""Flood control: 429 with retry_after per private chat, per group and overall."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import RetryAfter

from bot.sandbox import Emulator
from bot.sandbox.errors import ApiError
from bot.sandbox.limits import RateLimiter
from tests.sandbox.conftest import FakeClock, RawApi

# RetryAfter.retry_after warns about its future timedelta type.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_private_chat_allows_a_burst_of_3_then_429(
    bot: Bot, emu: Emulator, clock: FakeClock, raw: RawApi
) -> None:
    emu.user(1).send_text("hi")
    for i in range(3):
        await bot.send_message(1, f"burst {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(1, "too fast")
    assert info.value.retry_after == 1
    status, body = await raw("sendMessage", chat_id=1, text="raw")
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert status == 429
    clock.advance(1.0)
    await bot.send_message(1, "after waiting")
    assert [m.text for m in emu.bot_messages(1)] == [
        "burst 0", "burst 1", "burst 2", "after waiting",
    ]  # fmt: skip
    assert emu.counters.rate_limited == 2
    assert emu.counters.errors[429] == 2


async def test_other_chats_are_not_slowed_by_one_busy_chat(bot: Bot, emu: Emulator) -> None:
    for user_id in (1, 2):
        emu.user(user_id).send_text("hi")
    for _ in range(3):
        await bot.send_message(1, "x")
    await bot.send_message(2, "other chat is fine")


async def test_group_limit_is_20_per_minute(bot: Bot, emu: Emulator, clock: FakeClock) -> None:
    ana = emu.user(3)
    emu.group(-10, "G").add_bot(ana)
    for i in range(20):
        await bot.send_message(-10, f"g{i}")
        clock.advance(0.1)  # stays under the 30/s overall limit
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(-10, "one too many")
    assert info.value.retry_after == 1  # 2 s passed: 2/3 of a token refilled, 1 s missing
    clock.advance(1.0)
    await bot.send_message(-10, "refilled")


def test_global_limit_30_per_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for chat in range(30):
        limiter.acquire(chat, is_group=False)
    with pytest.raises(ApiError) as info:
        limiter.acquire(999, is_group=False)
    assert (info.value.code, info.value.parameters) == (429, {"retry_after": 1})
    clock.advance(1 / 30 + 1e-9)
    limiter.acquire(999, is_group=False)


def test_retry_after_rounds_up_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for _ in range(20):
        limiter.acquire(-1, is_group=True)
    with pytest.raises(ApiError) as info:
        limiter.acquire(-1, is_group=True)
    assert info.value.parameters == {"retry_after": 3}


async def test_rate_limits_off(clock: FakeClock) -> None:
    async with (
        Emulator(rate_limits=False, clock=clock) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        emu.user(1).send_text("hi")
        for i in range(50):
            await bot.send_message(1, f"m{i}")
        assert len(emu.bot_messages(1)) == 50
        assert emu.counters.rate_limited == 0
        emu.rate_limits = True
        for _ in range(3):
            await bot.send_message(1, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "x")


async def test_rejected_requests_do_not_use_the_budget(bot: Bot, emu: Emulator) -> None:
    emu.user(1).send_text("hi")
    for _ in range(5):
        with pytest.raises(Exception, match="Message text is empty"):
            await bot.send_message(1, " ")
    for _ in range(3):
        await bot.send_message(1, "fine")
