"""Exporting a cohort's answers as CSV (UTF-8 with a BOM, for spreadsheets) or JSON Lines.

Rows are read with a server-side cursor in batches and written as they arrive, so memory stays
constant however many answers a cohort has.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any, NamedTuple, TextIO

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, CurriculumVersion, Participant, Response
from bot.services.catalog import program_of
from bot.services.clock import ProgramClock
from bot.services.reports import DELETED_NAME, CohortNotFound, day_date

FORMATS = ("csv", "jsonl")
COLUMNS = [
    "cohort",
    "participant",
    "participant_id",
    "day",
    "date",
    "prompt_id",
    "prompt",
    "type",
    "answer",
    "answered_at",
    "edited",
]
BOM = "\ufeff"
BATCH = 1000
# Spreadsheets run cells that start like a formula; such text cells get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRow(NamedTuple):
    cohort: str
    participant: str
    participant_id: str
    day: int
    date: date | None
    prompt_id: str
    prompt: str
    type: str
    answer: str
    answered_at: datetime
    edited: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "participant": self.participant,
            "participant_id": self.participant_id,
            "day": self.day,
            "date": self.date.isoformat() if self.date else None,
            "prompt_id": self.prompt_id,
            "prompt": self.prompt,
            "type": self.type,
            "answer": self.answer,
            "answered_at": self.answered_at.isoformat(),
            "edited": self.edited.isoformat() if self.edited else None,
        }

    def as_csv(self) -> list[Any]:
        return [
            _safe_cell(self.cohort),
            _safe_cell(self.participant),
            self.participant_id,
            self.day,
            self.date.isoformat() if self.date else "",
            self.prompt_id,
            _safe_cell(self.prompt),
            self.type,
            _safe_cell(self.answer),
            self.answered_at.isoformat(),
            self.edited.isoformat() if self.edited else "",
        ]


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def answer_text(*, answer_type: str, value: str | None, text: str | None) -> str:
    """What the person answered: the typed text, the scale number, the chosen option's label;
    for media, the caption or the kind of file in brackets."""
    if answer_type == "scale":
        return value or text or ""
    if answer_type in ("text", "choice"):
        return text or value or ""
    return text or f"[{answer_type}]"


async def count_answers(*, session: AsyncSession, cohort_id: int) -> int:
    result = await session.exec(
        select(func.count()).select_from(Response).where(Response.cohort_id == cohort_id)
    )
    return int(result.one())


async def iter_answers(
    *, session: AsyncSession, cohort_id: int, clock: ProgramClock, day: int | None = None
) -> AsyncIterator[ExportRow]:
    """Every stored answer of the cohort (or of one day), by day, participant and time."""
    async for batch in iter_answer_batches(
        session=session, cohort_id=cohort_id, clock=clock, day=day
    ):
        for row in batch:
            yield row


async def iter_answer_batches(
    *, session: AsyncSession, cohort_id: int, clock: ProgramClock, day: int | None = None
) -> AsyncIterator[list[ExportRow]]:
    """Like `iter_answers`, a batch at a time (read with a server-side cursor)."""
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        raise CohortNotFound(cohort_id)
    # Prompt texts are read before streaming: one open cursor per connection at a time.
    version_ids = (
        await session.exec(
            select(Response.curriculum_version_id).where(Response.cohort_id == cohort_id).distinct()
        )
    ).all()
    prompts = {
        v: await _prompt_texts(session, v) for v in {*version_ids, cohort.curriculum_version_id}
    }
    dates: dict[int, date | None] = {}
    query = (
        select(
            Response.curriculum_version_id,
            Response.day,
            Response.prompt_id,
            Response.answer_type,
            Response.value,
            Response.text,
            Response.answered_at,
            Response.edited_at,
            Participant.display_name,
            Participant.pseudonym,
            Participant.data_deleted_at,
        )
        .join(Participant, col(Response.participant_id) == Participant.id)
        .where(Response.cohort_id == cohort_id)
        .order_by(
            col(Response.day),
            col(Response.participant_id),
            col(Response.answered_at),
            col(Response.id),
        )
        .execution_options(yield_per=BATCH)
    )
    if day is not None:
        query = query.where(Response.day == day)
    result = await session.stream(query)
    async for batch in result.partitions(BATCH):  # one await per batch, not per row
        rows = []
        for row in batch:
            (version_id, row_day, prompt_id, answer_type, value, text, answered_at, edited) = row[
                :8
            ]
            name, pseudonym, deleted_at = row[8:]
            if row_day not in dates:
                dates[row_day] = (
                    day_date(cohort=cohort, clock=clock, day=row_day) if row_day >= 1 else None
                )
            deleted = deleted_at is not None
            rows.append(
                ExportRow(
                    cohort=cohort.name,
                    participant=DELETED_NAME if deleted else (name or ""),
                    participant_id=pseudonym,
                    day=row_day,
                    date=dates[row_day],
                    prompt_id=prompt_id,
                    prompt=prompts.get(version_id, {}).get(prompt_id, ""),
                    type=answer_type,
                    answer=DELETED_NAME
                    if deleted
                    else answer_text(answer_type=answer_type, value=value, text=text),
                    answered_at=answered_at,
                    edited=edited,
                )
            )
        yield rows


async def _prompt_texts(session: AsyncSession, version_id: int) -> dict[str, str]:
    version = await session.get(CurriculumVersion, version_id)
    if version is None:
        return {}
    program = program_of(version)
    return {p.id: p.text for d in program.days() for p in d.prompts}


async def write_export(
    *,
    session: AsyncSession,
    cohort_id: int,
    fmt: str,
    out: TextIO,
    clock: ProgramClock,
    day: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write the answers to `out` (opened with newline=''); returns how many rows.

    `on_progress` is called with the running count after each batch.

    CSV starts with a byte-order mark so spreadsheets read it as UTF-8.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    writer = None
    if fmt == "csv":
        out.write(BOM)
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
    count = 0
    async for batch in iter_answer_batches(
        session=session, cohort_id=cohort_id, clock=clock, day=day
    ):
        if writer is not None:
            writer.writerows(row.as_csv() for row in batch)
        else:
            out.write("".join(json.dumps(r.as_json(), ensure_ascii=False) + "\n" for r in batch))
        count += len(batch)
        if on_progress is not None:
            on_progress(count)
    return count
