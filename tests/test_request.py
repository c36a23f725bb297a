"""ShardedRequest: Bot API calls spread over several small connection pools."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import Forbidden

from bot.request import ShardedRequest
from bot.sandbox import Emulator


async def test_requests_spread_over_pools_and_errors_come_through() -> None:
    request = ShardedRequest(shards=4, connection_pool_size=2, read_timeout=5)
    used: list[int] = []
    for index, shard in enumerate(request._shards):
        original = shard.do_request

        async def counting(*args, _original=original, _index=index, **kwargs):  # type: ignore[no-untyped-def]
            used.append(_index)
            await asyncio.sleep(0.01)  # stay busy, so the next call picks another pool
            return await _original(*args, **kwargs)

        shard.do_request = counting  # type: ignore[method-assign]
    async with Emulator(rate_limits=False) as emu:
        for user_id in range(1, 9):
            emu.user(user_id).send_text("/start")
        async with Bot(emu.token, base_url=emu.base_url, request=request) as bot:
            used.clear()
            sent = await asyncio.gather(*(bot.send_message(u, f"hi {u}") for u in range(1, 9)))
            assert [m.chat.id for m in sent] == list(range(1, 9))
            assert sorted(used) == [0, 0, 1, 1, 2, 2, 3, 3]  # least busy first
            assert request._busy == [0, 0, 0, 0]
            emu.user(99)  # never opened a chat with the bot
            with pytest.raises(Forbidden):
                await bot.send_message(99, "hello")
            assert request._busy == [0, 0, 0, 0]
    assert [len(emu.bot_messages(u)) for u in range(1, 9)] == [1] * 8


def test_at_least_one_pool() -> None:
    with pytest.raises(ValueError, match="shards"):
        ShardedRequest(shards=0)
