"""Shared benchmark plumbing: the emulator process, databases, bulk enrollment, results."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config import Settings
from bot.curriculum.loader import LoadedProgram, load_catalog
from bot.db.migrate import upgrade
from bot.db.models import Participant, ParticipantStatus
from bot.db.session import create_engine, create_session_factory, unit_of_work
from bot.sandbox import SandboxClient
from bot.services.catalog import ensure_version
from bot.services.cohorts import create_cohort

ROOT = Path(__file__).resolve().parents[1]
CURRICULA = ROOT / "curricula"
PROGRAM_ID = "building-resilience"
RESULTS_DIR = ROOT / "bench" / "results"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
TOKEN = "123456:BENCH"
# Day 1 of every benchmark cohort, at 08:00 UTC (the cohort's delivery time).
DAY_ONE = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FIRST_USER_ID = 10_000_000

log = logging.getLogger("bench")


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Metric:
    """One measured figure, with its target when the issue sets one."""

    name: str
    value: float | int | str
    unit: str = ""
    target: str = ""
    ok: bool | None = None

    def shown(self) -> str:
        if isinstance(self.value, float):
            value = f"{self.value:,.3g}" if abs(self.value) < 100 else f"{self.value:,.0f}"
        elif isinstance(self.value, int):
            value = f"{self.value:,}"
        else:
            value = self.value
        return f"{value} {self.unit}".strip()


@dataclass
class Result:
    """One benchmark run on one database."""

    benchmark: str
    database: str
    size: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def add(
        self,
        name: str,
        value: float | int | str,
        unit: str = "",
        target: str = "",
        ok: bool | None = None,
    ) -> Metric:
        metric = Metric(name, value, unit, target, ok)
        self.metrics.append(metric)
        return metric

    def get(self, name: str) -> Any:
        return next(m.value for m in self.metrics if m.name == name)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    current = peak = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    if not peak:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ErrorCounter(logging.Handler):
    """Counts ERROR log records (a benchmark that logged errors is not a clean run)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = record.getMessage()


def configure_logging() -> ErrorCounter:
    """Warnings and errors to stderr; a fresh error counter (benchmarks may run in one process)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, ErrorCounter)]:
        root.removeHandler(handler)
    counter = ErrorCounter()
    root.addHandler(counter)
    return counter


# -- the emulator in its own process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    """`python -m bot.sandbox` in a child process, driven through its control API."""

    def __init__(self, *, rate_limits: bool) -> None:
        self.rate_limits = rate_limits
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = SandboxClient(self.url)

    @property
    def base_url(self) -> str:
        return self.client.base_url

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    async def __aenter__(self) -> EmulatorProcess:
        command = [sys.executable, "-m", "bot.sandbox", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--token", TOKEN]
        if not self.rate_limits:
            command.append("--no-rate-limits")
        self.process = subprocess.Popen(  # noqa: ASYNC220 (returns at once; lives on)
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                await self.client.health()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start: {self._stderr()}") from None
                await asyncio.sleep(0.05)

    def _stderr(self) -> str:
        if self.process is None or self.process.stderr is None or self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def open_chats(self, user_ids: Sequence[int], chunk: int = 5000) -> None:
        """Users with a private chat (as if they had pressed Start), without updates."""
        for start in range(0, len(user_ids), chunk):
            await self.client.bulk_users(list(user_ids[start : start + chunk]))

    async def wait_for_sent(
        self, expected: int, *, within: float, interval: float = 0.02
    ) -> tuple[float, int]:
        """Poll until the emulator has accepted `expected` bot messages: (when, how many)."""
        deadline = time.perf_counter() + within
        while True:
            sent = int((await self.client.counters())["messages_sent"])
            now = time.perf_counter()
            if sent >= expected or now > deadline:
                return now, sent
            await asyncio.sleep(interval)


# -- databases ---------------------------------------------------------------------------------


def database_kinds(requested: str | None = None) -> list[tuple[str, str | None]]:
    """SQLite always; PostgreSQL when TEST_DATABASE_URL points at one."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    kinds: list[tuple[str, str | None]] = [("sqlite", None)]
    if url.startswith(("postgresql", "postgres")):
        kinds.append(("postgresql", url))
    if requested:
        kinds = [k for k in kinds if k[0] == requested]
        if not kinds:
            raise SystemExit(f"no {requested} database (set TEST_DATABASE_URL for PostgreSQL)")
    return kinds


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@contextlib.asynccontextmanager
async def fresh_database(kind: str, url: str | None) -> AsyncIterator[str]:
    """A migrated, empty database: a temporary SQLite file, or the PostgreSQL one wiped."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        else:
            assert url is not None
            await _reset_postgres(url)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def analyze(url: str) -> None:
    """Fresh planner statistics after bulk loads, as autovacuum / a DBA would have them."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


def bot_settings(url: str, base_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": base_url,
        "database_url": url,
        "curricula_dir": CURRICULA,
        "log_level": "WARNING",
        "_env_file": None,
    }
    values.update(extra)
    return Settings(**values)


