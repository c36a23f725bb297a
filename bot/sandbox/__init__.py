"""Local Telegram Bot API emulator for end-to-end tests and benchmarks (never online)."""

from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Counters, FaultConfig
from bot.sandbox.limits import LimitConfig
from bot.sandbox.models import FileRecord, SentMessage
from bot.sandbox.people import EmulatedGroup, EmulatedUser

__all__ = [
    "Counters",
    "EmulatedGroup",
    "EmulatedUser",
    "Emulator",
    "FaultConfig",
    "FileRecord",
    "LimitConfig",
    "SandboxClient",
    "SandboxError",
    "SentMessage",
]
