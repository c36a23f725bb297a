"""Curriculum versions: pin the exact content a cohort runs, and read it back."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.loader import LoadedProgram
from bot.curriculum.schema import Program
from bot.db.models import CurriculumVersion


async def ensure_version(*, session: AsyncSession, loaded: LoadedProgram) -> CurriculumVersion:
    """Get or create the version row for this exact content (by content hash)."""
    content_hash = loaded.program.content_hash()
    existing = (
        await session.exec(
            select(CurriculumVersion).where(CurriculumVersion.content_hash == content_hash)
        )
    ).first()
    if existing is not None:
        return existing
    version = CurriculumVersion(
        program_id=loaded.program.program_id,
        content_hash=content_hash,
        title=loaded.program.title,
        language=loaded.program.language,
        source_path=str(loaded.path),
        content=loaded.program.model_dump(mode="json"),
    )
    session.add(version)
    await session.flush()
    return version


_parsed: dict[str, Program] = {}


def program_of(version: CurriculumVersion) -> Program:
    """The pinned program of a version (parsed once per content hash)."""
    program = _parsed.get(version.content_hash)
    if program is None:
        program = _parsed[version.content_hash] = Program.model_validate(version.content)
    return program
