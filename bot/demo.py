"""`resilience-bot demo`: a whole program, offline, in about a minute.

The Bot API emulator and the real bot run in this process against a temporary SQLite
database; simulated participants join, answer (or skip, pause, block), and one person's chat
is printed as it happens. At the end comes the facilitator's engagement summary.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import textwrap
from datetime import time, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bot.app import build_application
from bot.config import Settings
from bot.db.migrate import upgrade
from bot.db.models import Delivery, DeliveryState, Participant, ParticipantStatus, Response
from bot.db.session import unit_of_work
from bot.runner import running
from bot.runtime import Runtime
from bot.sandbox import Emulator, SentMessage
from bot.sandbox.simulation import SimulatedPerson, keep_answering
from bot.services.catalog import ensure_version
from bot.services.cohorts import create_cohort

PROGRAM_ID = "building-resilience"
NAMES = ["Ana", "Ben", "Chiara", "Dev", "Emeka", "Fatima", "Gus", "Hana", "Ivo", "Jun", "Kai"]
PACKAGED_CURRICULA = Path(__file__).resolve().parents[1] / "curricula"
JOIN_LEAD_SECONDS = 5.0


def _say(line: str = "") -> None:
    print(line, flush=True)


def _bubble(who: str, text: str) -> str:
    body = textwrap.shorten(" ".join(text.split()), width=160, placeholder=" …")
    return f"  {who:>6} │ {body}"


class Transcript:
    """Prints one participant's chat, message by message, as it happens."""

    def __init__(self, emulator: Emulator, user_id: int) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.printed: set[int] = set()

    def flush(self) -> None:
        for message in self.emulator.messages(self.user_id):
            if message.message_id in self.printed:
                continue
            self.printed.add(message.message_id)
            _say(self._render(message))

    def _render(self, message: SentMessage) -> str:
        text = message.text or message.caption or "(attachment)"
        buttons = " ".join(f"[{label}]" for row in message.buttons for label, _ in row)
        who = "bot" if message.from_bot else "them"
        return _bubble(who, f"{text} {buttons}".strip())


def _show_tap(action: str) -> None:
    """Button taps are not messages, so the transcript shows them as they happen."""
    if " taps " in action:
        _say(_bubble("them", action.split(" taps ", 1)[1]))


def _behaviours(count: int, days: int, rng: random.Random) -> list[dict]:
    """Most people answer; some skip days; one pauses and resumes; one blocks the bot."""
    people = []
    for n in range(count):
        skip_rate = 0.0 if n == 0 else rng.choice([0.05, 0.1, 0.25, 0.5])
        skipped = {d for d in range(1, days + 1) if rng.random() < skip_rate}
        people.append({"name": NAMES[n % len(NAMES)], "skipped": skipped})
    if count >= 3:
        people[-2]["pause"] = (5, 9)
    if count >= 4:
        people[-1]["block_on"] = 12
    return people


async def _create_demo_cohort(runtime: Runtime) -> str:
    """A cohort whose day 1 comes a few seconds from now, once everyone has had time to join
    (on a busy machine a short preview day could otherwise pass before they have)."""
    day_seconds = runtime.settings.day_length_seconds or 2.0
    lead = timedelta(seconds=max(JOIN_LEAD_SECONDS, 2 * day_seconds))
    async with unit_of_work(runtime.sessions) as session:
        version = await ensure_version(session=session, loaded=runtime.catalog[PROGRAM_ID])
        cohort = await create_cohort(
            session=session,
            version=version,
            name="Demo cohort",
            start=None,  # starts at `now`
            timezone="UTC",
            delivery_time=time(9),
            now=runtime.now() + lead,
        )
        return cohort.invite_code


async def _summary(runtime: Runtime, days: int) -> None:
    try:
        from bot.services import reports
    except ImportError:  # until the facilitator report exists
        reports = None  # type: ignore[assignment]
    if reports is not None and hasattr(reports, "render_report_text"):
        async with runtime.sessions() as session:
            report = await reports.build_report(
                session=session,
                cohort_id=1,
                now=runtime.now(),
                clock=runtime.program_clock,
                at_risk_days=runtime.settings.at_risk_days,
            )
        _say(reports.render_report_text(report))
        return
    async with runtime.sessions() as session:
        delivered = dict(
            (
                await session.exec(
                    select(Delivery.day, func.count())
                    .where(Delivery.kind == "lesson", Delivery.state == DeliveryState.SENT)
                    .where(col(Delivery.item) == "lesson")
                    .group_by(col(Delivery.day))
                )
            ).all()
        )
        answered = dict(
            (
                await session.exec(
                    select(Response.day, func.count())
                    .where(col(Response.answer_type).in_(["text", "scale", "choice"]))
                    .group_by(col(Response.day))
                )
            ).all()
        )
    _say("Day  lessons delivered  answers stored")
    for day in range(1, days + 1):
        _say(f"{day:>3}  {delivered.get(day, 0):>17}  {answered.get(day, 0):>14}")


