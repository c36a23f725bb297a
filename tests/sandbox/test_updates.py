"""getUpdates: offsets, limit, long polling, confirmation and 409 Conflict."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import Conflict

from bot.sandbox import Emulator
from tests.sandbox.conftest import RawApi

CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


async def test_updates_are_returned_in_order_and_kept_until_confirmed(
    bot: Bot, emu: Emulator
) -> None:
    ana = emu.user(1)
    for text in ("one", "two", "three"):
        ana.send_text(text)
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["one", "two", "three"]
    ids = [u.update_id for u in first]
    assert ids == sorted(ids) and ids[1] == ids[0] + 1
    again = await bot.get_updates()
    assert [u.update_id for u in again] == ids, "no offset: nothing is confirmed"
    rest = await bot.get_updates(offset=ids[1])
    assert [u.message.text for u in rest] == ["two", "three"]
    assert emu.pending_updates() == 2
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert emu.pending_updates() == 0


async def test_limit_is_clamped_to_1_100(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(1)
    for i in range(120):
        ana.send_text(f"m{i}")
    assert len(await bot.get_updates(limit=2)) == 2
    assert len(await bot.get_updates(limit=0)) == 1
    assert len(await bot.get_updates(limit=500)) == 100
    assert len(await bot.get_updates()) == 100


async def test_negative_offset_keeps_only_the_last_updates(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(1)
    for text in ("a", "b", "c", "d"):
        ana.send_text(text)
    updates = await bot.get_updates(offset=-2)
    assert [u.message.text for u in updates] == ["c", "d"]
    assert emu.pending_updates() == 2


async def test_long_poll_waits_and_wakes_on_new_update(bot: Bot, emu: Emulator) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    emu.user(1).send_text("wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates] == ["wake up"]
    assert loop.time() - started < 2


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= loop.time() - started < 3


async def test_second_poller_terminates_the_first_with_409(emu: Emulator, bot: Bot) -> None:
    async with Bot(emu.token, base_url=emu.base_url) as other:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(Conflict) as info:
            await asyncio.wait_for(first, 2)
        assert str(info.value) == CONFLICT
        emu.user(1).send_text("for the new poller")
        updates = await asyncio.wait_for(second, 2)
        assert [u.message.text for u in updates] == ["for the new poller"]


async def test_conflict_raw_envelope(raw: RawApi) -> None:
    first = asyncio.create_task(raw("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(raw("getUpdates", timeout=1))
    status, body = await asyncio.wait_for(first, 2)
    assert (status, body) == (409, {"ok": False, "error_code": 409, "description": CONFLICT})
    assert (await second)[0] == 200


async def test_get_updates_with_webhook_set_is_409(bot: Bot) -> None:
    await bot.set_webhook("https://example.invalid/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_allowed_updates_filters_new_updates(bot: Bot, emu: Emulator) -> None:
    msg = await _bot_message_with_button(bot, emu)
    await bot.get_updates(offset=-1, allowed_updates=["callback_query"])
    await bot.get_updates(offset=emu.updates()[-1]["update_id"] + 1)
    emu.user(1).send_text("filtered out")
    emu.user(1).press(msg.message_id, "go")
    kinds = [next(k for k in u if k != "update_id") for u in emu.updates()]
    assert kinds == ["callback_query"]


async def _bot_message_with_button(bot: Bot, emu: Emulator):  # type: ignore[no-untyped-def]
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    emu.user(1).send_text("hi")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    return await bot.send_message(1, "pick", reply_markup=markup)
