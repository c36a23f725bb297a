"""Safety detector: CPU time per message of SafetyDetector.decide, and its load time.

The detector (phrase lists + statistical model) runs in this process on N messages built
from a fixed list of participant answers (ordinary ones of different lengths, a few risky
ones, one of 4,000 characters), each with a small variation so no whole-message cache helps.
CPU time is time.process_time_ns() around each call. No database is involved: it runs once,
on the SQLite pass only.
"""

from __future__ import annotations

import argparse
import time

from bench.common import CURRICULA, Result, configure_logging, median, percentile
from bot.services.alerts import SafetyChecker
from bot.services.safety_detector import Level, SafetyDetector

NAME = "safety"
DEFAULT_MESSAGES = 5_000
MEDIAN_TARGET_MS = 2.0
P99_TARGET_MS = 10.0

_LONG = (
    "I wanted to write properly this time because the short answers never say much. "
    "This week started badly: the car broke down on Monday, I was late for the team meeting "
    "and my manager made a comment in front of everyone that stayed with me all day. "
    "In the evening I tried the breathing exercise from day three and, to my surprise, it "
    "took the edge off. On Tuesday I called my sister and we talked for an hour about our "
    "parents, which we never do. Wednesday was calmer. I walked to work, noticed the trees "
    "changing colour and wrote down three things that went well, like the lesson suggested. "
)
LONG_ANSWER = (_LONG * (4000 // len(_LONG) + 1))[:4000]

ANSWERS: tuple[str, ...] = (
    "ok",
    "7",
    "A bit tired but fine.",
    "Better than yesterday, thanks.",
    "I went for a run before work and it helped me feel more awake.",
    "Honestly pretty stressed. Deadlines at work and the kids were sick all week.",
    "My friend Sam. We had coffee and I told her about the move, she listened without judging.",
    "I noticed I was catastrophising about the exam again, so I wrote the worst, best and most "
    "likely outcomes down like the lesson said. The most likely one is really not that bad.",
    "Slept badly, argued with my partner about money, and skipped lunch. Not my best day.",
    "Gratitude: the sun this morning, my dog, and a colleague who covered for me.",
    "I don't really see the point of any of this anymore.",
    "Sometimes I think everyone would be better off without me.",
    "I have been thinking about ending my life.",
    "Last year I self-harmed a lot, but I'm in therapy now and doing much better.",
    "He hits me when he drinks and I'm scared to go home tonight.",
    "Walked by the river, listened to a podcast, cooked a proper dinner for once.",
    "Not much to say today. Work, gym, sleep.",
    "I felt anxious before the presentation but it went well and people asked good questions.",
    LONG_ANSWER,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)


def messages(count: int) -> list[str]:
    """`count` messages cycling through ANSWERS, each made distinct by its index."""
    variations = ("{text} ({n})", "{text} #{n}", "{n}. {text}", "{text}\n\nday {n}")
    out: list[str] = []
    for n in range(count):
        text = ANSWERS[n % len(ANSWERS)]
        if text == LONG_ANSWER:
            suffix = f" ({n})"
            out.append(text[: len(text) - len(suffix)] + suffix)  # stays at 4,000 characters
        else:
            out.append(variations[(n // len(ANSWERS)) % len(variations)].format(text=text, n=n))
    return out


async def run(kind: str, url: str, args: argparse.Namespace) -> list[Result]:
    if kind != "sqlite":  # the detector never touches a database: one run is enough
        return []
    count: int = args.messages
    errors = configure_logging()
    result = Result(NAME, kind, f"{count:,} messages")
    texts = messages(count)
    started = time.perf_counter()
    checker = SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)
    detector = SafetyDetector.load(checker)
    load_ms = (time.perf_counter() - started) * 1000
    cpu_ms: list[float] = []
    flagged = 0
    wall = time.perf_counter()
    for text in texts:
        before = time.process_time_ns()
        decision = detector.decide(text, "en")
        cpu_ms.append((time.process_time_ns() - before) / 1e6)
        flagged += decision.level is not Level.NONE
    wall = time.perf_counter() - wall
    total_cpu = sum(cpu_ms) / 1000
    middle, p99 = median(cpu_ms), percentile(cpu_ms, 0.99)
    result.add("model load", load_ms, "ms")
    result.add(
        "CPU per message (median)",
        middle,
        "ms",
        f"<= {MEDIAN_TARGET_MS:g} ms",
        middle <= MEDIAN_TARGET_MS,
    )
    result.add("CPU per message (p99)", p99, "ms", f"<= {P99_TARGET_MS:g} ms", p99 <= P99_TARGET_MS)
    result.add("CPU per message (max)", max(cpu_ms), "ms")
    result.add("rate (one core)", count / total_cpu if total_cpu else 0.0, "msg/s")
    result.notes.append(
        f"{flagged:,} of {count:,} messages flagged (check or alert); "
        f"{wall:.1f} s wall time for the decide calls"
    )
    if errors.count:
        result.add("errors logged", errors.count, "", "0", False)
        result.notes.append(f"first error: {errors.first}")
    return [result]
