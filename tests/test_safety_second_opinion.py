"""The safety second opinion against a local fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.services.safety_second_opinion import SecondOpinion, ask_second_opinion

TEXT = "i can't keep going, i want to end it tonight"
LOGGER = "bot.services.safety_second_opinion"


@dataclass
class FakeServer:
    base: str = ""
    reply: Any = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def moderation(flagged: bool, **categories: bool) -> dict[str, Any]:
    return {"id": "modr-1", "results": [{"flagged": flagged, "categories": categories}]}


def chat(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()

    async def record(request: web.Request) -> None:
        raw = await request.read()
        fake.requests.append(
            {"path": request.path, "headers": dict(request.headers), "json": json.loads(raw)}
        )

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response(fake.reply)

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(1.0)
        return web.json_response(moderation(True))

    async def error(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"error": "boom"}, status=500)

    async def garbage(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="<html>not json", content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/moderations", ok)
    app.router.add_post("/v1/chat/completions", ok)
    app.router.add_post("/slow/v1/moderations", slow)
    app.router.add_post("/error/v1/chat/completions", error)
    app.router.add_post("/garbage/v1/moderations", garbage)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.base = f"http://{host}:{port}"
    yield fake
    await runner.cleanup()


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in all_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in all_keys(item)}
    return set()


async def test_moderation_flagged(server: FakeServer) -> None:
    server.reply = moderation(
        True, **{"self-harm": True, "violence": False, "self-harm/intent": True}
    )
    opinion = await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations"))
    assert opinion == SecondOpinion(
        flagged=True, categories=("self-harm", "self-harm/intent"), source="moderation"
    )


async def test_moderation_not_flagged(server: FakeServer) -> None:
    server.reply = moderation(False, **{"self-harm": False, "violence": False})
    opinion = await ask_second_opinion(text="a good walk today", url=server.url("/v1/moderations"))
    assert opinion == SecondOpinion(flagged=False, categories=(), source="moderation")


async def test_chat_flagged_with_json_fence(server: FakeServer) -> None:
    server.reply = chat('\n ```json\n{"risk": true, "category": "self_harm"}\n```  \n')
    opinion = await ask_second_opinion(text=TEXT, url=server.url("/v1/chat/completions"))
    assert opinion == SecondOpinion(flagged=True, categories=("self_harm",), source="chat")
    body = server.requests[0]["json"]
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0


async def test_chat_not_flagged(server: FakeServer) -> None:
    server.reply = chat('{"risk": false, "category": "none"}')
    opinion = await ask_second_opinion(
        text="a good walk today", url=server.url("/v1/chat/completions"), model="local-7b"
    )
    assert opinion == SecondOpinion(flagged=False, categories=(), source="chat")
    assert server.requests[0]["json"]["model"] == "local-7b"


async def test_slow_server_times_out_with_one_warning(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    started = time.monotonic()
    opinion = await ask_second_opinion(
        text=TEXT, url=server.url("/slow/v1/moderations"), timeout=0.3
    )
    assert opinion is None
    assert time.monotonic() - started < 0.9
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "timeout" in warnings[0].getMessage()


async def test_server_error_returns_none(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    opinion = await ask_second_opinion(text=TEXT, url=server.url("/error/v1/chat/completions"))
    assert opinion is None
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert "500" in record.getMessage()


async def test_invalid_json_returns_none(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert await ask_second_opinion(text=TEXT, url=server.url("/garbage/v1/moderations")) is None
    server.reply = chat("I think this is risky")  # 2xx, valid envelope, content not JSON
    assert await ask_second_opinion(text=TEXT, url=server.url("/v1/chat/completions")) is None
    server.reply = {"results": []}
    assert await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations")) is None
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 3
    assert all("unparseable" in r.getMessage() for r in warnings)


async def test_request_carries_only_the_text(server: FakeServer) -> None:
    server.reply = moderation(False)
    await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations"))
    await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations"), model="omni")
    server.reply = chat('{"risk": false, "category": "none"}')
    await ask_second_opinion(text=TEXT, url=server.url("/v1/chat/completions"))
    plain, with_model, chat_body = (r["json"] for r in server.requests)
    assert plain == {"input": TEXT}
    assert with_model == {"input": TEXT, "model": "omni"}
    assert set(chat_body) == {"model", "temperature", "messages"}
    assert all_keys(chat_body) == {"model", "temperature", "messages", "role", "content"}
    assert [m["role"] for m in chat_body["messages"]] == ["system", "user"]
    assert chat_body["messages"][1]["content"] == TEXT
    for request in server.requests:
        dumped = json.dumps(request["json"]).lower()
        for leak in ("user_id", "chat_id", "cohort", '"name":', '"user":', "telegram"):
            assert leak not in dumped


async def test_bearer_header_sent(server: FakeServer) -> None:
    server.reply = moderation(False)
    async with aiohttp.ClientSession() as http:
        await ask_second_opinion(
            text=TEXT, url=server.url("/v1/moderations"), api_key="sk-test", http=http
        )
        assert not http.closed  # a session passed in is not ours to close
    await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations"))
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-test"
    assert "Authorization" not in server.requests[1]["headers"]


async def test_unknown_url_shape_raises_value_error(server: FakeServer) -> None:
    for url in (server.url("/v1/completions"), server.url("/v1/embeddings"), server.base):
        with pytest.raises(ValueError):
            await ask_second_opinion(text=TEXT, url=url)
    assert server.requests == []


async def test_no_log_record_contains_the_text(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.reply = moderation(True, **{"self-harm": True})
    await ask_second_opinion(text=TEXT, url=server.url("/v1/moderations"))
    await ask_second_opinion(text=TEXT, url=server.url("/slow/v1/moderations"), timeout=0.3)
    await ask_second_opinion(text=TEXT, url=server.url("/error/v1/chat/completions"))
    await ask_second_opinion(text=TEXT, url=server.url("/garbage/v1/moderations"))
    await ask_second_opinion(text=TEXT, url="http://127.0.0.1:9/v1/moderations", timeout=0.3)
    assert len([r for r in caplog.records if r.name == LOGGER]) == 4
    for record in caplog.records:
        assert "end it tonight" not in record.getMessage()
        assert "end it tonight" not in str(record.args)
        assert record.exc_info is None