async def run_demo(*, participants: int = 8, day_seconds: float = 2.0, seed: int = 1) -> int:
    """Run the default program end to end against the emulator; returns an exit code."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="resilience-demo-") as workdir:
        database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'demo.sqlite3'}"
        await asyncio.to_thread(upgrade, database_url)
        async with Emulator(rate_limits=False) as emulator:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                telegram_bot_token=emulator.token,  # type: ignore[arg-type]
                telegram_api_base_url=emulator.base_url,
                database_url=database_url,
                curricula_dir=PACKAGED_CURRICULA,
                day_length_seconds=day_seconds,
                tick_seconds=min(0.25, day_seconds / 8),
                send_rate_per_second=0,
                log_level="WARNING",
            )
            application = build_application(settings, poll_timeout=1)
            async with running(application) as runtime:
                program = runtime.catalog[PROGRAM_ID].program
                _say(
                    f"resilience-bot demo: “{program.title}”, {program.length_days} days, "
                    f"{participants} simulated participants, one program day every "
                    f"{day_seconds:g} s."
                )
                _say(
                    f"Everything runs here: a local Telegram emulator, the bot, a temporary "
                    f"database. Showing {NAMES[0]}'s chat.\n"
                )
                code = await _create_demo_cohort(runtime)
                await _play(emulator, runtime, code, participants, program.length_days, rng)
                _say("\nFacilitator's summary\n")
                await _summary(runtime, program.length_days)
    return 0


async def _play(
    emulator: Emulator,
    runtime: Runtime,
    code: str,
    count: int,
    days: int,
    rng: random.Random,
) -> None:
    behaviours = _behaviours(count, days, rng)
    people = []
    for n, behaviour in enumerate(behaviours):
        user = emulator.user(7000 + n, first_name=behaviour["name"])
        skipped = behaviour["skipped"]
        people.append(
            SimulatedPerson(
                emulator=emulator,
                user=user,
                scale=str(rng.choice([3, 4, 4, 5])),
                answers_on=lambda day, skipped=skipped: day not in skipped,
                rng=random.Random(n),
                on_action=_show_tap if n == 0 else None,
            )
        )
    transcript = Transcript(emulator, people[0].user.id)
    stop = asyncio.Event()
    answering = asyncio.create_task(keep_answering(people, stop))
    for person in people:
        person.user.send_command("start", code)
    await emulator.wait_for(lambda: all(_consent(emulator, p.user.id) for p in people), 30)
    for person in people:
        person.user.press_button(_consent(emulator, person.user.id), "I agree")

    finished_day = 0
    day_seconds = runtime.settings.day_length_seconds or 2.0
    deadline = asyncio.get_running_loop().time() + (days + 6) * day_seconds + 30
    while asyncio.get_running_loop().time() < deadline:
        transcript.flush()
        day = people[0].day
        if day != finished_day:
            finished_day = day
            _act_on_day(people, behaviours, day)
        if await _everyone_done(runtime):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    transcript.flush()
    stop.set()
    await answering


def _consent(emulator: Emulator, user_id: int) -> SentMessage | None:
    return next(
        (
            m
            for m in emulator.bot_messages(user_id)
            if m.buttons and "Please read before you start" in (m.text or "")
        ),
        None,
    )


def _act_on_day(people: list[SimulatedPerson], behaviours: list[dict], day: int) -> None:
    for person, behaviour in zip(people, behaviours, strict=True):
        pause = behaviour.get("pause")
        if pause and day == pause[0]:
            person.user.send_command("pause")
            _say(f"  ({person.user.first_name} sends /pause)")
        if pause and day == pause[1]:
            person.user.send_command("resume")
            _say(f"  ({person.user.first_name} sends /resume)")
        if behaviour.get("block_on") == day and not person.user.blocked:
            person.user.block()
            _say(f"  ({person.user.first_name} blocks the bot)")


async def _everyone_done(runtime: Runtime) -> bool:
    """True once every participant has finished the program (or left it, or blocked the bot)."""
    still_going = [ParticipantStatus.PENDING, ParticipantStatus.ACTIVE, ParticipantStatus.PAUSED]
    async with runtime.sessions() as session:
        count = (
            await session.exec(select(func.count()).where(col(Participant.status).in_(still_going)))
        ).one()
    return count == 0
