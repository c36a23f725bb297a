"""Fault injection: seeded, counted, and with the right effect on what users see."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.sandbox import Emulator, FaultConfig
from tests.sandbox.conftest import FakeClock

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def quick_bot(emu: Emulator, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(read_timeout=read_timeout, connection_pool_size=4)
    return Bot(emu.token, base_url=emu.base_url, request=request)


@pytest.fixture
async def fault_emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, rate_limits=False) as emu:
        emu.user(1).send_text("hi")
        yield emu


async def _outcomes(emu: Emulator, config: FaultConfig, n: int) -> list[str]:
    emu.faults = config
    outcomes = []
    async with quick_bot(emu, read_timeout=0.3) as bot:
        for i in range(n):
            try:
                await bot.send_message(1, f"m{i}")
                outcomes.append("ok")
            except RetryAfter:
                outcomes.append("429")
            except TimedOut:
                outcomes.append("timeout")
            except NetworkError as exc:
                outcomes.append("lost" if "disconnected" in str(exc) else "5xx")
    return outcomes


async def test_seeded_faults_are_deterministic_and_counted(clock: FakeClock) -> None:
    config = FaultConfig(
        rate_limit_429=0.2, server_error_5xx=0.2, lost_response=0.2, seed=7, timeout_delay=0.5
    )
    runs = []
    for _ in range(2):
        async with Emulator(clock=clock, rate_limits=False) as emu:
            emu.user(1).send_text("hi")
            outcomes = await _outcomes(emu, config, 40)
            counters = emu.counters
            runs.append(outcomes)
            assert outcomes.count("429") == counters.rate_limited_injected == counters.rate_limited
            assert outcomes.count("5xx") == counters.server_errors
            assert outcomes.count("lost") == counters.lost_responses
            # a lost response still delivered the message; 429 and 5xx did not
            assert counters.messages_sent == outcomes.count("ok") + outcomes.count("lost")
            assert len(emu.bot_messages(1)) == counters.messages_sent
            assert counters.requests["sendMessage"] == 40
    assert runs[0] == runs[1]
    assert {"ok", "429", "5xx", "lost"} <= set(runs[0])


async def test_server_errors_are_502_or_500(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(server_error_5xx=1.0, seed=1)
    async with quick_bot(fault_emu) as bot:
        messages = set()
        for _ in range(10):
            with pytest.raises(NetworkError) as info:
                await bot.send_message(1, "x")
            messages.add(str(info.value))
    assert messages == {"Bad Gateway", "Internal Server Error"}
    assert fault_emu.bot_messages(1) == []


async def test_injected_429_has_retry_after(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(rate_limit_429=1.0, retry_after=7)
    async with quick_bot(fault_emu) as bot:
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(1, "x")
    assert info.value.retry_after == 7
    assert fault_emu.counters.rate_limited_injected == 1


async def test_timeout_does_not_take_the_action(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(timeout=1.0, timeout_delay=0.6)
    async with quick_bot(fault_emu, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(1, "never delivered")
    assert fault_emu.bot_messages(1) == []
    assert fault_emu.counters.timeouts == 1


async def test_lost_response_takes_the_action(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(lost_response=1.0)
    async with quick_bot(fault_emu) as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(1, "delivered anyway")
    assert [m.text for m in fault_emu.bot_messages(1)] == ["delivered anyway"]
    assert fault_emu.counters.lost_responses == 1


async def test_lost_response_delay_mode_times_out(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(lost_response=1.0, lost_response_mode="delay", timeout_delay=0.5)
    async with quick_bot(fault_emu, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(1, "delivered late")
    assert [m.text for m in fault_emu.bot_messages(1)] == ["delivered late"]


async def test_faults_only_hit_listed_methods_and_switch_off(fault_emu: Emulator) -> None:
    fault_emu.faults = FaultConfig(server_error_5xx=1.0)
    async with quick_bot(fault_emu) as bot:
        await bot.send_chat_action(1, "typing")  # not a listed method
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
        fault_emu.faults = FaultConfig(server_error_5xx=1.0, methods=frozenset({"sendChatAction"}))
        await bot.send_message(1, "now fine")
        with pytest.raises(NetworkError):
            await bot.send_chat_action(1, "typing")
        fault_emu.faults = None
        await bot.send_chat_action(1, "typing")
    assert fault_emu.counters.server_errors == 2


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_limit_429=0.7, server_error_5xx=0.7)
    with pytest.raises(ValueError):
        FaultConfig(lost_response_mode="explode")
    config = FaultConfig(timeout=0.1, methods=frozenset({"sendMessage"}))
    assert FaultConfig.from_dict(config.to_dict()) == config
