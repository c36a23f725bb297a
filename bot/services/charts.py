"""A cohort's engagement chart as a PNG, drawn headless with matplotlib's Agg backend."""

from __future__ import annotations

import io
from collections import defaultdict

from bot.services.reports import Report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render_chart(report: Report) -> bytes:
    """Response rate and participants reached per program day, and scale answers over time.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no display, thread-safe), so it
    can run in a worker thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    title = f"{report.cohort_name} · {report.program_title}"
    figure.suptitle(title if len(title) <= 70 else title[:69] + "…")

    days = [d.day for d in report.days]
    rates = [100 * d.rate if d.rate is not None else 0.0 for d in report.days]
    reached = [d.delivered for d in report.days]
    top.bar(days, rates, color="#7fb3d5", label="response rate (%)")
    top.set_ylim(0, 105)
    top.set_ylabel("answered (%)")
    top.grid(axis="y", alpha=0.3)
    people = top.twinx()
    people.plot(days, reached, color="#c0392b", marker="o", label="got the lesson")
    people.set_ylabel("participants reached")
    people.set_ylim(0, max([*reached, 1]) * 1.15)
    handles = top.get_legend_handles_labels()
    more = people.get_legend_handles_labels()
    top.legend(handles[0] + more[0], handles[1] + more[1], loc="lower left", fontsize="small")
    top.set_title("Response rate and participants reached per day", fontsize="medium")

    by_day: dict[int, list[float]] = defaultdict(list)
    scale_range: tuple[int, int] | None = None
    for prompt in report.prompts:
        if prompt.type == "scale" and prompt.average is not None:
            by_day[prompt.day].append(prompt.average)
            if prompt.scale_min is not None and prompt.scale_max is not None:
                low, high = prompt.scale_min, prompt.scale_max
                scale_range = (
                    (min(low, scale_range[0]), max(high, scale_range[1]))
                    if scale_range
                    else (low, high)
                )
    if by_day:
        xs = sorted(by_day)
        bottom.plot(xs, [sum(by_day[x]) / len(by_day[x]) for x in xs], marker="o", color="#27ae60")
        if scale_range:
            bottom.set_ylim(scale_range[0] - 0.2, scale_range[1] + 0.2)
    else:
        bottom.text(
            0.5,
            0.5,
            "no scale answers yet",
            ha="center",
            va="center",
            transform=bottom.transAxes,
            color="#888888",
        )
    bottom.set_ylabel("average scale answer")
    bottom.set_xlabel("program day")
    bottom.grid(alpha=0.3)
    bottom.set_title("Scale answers over time", fontsize="medium")
    if days:
        bottom.set_xlim(0.5, max(days) + 0.5)
    bottom.xaxis.get_major_locator().set_params(integer=True)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
