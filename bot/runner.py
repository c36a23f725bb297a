"""Running the application: our own lifecycle, since updates come from the durable inbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot.config import ConfigError, Settings
from bot.health import write_health_file
from bot.runtime import Runtime
from bot.supervision import Beat

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 8.0
"""Within the 10 s a container runtime gives between SIGTERM and SIGKILL."""


@contextlib.asynccontextmanager
async def running(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> AsyncIterator[Runtime]:
    """Start the bot (post_init, job queue, inbox, sender) and stop it cleanly on exit."""
    stop = asyncio.Event()
    await application.initialize()
    tasks: list[asyncio.Task[None]] = []
    try:
        if application.post_init:
            await application.post_init(application)
        runtime: Runtime = application.bot_data["runtime"]
        await runtime.sender.recover_in_flight()
        await application.start()
        supervise = runtime.supervisor.run_loop
        loops: dict[str, Callable[[Beat], Awaitable[None]]] = {
            "poll": lambda beat: runtime.inbox.poll(stop, beat),
            "inbox": lambda beat: runtime.inbox.process(stop, beat),
            "sender": lambda beat: runtime.sender.run(stop, beat),
            "health-file": lambda beat: write_health_file(runtime, stop, beat),
        }
        tasks = [
            asyncio.create_task(supervise(name, loop, stop), name=name)
            for name, loop in loops.items()
        ]
        yield runtime
    finally:
        await _stop_tasks(application, stop, tasks)
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def _stop_tasks(
    application: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    tasks: list[asyncio.Task[None]],
) -> None:
    """Let the inbox finish the update in hand and the sender its requests in flight (paced
    sends that have not started go back to pending), then cancel whatever is still running:
    a transaction is never cut off halfway unless the grace period runs out."""
    stop.set()
    runtime: Runtime | None = application.bot_data.get("runtime")
    if runtime is not None:
        runtime.sender.limiter.stop()
        runtime.sender.wake()
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
    for task in late:
        log.warning(
            "%s did not stop within %s s; cancelling it", task.get_name(), SHUTDOWN_GRACE_SECONDS
        )
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def serve(
    settings: Settings,
    application: Application[Any, Any, Any, Any, Any, Any] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (exit code 0) or until a loop keeps failing (exit code 1)."""
    from bot.app import build_application

    application = application or build_application(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with running(application) as runtime:
        log.info(
            "@%s is running (%s)", application.bot.username, runtime.settings.telegram_api_base_url
        )
        fatal = runtime.supervisor.fatal
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(fatal.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
    if fatal.is_set():
        log.error("stopped: %s", runtime.supervisor.fatal_reason)
        return 1
    log.info("stopped")
    return 0


def check_startup(settings: Settings) -> None:
    """Fail fast, in one line, on what would otherwise surface as a traceback later."""
    from bot.curriculum.loader import CurriculumError, load_catalog
    from bot.db.migrate import upgrade

    try:
        catalog = load_catalog(settings.curricula_dir)
    except CurriculumError as exc:
        raise ConfigError(
            f"CURRICULA_DIR: {exc.problems[0]} (see 'resilience-bot curricula validate')"
        ) from None
    if not catalog:
        raise ConfigError(f"CURRICULA_DIR: no curriculum files in {settings.curricula_dir}")
    try:
        upgrade(settings.database_url)
    except (OSError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"DATABASE_URL: cannot open the database ({reason})") from None


def run_forever(settings: Settings) -> int:
    from bot.logging_setup import configure_logging

    token = settings.require_token()
    configure_logging(settings.log_level, secrets=[token])
    check_startup(settings)
    return asyncio.run(serve(settings))
