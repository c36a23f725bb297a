"""The one factory that builds the bot: `run`, the demo and the tests all use it."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.curriculum.loader import load_catalog
from bot.db import crypto
from bot.db.session import create_engine, create_session_factory, unit_of_work
from bot.handlers import data_rights, safety
from bot.handlers.context import BotContext
from bot.handlers.registry import build_command_list, register
from bot.inbox import Inbox, current_scope
from bot.logging_setup import protect_log_records
from bot.request import ShardedRequest
from bot.runtime import Runtime
from bot.scheduling.digest import DIGEST_INTERVAL_SECONDS, digest_job
from bot.scheduling.menus import MENU_SYNC_SECONDS, CommandMenus
from bot.scheduling.ratelimit import RateLimiter
from bot.scheduling.sender import Sender
from bot.scheduling.tick import run_tick
from bot.services.clock import Clock, ProgramClock, SystemClock
from bot.supervision import Supervisor

log = logging.getLogger(__name__)

TICK_JOB = "tick"
LATE_OK = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
"""A stalled loop or downtime across a delivery time must still deliver that day once: jobs
run however late (no grace limit), and missed runs fold into one."""


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
            sending_lease_seconds=settings.sending_lease_seconds,
        )
        inbox = Inbox(
            application=application,
            sessions=sessions,
            now=clock.now,
            on_processed=sender.wake,
            pace=limiter.acquire,
            poll_timeout=poll_timeout,
        )
        menus = CommandMenus(
            bot=application.bot,
            sessions=sessions,
            now=clock.now,
            admin_ids=settings.facilitator_ids,
            default_menu=build_command_list(),
            facilitator_menu=build_command_list("facilitator"),
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
            supervisor=Supervisor(fail_exit_seconds=settings.loop_fail_exit_seconds),
            menus=menus,
            bot_username=application.bot.username,
        )
        application.bot_data["runtime"] = runtime
        safety.install(application, runtime)  # crisis-language hooks, escalation job
        data_rights.install(application, runtime)  # retention purge job
        assert application.job_queue is not None
        supervised = runtime.supervisor.job
        application.job_queue.run_repeating(
            supervised(TICK_JOB, _tick_job),
            interval=settings.tick_seconds,
            first=0,
            name=TICK_JOB,
            job_kwargs=LATE_OK,
        )
        for name, job, interval in (
            ("digest", digest_job, DIGEST_INTERVAL_SECONDS),
            ("menus", _menus_job, MENU_SYNC_SECONDS),
        ):
            callback = supervised(name, job)
            # An interval job whose first run is due before the scheduler starts would wait a
            # whole interval: the first run is a job of its own.
            application.job_queue.run_once(callback, when=0, name=name, job_kwargs=LATE_OK)
            application.job_queue.run_repeating(
                callback, interval=interval, first=interval, name=name, job_kwargs=LATE_OK
            )

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


async def _menus_job(context: BotContext) -> None:
    await context.runtime.menus.sync()


async def _on_error(update: object, context: BotContext) -> None:
    """Hand a handler's error to the inbox, which rolls the update back and decides whether to
    try again (an outage) or set it aside (a bug); it logs it, once. Errors outside an update
    (none are expected: jobs are supervised) are logged here."""
    scope = current_scope.get()
    if scope is not None:
        scope.failed = True
        scope.error = context.error
        return
    log.error("error outside an update", exc_info=context.error)
