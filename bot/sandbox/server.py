"""aiohttp application serving the Bot API (/bot<token>/<method>) and files."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bot.sandbox.errors import ApiError, bad_request, not_found, too_many_requests, unauthorized
from bot.sandbox.faults import Fault
from bot.sandbox.methods import HANDLERS
from bot.sandbox.spec import Upload, bind, ensure_known, fields_of

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.world import World

EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")
log = logging.getLogger(__name__)
TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
MAX_BODY = 60 * 1024 * 1024
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _note_unknown_parameters(world: World, method: str, raw: dict[str, Any]) -> None:
    """Telegram ignores a parameter a method does not take, which hides the bug: note it."""
    for key in sorted(set(raw) - set(fields_of(method))):
        problem = f"{method} does not take the parameter {key!r} (Bot API spec)"
        log.error("sandbox: %s", problem)
        world.violations.append(problem)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string plus JSON, urlencoded or multipart body; multipart files become Uploads."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.can_read_body:
        return raw, uploads
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected")
        raw.update(body)
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read(decode=False))
                content_type = part.headers.get("Content-Type")
                uploads[part.name] = Upload(part.filename, content_type, data)
            else:
                raw[part.name] = await part.text()
    else:
        form = await request.post()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    return raw, uploads


async def handle_api(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR_KEY]
    world = emu.world
    try:
        token = request.match_info["token"]
        if not TOKEN_RE.match(token):
            raise not_found()
        if token != world.token:
            raise unauthorized()
        name = ensure_known(request.match_info["method"])
        world.counters.requests[name] += 1
        handler = HANDLERS.get(name)
        if handler is None:
            raise ApiError(501, f"Not Implemented: {name} is not emulated by the sandbox")
        raw, uploads = await read_params(request)
        _note_unknown_parameters(world, name, raw)
        fault = emu.injector.draw(name)
        await _fault_before(emu, fault)
        result = await handler(world, bind(name, raw, uploads))
        if fault is Fault.LOST_RESPONSE:
            world.counters.lost_responses += 1
            await _lose_response(emu, request)
        return reply({"ok": True, "result": result})
    except ApiError as exc:
        world.counters.errors[exc.code] += 1
        return reply(exc.envelope(), status=exc.code)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception as exc:  # a sandbox bug: answer in Telegram's envelope, loudly
        log.exception("sandbox failed on %s", request.path)
        world.counters.errors[500] += 1
        error = ApiError(500, f"Internal Server Error: sandbox bug: {exc!r}")
        return reply(error.envelope(), status=500)


async def _fault_before(emu: Emulator, fault: Fault | None) -> None:
    """Injected faults that stop the request before its action is taken."""
    config = emu.injector.config
    if fault is None or config is None:
        return
    counters = emu.world.counters
    if fault is Fault.RATE_LIMIT:
        counters.rate_limited += 1
        counters.rate_limited_injected += 1
        raise too_many_requests(config.retry_after)
    if fault is Fault.SERVER_ERROR:
        counters.server_errors += 1
        raise ApiError(*emu.injector.server_error())
    if fault is Fault.TIMEOUT:
        counters.timeouts += 1
        await asyncio.sleep(config.timeout_delay)
        raise ApiError(504, "Gateway Timeout")


async def _lose_response(emu: Emulator, request: web.Request) -> None:
    config = emu.injector.config
    if config is not None and config.lost_response_mode == "delay":
        await asyncio.sleep(config.timeout_delay)
        return
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError  # the client sees the connection drop, no response


async def handle_file(request: web.Request) -> web.StreamResponse:
    world = request.app[EMULATOR_KEY].world
    if request.match_info["token"] != world.token:
        return reply(unauthorized().envelope(), status=401)
    record = world.files_by_path.get(request.match_info["path"])
    if record is None:
        return reply(not_found().envelope(), status=404)
    return web.Response(body=record.data, content_type=record.mime or "application/octet-stream")


def build_app(emu: Emulator, *, control_api: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[EMULATOR_KEY] = emu
    app.router.add_route("*", "/bot{token}/{method}", handle_api)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)
    if control_api:
        from bot.sandbox.control import add_control_routes

        add_control_routes(app)
    return app
