from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, TELEGRAM_API_BASE_URL, ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "FACILITATOR_IDS", "DAY_LENGTH_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_sqlite_and_telegram() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.telegram_api_base_url == TELEGRAM_API_BASE_URL  # Telegram's own
    assert settings.facilitator_ids == frozenset()
    assert settings.day_length_seconds is None


def test_facilitator_ids_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACILITATOR_IDS", "12, 34,56")
    assert load_settings().facilitator_ids == {12, 34, 56}


def test_non_numeric_facilitator_id_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACILITATOR_IDS", "12,abc")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("FACILITATOR_IDS:")
    assert "numeric" in message and "\n" not in message


def test_unknown_database_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/bot")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: expected a sqlite\+aiosqlite"):
        load_settings()


def test_plain_postgres_url_uses_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db/bot")
    assert load_settings().database_url == "postgresql+asyncpg://bot@db/bot"


def test_missing_token_explains_botfather() -> None:
    with pytest.raises(ConfigError, match="@BotFather"):
        load_settings().require_token()


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-secret-SECRET-secret")
    settings = load_settings()
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings)
    assert settings.require_token() == "123456:SECRET-secret-SECRET-secret"


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DAY_LENGTH_SECONDS=5\nLOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.day_length_seconds == 5
    assert settings.log_level == "DEBUG"


def test_bad_day_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAY_LENGTH_SECONDS", "-3")
    with pytest.raises(ConfigError, match=r"^DAY_LENGTH_SECONDS:"):
        load_settings()


def test_the_shipped_env_example_loads_as_is(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying .env.example to .env (as the README says) must not break start-up."""
    example = Path(__file__).resolve().parents[1] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())
    settings = load_settings()
    assert settings.day_length_seconds is None and settings.facilitator_ids == frozenset()
    assert settings.answer_encryption_key is None and settings.telegram_bot_token is None
