"""The /_sandbox control API, SandboxClient, and the standalone process."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox import Emulator, FaultConfig, SandboxClient, SandboxError

ROOT = Path(__file__).resolve().parents[2]


async def test_client_drives_people_and_reads_state(emu: Emulator, bot: Bot) -> None:
    async with SandboxClient(emu.url) as sb:
        assert (await sb.health())["bot_id"] == emu.bot_id
        sent = await sb.send_text(31, "/start ABC", first_name="Cleo")
        assert sent["entities"][0]["type"] == "bot_command"
        assert emu.user(31).first_name == "Cleo"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
        msg = await bot.send_message(31, "<i>hello</i>", parse_mode="HTML", reply_markup=markup)
        [stored] = await sb.messages(31, bot_only=True)
        assert (stored["text"], stored["html"]) == ("hello", "<i>hello</i>")
        assert stored["buttons"] == [[["OK", "ok"]]]
        query_id = await sb.press(31, msg.message_id, "ok")
        assert await sb.press_button(31, msg.message_id, "OK") != query_id
        await bot.answer_callback_query(query_id, text="done")
        assert (await sb.callback_answer(query_id))["text"] == "done"
        counters = await sb.counters()
        assert counters["requests"]["sendMessage"] == 1
        assert counters["messages_sent"] == 1
        await sb.reset_counters()
        assert (await sb.counters())["messages_sent"] == 0
        assert await sb.pending_updates() == 3
        with pytest.raises(SandboxError, match="no button"):
            await sb.press(31, msg.message_id, "nope")


async def test_client_groups_blocking_faults_and_limits(emu: Emulator, bot: Bot) -> None:
    async with SandboxClient(emu.url) as sb:
        await sb.user(41)
        await sb.group(-900, "Circle")
        await sb.add_bot(-900, 41)
        await sb.post(-900, 41, "hello")
        new_id = await sb.upgrade_to_supergroup(-900, 41)
        await bot.send_message(new_id, "hi super")
        await sb.send_text(42, "hi")
        await sb.block(42)
        with pytest.raises(Exception, match="blocked"):
            await bot.send_message(42, "x")
        await sb.unblock(42)
        await sb.set_faults(FaultConfig(server_error_5xx=1.0))
        assert emu.faults is not None and emu.faults.server_error_5xx == 1.0
        await sb.set_faults(None)
        assert emu.faults is None
        await sb.set_rate_limits(False)
        assert emu.rate_limits is False
        await bot.set_my_commands([("start", "Begin")])
        assert (await sb.commands())["default"][0]["command"] == "start"
        doc = await sb.send_document(42, "a.txt", b"abc")
        assert doc["document"]["file_name"] == "a.txt"


async def test_bulk_text_queues_many_updates(emu: Emulator) -> None:
    async with SandboxClient(emu.url) as sb:
        count = await sb.bulk_text([{"user_id": 100 + i, "text": f"m{i}"} for i in range(50)])
    assert count == 50
    assert emu.pending_updates() == 50


async def test_bulk_users_open_chats_without_updates(emu: Emulator, bot: Bot) -> None:
    async with SandboxClient(emu.url) as sb:
        assert await sb.bulk_users([201, 202, 203]) == 3
        assert await sb.bulk_users([204], open_chat=False) == 1
        assert emu.pending_updates() == 0
        for chat_id in (201, 202, 203):
            await bot.send_message(chat_id, "lesson")
        await bot.send_message(201, "prompt")
        await bot.send_message(202, "lesson")  # the same message twice: a repeat
        with pytest.raises(Exception, match="can't initiate"):
            await bot.send_message(204, "lesson")
        stats = await sb.bot_message_stats()
        assert stats == {"messages": 5, "chats": 3, "repeats": 1}
        with pytest.raises(SandboxError, match="user_ids"):
            await sb._call("POST", "/bulk_users", [1, 2])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_standalone_process() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox", "--port", str(port), "--token", "42:ABC",
        "--no-rate-limits",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with SandboxClient(f"http://127.0.0.1:{port}") as sb:
            for _ in range(100):
                try:
                    await sb.health()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            await sb.send_text(1, "hi")
            async with Bot("42:ABC", base_url=sb.base_url) as bot:
                for i in range(10):
                    await bot.send_message(1, f"fast {i}")
            assert len(await sb.wait_for_messages(1, 10)) == 10
    finally:
        process.terminate()
        output, _ = await asyncio.wait_for(process.communicate(), 10)
    assert f"sandbox listening on http://127.0.0.1:{port}" in output.decode()
    assert process.returncode == 0
