"""The command line, run as a real subprocess the way a person would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CURRICULA
from tests.processes import child_env

VALID_MINIMAL = """\
program_id: mini
title: Mini
description: A tiny program.
consent: {version: "1", text: "You agree."}
weeks:
  - title: Week
    days:
      - title: Day one
        lesson: {text: "Hello there."}
        prompts:
          - {id: mood, type: scale, text: "How are you?", min: 1, max: 5}
"""


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = child_env(**(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def test_default_curricula_validate() -> None:
    result = cli("curricula", "validate", str(CURRICULA))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "dup.yaml",
            VALID_MINIMAL + '          - {id: mood, type: text, text: "Why?"}\n',
            ":12:",
        ),
        ("scale.yaml", VALID_MINIMAL.replace("min: 1, max: 5", "min: 5, max: 5"), ":11:"),
        ("syntax.yaml", VALID_MINIMAL.replace("title: Mini", "title: [Mini"), ":"),
    ],
)
def test_bad_curricula_fail_with_file_and_line(tmp_path, name, content, expected) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = cli("curricula", "validate", str(path))
    assert result.returncode != 0
    line = result.stdout.strip().splitlines()[0]
    assert line.startswith(f"{path}{expected}"), line


def test_problem_messages_are_specific(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text(
        VALID_MINIMAL + '          - {id: mood, type: text, text: "Why?"}\n'
    )
    (tmp_path / "b.yaml").write_text(VALID_MINIMAL.replace("min: 1, max: 5", "min: 5, max: 2"))
    (tmp_path / "c.yaml").write_text(VALID_MINIMAL.replace("weeks:", "colour: blue\nweeks:"))
    (tmp_path / "d.yaml").write_text(VALID_MINIMAL.replace("Hello there.", "x" * 4097))
    out = cli("curricula", "validate", str(tmp_path)).stdout
    assert "duplicate prompt id 'mood'" in out
    assert "scale min (5) must be less than max (2)" in out
    assert f"{tmp_path / 'c.yaml'}:5:1: unknown key 'colour'" in out
    assert "longer than Telegram allows (4096 characters)" in out


def test_run_without_token_says_how_to_get_one(tmp_path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "@BotFather" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_configuration_is_one_line(tmp_path) -> None:
    result = cli("cohort", "list", env={"FACILITATOR_IDS": "x"}, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "resilience-bot: FACILITATOR_IDS: expected comma-separated numeric Telegram user ids"
    )


def test_cohort_create_and_list_json(tmp_path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "CURRICULA_DIR": str(CURRICULA), "BOT_USERNAME": "rb_bot"}
    created = cli(
        "cohort",
        "create",
        "--curriculum",
        "building-resilience",
        "--name",
        "Spring group",
        "--start",
        "2026-12-01",
        "--timezone",
        "Europe/Berlin",
        "--delivery-time",
        "08:30",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    cohort = json.loads(created.stdout)
    assert isinstance(cohort["id"], int) and cohort["invite_code"]
    assert cohort["invite_link"] == f"https://t.me/rb_bot?start={cohort['invite_code']}"
    assert cohort["start_at"] == "2026-12-01T07:30:00+00:00"

    listed = cli("cohort", "list", "--json", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"], r["invite_code"]) for r in rows] == [
        (cohort["id"], "Spring group", cohort["invite_code"])
    ]


def test_cohort_create_rejects_unknown_curriculum_and_zone(tmp_path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "CURRICULA_DIR": str(CURRICULA)}
    unknown = cli(
        "cohort",
        "create",
        "--curriculum",
        "nope",
        "--name",
        "x",
        "--start",
        "now",
        env=env,
        cwd=tmp_path,
    )
    assert unknown.returncode != 0 and "unknown curriculum 'nope'" in unknown.stderr
    zone = cli(
        "cohort",
        "create",
        "--curriculum",
        "building-resilience",
        "--name",
        "x",
        "--start",
        "now",
        "--timezone",
        "Berlin",
        env=env,
        cwd=tmp_path,
    )
    assert zone.returncode != 0 and "Europe/Berlin" in zone.stderr


def test_db_upgrade_on_empty_database(tmp_path, empty_database_url: str) -> None:
    result = cli("db", "upgrade", env={"DATABASE_URL": empty_database_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_every_command_has_help() -> None:
    for args in (
        ["--help"],
        ["run", "--help"],
        ["db", "upgrade", "--help"],
        ["curricula", "validate", "--help"],
        ["cohort", "create", "--help"],
        ["cohort", "list", "--help"],
        ["demo", "--help"],
    ):
        result = cli(*args)
        assert result.returncode == 0 and "usage:" in result.stdout, args


def test_run_with_bad_curriculum_or_database_is_one_line(tmp_path) -> None:
    bad = tmp_path / "curricula"
    bad.mkdir()
    (bad / "x.yaml").write_text(VALID_MINIMAL.replace("weeks:", "colour: blue\nweeks:"))
    env = {"TELEGRAM_BOT_TOKEN": "123:abc", "CURRICULA_DIR": str(bad)}
    result = cli("run", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("resilience-bot: CURRICULA_DIR:")
    assert "unknown key 'colour'" in result.stderr and "Traceback" not in result.stderr

    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "CURRICULA_DIR": str(CURRICULA),
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }
    result = cli("run", env=env, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("resilience-bot: DATABASE_URL: cannot open the database")
    )
