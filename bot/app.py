"""The one factory that builds the bot: `run`, the demo and the tests all use it."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.curriculum.loader import load_catalog
from bot.db import crypto
from bot.db.session import create_engine, create_session_factory, unit_of_work
from bot.handlers import data_rights, safety
from bot.handlers.context import BotContext
from bot.handlers.registry import publish_commands, register
from bot.inbox import Inbox
from bot.logging_setup import protect_log_records
from bot.request import ShardedRequest
from bot.runtime import Runtime
from bot.scheduling.digest import DIGEST_INTERVAL_SECONDS, digest_job
from bot.scheduling.ratelimit import RateLimiter
from bot.scheduling.sender import Sender
from bot.scheduling.tick import run_tick
from bot.services.clock import Clock, ProgramClock, SystemClock

log = logging.getLogger(__name__)

TICK_JOB = "tick"


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    poll_timeout: int = 10,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Application; resources open in post_init and close in post_shutdown."""
    token = settings.require_token()
    protect_log_records([token])  # no token or participant words in any log
    crypto.configure(settings.answer_encryption_key, warn=True)
    clock = clock or SystemClock()
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.removesuffix("/bot") + "/file/bot")
        .updater(None)
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(parse_mode="HTML"))
        .post_init(_post_init(settings, clock, poll_timeout))
        .post_shutdown(_post_shutdown)
    )
    builder = builder.request(
        request or ShardedRequest(shards=32, connection_pool_size=4, read_timeout=10)
    )
    builder = builder.get_updates_request(
        HTTPXRequest(connection_pool_size=2, read_timeout=poll_timeout + 10)
    )
    application = builder.build()
    register(application)
    application.add_error_handler(_on_error)
    return application


def _post_init(settings: Settings, clock: Clock, poll_timeout: int):  # type: ignore[no-untyped-def]
    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        engine = create_engine(settings.database_url)
        sessions = create_session_factory(engine)
        limiter = RateLimiter(settings.send_rate_per_second)
        sender = Sender(
            bot=application.bot,
            sessions=sessions,
            now=clock.now,
            limiter=limiter,
            unknown_retry_seconds=settings.unknown_retry_seconds,
        )
        inbox = Inbox(
            application=application,
            sessions=sessions,
            now=clock.now,
            on_processed=sender.wake,
            pace=limiter.acquire,
            poll_timeout=poll_timeout,
        )
        runtime = Runtime(
            settings=settings,
            clock=clock,
            program_clock=ProgramClock(settings.day_length_seconds),
            engine=engine,
            sessions=sessions,
            catalog=load_catalog(settings.curricula_dir),
            sender=sender,
            inbox=inbox,
            bot_username=application.bot.username,
        )
        application.bot_data["runtime"] = runtime
        safety.install(application, runtime)  # crisis-language hooks, escalation job
        data_rights.install(application, runtime)  # retention purge job
        await publish_commands(application.bot, set(settings.facilitator_ids))
        assert application.job_queue is not None
        application.job_queue.run_repeating(
            _tick_job,
            interval=settings.tick_seconds,
            first=0,
            name=TICK_JOB,
            # A stalled loop or downtime across a delivery time must still deliver that day
            # once: run however late (no grace limit), and fold missed runs into one.
            job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        application.job_queue.run_repeating(digest_job, interval=DIGEST_INTERVAL_SECONDS, first=1)

    return post_init


async def _post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    runtime: Runtime | None = application.bot_data.get("runtime")
    if runtime is not None:
        await runtime.engine.dispose()


async def _tick_job(context: BotContext) -> None:
    """Queue everything due, one batch per transaction: the sender starts on the first batch
    while the next is being queued, and 10,000 people due at 09:00 never wait for later ticks."""
    runtime = context.runtime
    more = True
    while more:
        async with unit_of_work(runtime.sessions) as session:
            result = await run_tick(session=session, clock=runtime.program_clock, now=runtime.now())
        if result.anything:
            runtime.sender.wake()
        more = result.more


async def _on_error(update: object, context: BotContext) -> None:
    """Log the error (never the update's text) and let the inbox roll the update back."""
    from bot.inbox import current_scope

    scope = current_scope.get()
    if scope is not None:
        scope.failed = True
    update_id = getattr(update, "update_id", None)
    log.error("error while handling update %s", update_id, exc_info=context.error)
