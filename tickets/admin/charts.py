"""The delivery page's charts, drawn on the server as SVG: no script, nothing from elsewhere,
nothing the pages' CSP forbids. Each function turns figures into shapes in a fixed viewBox
(the SVG scales to the screen); the template draws them, and a table beside each says the
same in words for screen readers and for reading exact figures.
"""

import math
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets.delivery.reports import OUTCOME_LABELS, OUTCOMES, DayFigures

WIDTH = 640
HEIGHT = 180
LEFT = 60  # room for the y axis' labels
BOTTOM = 22  # room for the days
TOP = 10
RIGHT = 28  # room for the last day's label


def outcome_bars(days: list[DayFigures]) -> dict:
    """One bar a day, stacked by what the day's requests came to."""
    top = axis_top(max((figures.total for figures in days), default=0), whole=True)
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bars = []
    for index, figures in enumerate(days):
        x = LEFT + index * step + step * 0.15
        y = HEIGHT - BOTTOM
        segments = []
        for outcome in OUTCOMES:
            count = figures.outcomes[outcome]
            if not count:
                continue
            height = count / top * (HEIGHT - BOTTOM - TOP)
            y -= height
            segments.append(
                {
                    "outcome": outcome,
                    "y": round(y, 1),
                    "height": round(height, 1),
                    "title": f"{day_label(figures.day)}: {OUTCOME_LABELS[outcome]} {count}",
                }
            )
        bars.append({"x": round(x, 1), "width": round(step * 0.7, 1), "segments": segments})
    return {**_frame(days, top, format_count), "bars": bars}


def time_lines(days: list[DayFigures]) -> dict:
    """The median and the 95th percentile of the time to a ticket, a dot a day that had one,
    joined where days follow each other."""
    values = [f.to_ticket_p95 for f in days if f.to_ticket_p95 is not None]
    top = axis_top(max(values, default=0.0), whole=False)
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    lines = []
    for key, css in (("to_ticket_p50", "p50"), ("to_ticket_p95", "p95")):
        points, runs, run = [], [], []
        for index, figures in enumerate(days):
            seconds = getattr(figures, key)
            if seconds is None:
                if run:
                    runs.append(run)
                run = []
                continue
            x = round(LEFT + index * step + step / 2, 1)
            y = round(HEIGHT - BOTTOM - seconds / top * (HEIGHT - BOTTOM - TOP), 1)
            points.append(
                {"x": x, "y": y, "title": f"{day_label(figures.day)}: {format_seconds(seconds)}"}
            )
            run.append(f"{x},{y}")
        if run:
            runs.append(run)
        lines.append(
            {"css": css, "points": points, "runs": [" ".join(r) for r in runs if len(r) > 1]}
        )
    return {**_frame(days, top, format_seconds), "lines": lines}


def failure_bars(failures: list[tuple[str, int]]) -> dict:
    """Failed calls by class, longest bar first."""
    row, label_width = 26, 230
    top = max((count for _, count in failures), default=1)
    rows = [
        {
            "label": label,
            "count": count,
            "y": index * row,
            "text_y": index * row + 16,
            "width": round(max(count / top * (WIDTH - label_width - 60), 2), 1),
        }
        for index, (label, count) in enumerate(failures)
    ]
    return {
        "width": WIDTH,
        "height": max(len(rows) * row, row),
        "bar_x": label_width,
        "rows": rows,
    }


def _frame(days: list[DayFigures], top: float, label) -> dict:
    """The axes: four levels up the left, and about six days along the bottom."""
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    every = max(1, math.ceil(len(days) / 6))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": HEIGHT - BOTTOM,
        "levels": [
            {
                "y": round(HEIGHT - BOTTOM - fraction * (HEIGHT - BOTTOM - TOP), 1),
                "label": label(top * fraction),
            }
            for fraction in (0, 0.25, 0.5, 0.75, 1)
        ],
        "day_labels": [
            {"x": round(LEFT + index * step + step / 2, 1), "label": day_label(figures.day)}
            for index, figures in enumerate(days)
            if (len(days) - 1 - index) % every == 0
        ],
    }


def axis_top(value: float, *, whole: bool) -> float:
    """The top of an axis of four equal steps at or above ``value``, each step 1, 2, 2.5 or 5
    times a power of ten (a whole number when counting requests)."""
    step = nice_ceiling(value / 4)
    return 4 * (max(math.ceil(step), 1) if whole else step)


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at or above ``value``."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


def day_label(day: date) -> str:
    return date_format(day, "j M")


def format_count(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def format_seconds(seconds: float | None) -> str:
    """0.4 s, 12 s, 3 min, 2.5 h: what an agent reads at a glance."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return _("%(n)s s") % {"n": f"{seconds:.2g}"}
    if seconds < 10:
        return _("%(n)s s") % {"n": f"{seconds:.1f}"}
    if seconds < 120:
        return _("%(n)s s") % {"n": f"{seconds:.0f}"}
    if seconds < 2 * 3600:
        return _("%(n)s min") % {"n": f"{seconds / 60:.0f}"}
    if seconds < 2 * 86400:
        return _("%(n)s h") % {"n": f"{seconds / 3600:.1f}".removesuffix(".0")}
    return _("%(n)s days") % {"n": f"{seconds / 86400:.0f}"}
