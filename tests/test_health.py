"""`resilience-bot health`, the container healthcheck: loops alive, file fresh, database up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bot import health
from tests.test_cli import cli

ROOT = Path(__file__).resolve().parents[1]
RUNNING = {"poll": {"state": "running", "failing_for_seconds": None, "last_error": None}}


def _check(tmp_path: Path, database_url: str) -> tuple[int, str]:
    result = cli(
        "health",
        env={"HEALTH_FILE": str(tmp_path / "health.json"), "DATABASE_URL": database_url},
        cwd=tmp_path,
    )
    return result.returncode, result.stdout + result.stderr


def test_healthy_when_the_loops_run_and_the_database_answers(
    tmp_path: Path, database_url: str
) -> None:
    health.write(tmp_path / "health.json", RUNNING)
    assert _check(tmp_path, database_url) == (0, "healthy\n")


def test_unhealthy_without_a_fresh_file_or_with_a_failing_loop(
    tmp_path: Path, database_url: str
) -> None:
    code, output = _check(tmp_path, database_url)
    assert code == 1 and "no health file" in output
    path = tmp_path / "health.json"
    health.write(path, RUNNING, written_at=datetime.now(UTC) - timedelta(seconds=120))
    code, output = _check(tmp_path, database_url)
    assert code == 1 and "s old: the bot is not running, or is stuck" in output
    failing = {"inbox": {"state": "failing", "failing_for_seconds": 75.0, "last_error": "X: y"}}
    health.write(path, failing)
    code, output = _check(tmp_path, database_url)
    assert code == 1 and "inbox has been failing for 75 s: X: y" in output
    health.write(path, RUNNING, stopped=True)
    assert _check(tmp_path, database_url) == (1, "unhealthy: the bot has stopped\n")


def test_unhealthy_when_the_database_does_not_answer(tmp_path: Path) -> None:
    health.write(tmp_path / "health.json", RUNNING)
    code, output = _check(tmp_path, "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert code == 1 and output.startswith("unhealthy: the database does not answer")
    assert len(output.splitlines()) == 1


def test_compose_runs_the_healthcheck_and_restarts_the_bot_when_it_exits() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot = compose["services"]["bot"]
    assert bot["healthcheck"]["test"] == ["CMD", "resilience-bot", "health"]
    assert bot["restart"] in {"always", "unless-stopped", "on-failure"}
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
