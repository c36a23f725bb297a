"""Fault injection (429, 5xx, timeouts, lost responses) and the emulator's counters."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

SENDING_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "editMessageText"})


class Fault(Enum):
    RATE_LIMIT = "rate_limit_429"
    SERVER_ERROR = "server_error_5xx"
    TIMEOUT = "timeout"
    LOST_RESPONSE = "lost_response"


@dataclass(frozen=True)
class FaultConfig:
    """Per-request probabilities of each fault, for the listed methods.

    - rate_limit_429: answer 429 with retry_after (action not taken).
    - server_error_5xx: answer 502 "Bad Gateway" or 500 "Internal Server Error" (not taken).
    - timeout: wait timeout_delay seconds, then answer 504 (action not taken).
    - lost_response: the action takes effect, but the response is lost: the connection is
      closed ("disconnect") or the answer comes after timeout_delay seconds ("delay").
    """

    rate_limit_429: float = 0.0
    server_error_5xx: float = 0.0
    timeout: float = 0.0
    lost_response: float = 0.0
    timeout_delay: float = 6.0
    retry_after: int = 1
    lost_response_mode: str = "disconnect"
    seed: int | None = None
    methods: frozenset[str] = SENDING_METHODS

    def __post_init__(self) -> None:
        total = self.rate_limit_429 + self.server_error_5xx + self.timeout + self.lost_response
        if total > 1 or min(self.rate_limit_429, self.server_error_5xx, self.timeout) < 0:
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1")
        if self.lost_response_mode not in {"disconnect", "delay"}:
            raise ValueError("lost_response_mode must be 'disconnect' or 'delay'")
        object.__setattr__(self, "methods", frozenset(self.methods))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = sorted(self.methods)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        data = dict(data)
        if "methods" in data:
            data["methods"] = frozenset(data["methods"])
        return cls(**data)


class FaultInjector:
    """Draws faults from a seeded RNG: the same request sequence gets the same faults."""

    def __init__(self, config: FaultConfig | None, seed: int):
        self.config = config
        self.rng = random.Random(config.seed if config and config.seed is not None else seed)

    def draw(self, method: str) -> Fault | None:
        cfg = self.config
        if cfg is None or method not in cfg.methods:
            return None
        roll = self.rng.random()
        for fault, probability in (
            (Fault.RATE_LIMIT, cfg.rate_limit_429),
            (Fault.SERVER_ERROR, cfg.server_error_5xx),
            (Fault.TIMEOUT, cfg.timeout),
            (Fault.LOST_RESPONSE, cfg.lost_response),
        ):
            if roll < probability:
                return fault
            roll -= probability
        return None

    def server_error(self) -> tuple[int, str]:
        return (502, "Bad Gateway") if self.rng.random() < 0.5 else (500, "Internal Server Error")


@dataclass
class Counters:
    """What the emulator saw and did. messages_sent counts bot messages that took effect."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    rate_limited_injected: int = 0
    server_errors: int = 0
    timeouts: int = 0
    lost_responses: int = 0
    messages_sent: int = 0
    messages_edited: int = 0
    updates_delivered: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requests"] = dict(self.requests)
        data["errors"] = {str(code): n for code, n in self.errors.items()}
        return data
