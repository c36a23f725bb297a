"""Uploads: multipart documents and photos, file ids, downloads."""

from __future__ import annotations

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest

from bot.sandbox import Emulator
from bot.sandbox.people import TINY_PNG
from tests.sandbox.conftest import RawApi

REPORT = b"%PDF-1.4 weekly report \x00\xff"


@pytest.fixture(autouse=True)
def ana(emu: Emulator) -> None:
    emu.user(5).send_text("hi")


async def test_document_upload_bytes_are_retrievable(bot: Bot, emu: Emulator) -> None:
    msg = await bot.send_document(
        5, InputFile(REPORT, filename="report.pdf"), caption="<b>Week 1</b>", parse_mode="HTML"
    )
    assert msg.document is not None
    assert (msg.document.file_name, msg.document.mime_type) == ("report.pdf", "application/pdf")
    assert msg.document.file_size == len(REPORT)
    assert msg.caption == "Week 1" and msg.caption_entities[0].type == "bold"
    stored = emu.bot_messages(5)[-1]
    assert stored.document is not None
    assert (stored.document.name, stored.document.data) == ("report.pdf", REPORT)
    assert stored.caption == "Week 1" and stored.html == "<b>Week 1</b>"
    file = await bot.get_file(msg.document.file_id)
    assert bytes(await file.download_as_bytearray()) == REPORT


async def test_resend_document_by_file_id(bot: Bot, emu: Emulator) -> None:
    first = await bot.send_document(5, REPORT, filename="r.pdf")
    again = await bot.send_document(5, first.document.file_id)
    assert again.document.file_unique_id == first.document.file_unique_id
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await bot.send_document(5, "no-such-file-id")


async def test_remote_urls_are_never_fetched(raw: RawApi) -> None:
    status, body = await raw("sendDocument", chat_id=5, document="https://example.org/a.pdf")
    assert (status, body["description"]) == (400, "Bad Request: failed to get HTTP URL content")


async def test_photo_upload_gives_sizes(bot: Bot, emu: Emulator) -> None:
    msg = await bot.send_photo(5, TINY_PNG, caption="chart")
    assert msg.photo and msg.photo[-1].width == 1 and msg.photo[-1].height == 1
    assert emu.bot_messages(5)[-1].photo == TINY_PNG
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(5, b"definitely not an image")


async def test_unknown_file_download_is_404(bot: Bot, emu: Emulator) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.base_file_url}{emu.token}/documents/nope.pdf") as resp,
    ):
        assert resp.status == 404
    with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
        await bot.get_file("nope")
