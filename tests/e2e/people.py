"""Simulated participants who answer what the bot asks, like people on their phones."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from bot.sandbox import EmulatedUser, Emulator, SentMessage

TEXT_HINT = "Just reply here in your own words."


def is_prompt(message: SentMessage) -> bool:
    has_answer_buttons = any(
        (data or "").startswith("a:") for row in message.buttons for _, data in row
    )
    return has_answer_buttons or TEXT_HINT in (message.text or "")


@dataclass
class Autopilot:
    """Answers every new prompt: scale -> `scale`, choice -> first option, text -> a sentence."""

    emulator: Emulator
    user: EmulatedUser
    scale: str = "4"
    answered: set[int] = field(default_factory=set)
    answers_given: list[tuple[int, str]] = field(default_factory=list)
    enabled: bool = True

    def step(self) -> int:
        if not self.enabled:
            return 0
        done = 0
        for message in self.emulator.bot_messages(self.user.id):
            if message.message_id in self.answered or not is_prompt(message):
                continue
            if message.text and message.text.startswith("Whenever you're ready"):
                self.answered.add(message.message_id)
                continue
            self.answered.add(message.message_id)
            if message.buttons and any(
                (d or "").startswith("a:") for r in message.buttons for _, d in r
            ):
                labels = [label for row in message.buttons for label, _ in row]
                label = self.scale if self.scale in labels else labels[0]
                self.user.press_button(message, label)
                self.answers_given.append((message.message_id, label))
            else:
                reply = f"Answer from {self.user.first_name} to {message.message_id}: ça va, merci"
                self.user.send_text(reply, reply_to=message.message_id)
                self.answers_given.append((message.message_id, reply))
            done += 1
        return done


async def run_autopilots(pilots: list[Autopilot], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for pilot in pilots:
            with contextlib.suppress(ValueError):
                pilot.step()
        await asyncio.sleep(0.05)