async def bulk_insert(engine: AsyncEngine, model: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany INSERT in its own transaction (the ORM's bulk path is far slower)."""
    if rows:
        async with engine.begin() as connection:
            await connection.execute(insert(model.__table__), rows)


async def fetch_all(url: str, query: Any) -> list[Any]:
    """Rows of one query, on a connection of its own."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(query)).all())
    finally:
        await engine.dispose()


class BenchClock:
    """Real time shifted to the program's calendar: it runs, and it can jump."""

    def __init__(self, at: datetime) -> None:
        self.jump(at)

    def jump(self, at: datetime) -> None:
        self._offset = at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def program() -> LoadedProgram:
    return load_catalog(CURRICULA)[PROGRAM_ID]


@dataclass
class Enrolled:
    cohort_id: int
    version_id: int
    participant_ids: list[int]
    user_ids: list[int]


async def enroll(
    url: str,
    count: int,
    *,
    due: Callable[[int], datetime | None],
    next_day: int = 1,
    first_user_id: int = FIRST_USER_ID,
    start: datetime = DAY_ONE,
    chunk: int = 5000,
) -> Enrolled:
    """A cohort (starting at `start`) and `count` consenting participants, bulk-inserted.

    `due(n)` is participant n's next_due_at. Rows look exactly like the ones
    participants.answer_consent leaves behind (tests/test_tick.py enrolls the slow way).
    """
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as session:
            version = await ensure_version(session=session, loaded=program())
            cohort = await create_cohort(
                session=session,
                version=version,
                name="Benchmark cohort",
                start=start.date(),
                timezone="UTC",
                delivery_time=start.time(),
                now=start - timedelta(days=7),
            )
            cohort_id, version_id = int(cohort.id), int(version.id)  # type: ignore[arg-type]
            consent = program().program.consent.version
        joined = start - timedelta(days=3)
        user_ids = [first_user_id + n for n in range(count)]
        for begin in range(0, count, chunk):
            rows = [
                {
                    "cohort_id": cohort_id,
                    "telegram_user_id": user_ids[n],
                    "chat_id": user_ids[n],
                    "display_name": f"User{user_ids[n]}",
                    "language": "en",
                    "consent_at": joined,
                    "consent_version": consent,
                    "status": ParticipantStatus.ACTIVE.value,
                    "pseudonym": secrets.token_hex(8),
                    "joined_at": joined,
                    "first_day": 1,
                    "next_day": next_day,
                    "next_due_at": due(n),
                    "last_activity_at": joined,
                }
                for n in range(begin, min(count, begin + chunk))
            ]
            await bulk_insert(engine, Participant, rows)
    finally:
        await engine.dispose()
    query = (
        select(Participant.id).where(Participant.cohort_id == cohort_id).order_by(Participant.id)
    )  # type: ignore[arg-type]
    ids = [int(row[0]) for row in await fetch_all(url, query)]
    return Enrolled(cohort_id, version_id, ids, user_ids)


# -- results -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    py = platform.python_version()
    return f"{os.cpu_count()} CPU ({cpu}){memory}, Python {py}, {platform.system()}"


def write_json(results: list[Result], name: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    payload = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_json(path: Path) -> tuple[dict[str, Any], list[Result]]:
    payload = json.loads(path.read_text())
    results = []
    for data in payload["results"]:
        metrics = [Metric(**m) for m in data.pop("metrics")]
        results.append(Result(**data, metrics=metrics))
    return payload, results


def _mark(ok: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[ok]


def table(results: Sequence[Result], *, markdown: bool = False) -> str:
    header = ["Benchmark", "DB", "Size", "Metric", "Value", "Target", "Met"]
    rows: list[list[str]] = []
    for result in results:
        if result.skipped:
            rows.append([result.benchmark, result.database, result.size, "skipped", "", "", ""])
            rows.append(["", "", "", result.skipped, "", "", ""])
            continue
        for index, m in enumerate(result.metrics):
            first = index == 0
            rows.append(
                [
                    result.benchmark if first else "",
                    result.database if first else "",
                    result.size if first else "",
                    m.name,
                    m.shown(),
                    m.target,
                    _mark(m.ok) if markdown else {True: "yes", False: "NO", None: ""}[m.ok],
                ]
            )
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


ORDER = ["broadcast", "free-limits", "scheduler", "inbound", "reports", "safety"]


def write_markdown(out: Path, target: Path) -> None:
    """The latest result of every benchmark in `out`, as one Markdown table."""
    results: list[Result] = []
    dates: list[str] = []
    machine_line = machine()
    notes: list[str] = []
    for name in ORDER:
        path = out / f"{name}.json"
        if not path.exists():
            continue
        payload, found = load_json(path)
        results += found
        dates.append(payload["date"])
        machine_line = payload["machine"]
        notes += [f"{name} ({r.database}): {n}" for r in found for n in r.notes]
    if not results:
        return
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench all` (see README, Benchmarks). Latest run: "
        f"{max(dates)[:16].replace('T', ' ')} UTC on {machine_line}.",
        "",
        table(results, markdown=True),
        "",
    ]
    if notes:
        lines += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    target.write_text("\n".join(lines))
