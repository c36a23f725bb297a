"""The curriculum format: a multi-week program of daily lessons and reflection prompts."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_LABEL_LIMIT = 64
MAX_SCALE_BUTTONS = 11
MAX_CHOICE_OPTIONS = 10

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=48)
]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_LIMIT)]
ButtonLabel = Annotated[str, StringConstraints(min_length=1, max_length=BUTTON_LABEL_LIMIT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ScaleAlert(_Strict):
    """Raise a safety alert when a scale answer is at or below a value for N days running."""

    at_or_below: int
    consecutive_days: int = Field(default=1, ge=1, le=14)


class _PromptBase(_Strict):
    id: Identifier
    text: MessageText
    reminder_after_hours: float | None = Field(default=None, gt=0, le=72)


class TextPrompt(_PromptBase):
    type: Literal["text"]


class ScalePrompt(_PromptBase):
    type: Literal["scale"]
    min: int = 1
    max: int = 5
    labels: dict[int, ButtonLabel] = Field(default_factory=dict)
    alert: ScaleAlert | None = None

    @model_validator(mode="after")
    def _check_range(self) -> ScalePrompt:
        if self.min >= self.max:
            raise ValueError(f"scale min ({self.min}) must be less than max ({self.max})")
        if self.max - self.min + 1 > MAX_SCALE_BUTTONS:
            raise ValueError(f"a scale can have at most {MAX_SCALE_BUTTONS} points")
        outside = [key for key in self.labels if not self.min <= key <= self.max]
        if outside:
            raise ValueError(f"label keys {outside} are outside {self.min}..{self.max}")
        return self


class ChoiceOption(_Strict):
    id: Identifier
    label: ButtonLabel


class ChoicePrompt(_PromptBase):
    type: Literal["choice"]
    options: list[ChoiceOption] = Field(min_length=2, max_length=MAX_CHOICE_OPTIONS)

    @model_validator(mode="after")
    def _unique_options(self) -> ChoicePrompt:
        ids = [option.id for option in self.options]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate option id {', '.join(duplicates)}")
        return self


Prompt = Annotated[TextPrompt | ScalePrompt | ChoicePrompt, Field(discriminator="type")]


class Lesson(_Strict):
    text: MessageText
    image: str | None = None
    image_caption: Annotated[str, StringConstraints(max_length=CAPTION_LIMIT)] | None = None


class Day(_Strict):
    title: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    lesson: Lesson
    practice: MessageText | None = None
    prompts: list[Prompt] = Field(min_length=1, max_length=3)


class Week(_Strict):
    title: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    days: list[Day] = Field(min_length=1)


class Consent(_Strict):
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: MessageText


class Program(_Strict):
    program_id: Identifier
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")] = "en"
    description: MessageText
    consent: Consent
    reminder_after_hours: float | None = Field(default=None, gt=0, le=72)
    closing_message: MessageText | None = None
    weeks: list[Week] = Field(min_length=1)

    def days(self) -> list[Day]:
        """All days in program order: index 0 is program day 1."""
        return [day for week in self.weeks for day in week.days]

    @property
    def length_days(self) -> int:
        return sum(len(week.days) for week in self.weeks)

    def day(self, number: int) -> Day:
        return self.days()[number - 1]

    def content_hash(self) -> str:
        """Same content, same hash: formatting and comments in the YAML do not count."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
