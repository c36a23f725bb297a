"""Simulated participants who read what the bot sends and answer like people on their phones.

Used by the demo and the end-to-end tests. Each person answers every new question (a scale
with their usual number, a choice with their favourite option, free text with a sentence),
except on the days their behaviour says they skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.emulator import Emulator
from bot.sandbox.models import SentMessage
from bot.sandbox.people import EmulatedUser

TEXT_HINT = "Just reply here in your own words."
LESSON_DAY = re.compile(r"^Day (\d+) of (\d+)")
REFLECTIONS = [
    "Talking to my sister helped more than I expected.",
    "I noticed I was kinder to myself this morning.",
    "Work was stressful, but I took a short walk and it helped.",
    "Honestly a hard day, but I did the breathing exercise.",
    "I'm grateful for my neighbour who checked in on me.",
    "I wrote down three things that went well. Small, but real.",
    "Ça m'a aidé de parler à ma sœur 🙂",
]


def is_prompt(message: SentMessage) -> bool:
    return _answer_buttons(message) != [] or TEXT_HINT in (message.text or "")


def _answer_buttons(message: SentMessage) -> list[str]:
    return [
        label for row in message.buttons for label, data in row if (data or "").startswith("a:")
    ]


@dataclass
class SimulatedPerson:
    """Answers new prompts on the days `answers_on(day)` allows."""

    emulator: Emulator
    user: EmulatedUser
    scale: str = "4"
    answers_on: Callable[[int], bool] = lambda day: True
    on_action: Callable[[str], None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    seen: set[int] = field(default_factory=set)
    day: int = 0
    answers_given: int = 0

    def step(self) -> int:
        """Look at the chat once and answer what is new; returns how many answers were given."""
        given = 0
        for message in self.emulator.bot_messages(self.user.id):
            if message.message_id in self.seen:
                continue
            self.seen.add(message.message_id)
            if match := LESSON_DAY.match(message.text or ""):
                self.day = int(match.group(1))
            if not is_prompt(message) or (message.text or "").startswith("Whenever you're ready"):
                continue
            if not self.answers_on(self.day):
                continue
            given += self._answer(message)
        self.answers_given += given
        return given

    def _answer(self, message: SentMessage) -> int:
        labels = _answer_buttons(message)
        if labels:
            label = self.scale if self.scale in labels else self.rng.choice(labels)
            self.user.press_button(message, label)
            self._tell(f"taps [{label}]")
        else:
            reply = self.rng.choice(REFLECTIONS)
            self.user.send_text(reply, reply_to=message.message_id)
            self._tell(f"writes: {reply}")
        return 1

    def _tell(self, action: str) -> None:
        if self.on_action is not None:
            self.on_action(f"{self.user.first_name} {action}")


async def keep_answering(people: list[SimulatedPerson], stop: asyncio.Event) -> None:
    """Let everyone look at their phone every 50 ms until `stop` is set."""
    while not stop.is_set():
        for person in people:
            if person.user.blocked:
                continue
            with contextlib.suppress(ValueError):
                person.step()
        await asyncio.sleep(0.05)
