"""Charts as pictures: small inline SVGs rendered on the server (no JavaScript, no CDN).

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` it is labelled by, one
``<title>`` per mark (native tooltips and screen readers) and ``data-tooltip`` on each mark for
the enhanced tooltips of static/js/app.js. Colours come from classes styled in site.css.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import count
from typing import Any

from markupsafe import Markup, escape  # pants: no-infer-dep (installed with jinja2)

WIDTH = 640
HEIGHT = 260
# Room for the labels at the phone font size (site.css enlarges chart text on narrow screens so
# it stays readable once the 640-unit picture is scaled down): "100%" on the y axis, and a value
# label above the tallest bar or point.
MARGIN_LEFT = 72
MARGIN_RIGHT = 16
MARGIN_TOP = 36
MARGIN_BOTTOM = 48
GRID_LINES = 4
#: Steps a count axis may use: counts are whole, so its ticks are too (never 0.5, 1.5, ...).
INTEGER_STEPS = (1, 2, 5)

_ids = count(1)


@dataclass(frozen=True, slots=True)
class Mark:
    """One bar or point: its axis label, value and tooltip text."""

    label: str
    value: float | None
    tooltip: str


def _nice_max(value: float) -> float:
    """A round axis maximum >= value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def integer_axis(value: float) -> tuple[float, list[float]]:
    """Top and ticks of a count axis: whole steps of 1, 2 or 5 x 10^n, at most GRID_LINES of
    them above zero, the top the first tick at or above ``value``."""
    magnitude = 1
    while True:
        for step in (m * magnitude for m in INTEGER_STEPS):
            if step * GRID_LINES >= value:
                top = max(1, math.ceil(value / step)) * step
                return float(top), [float(t) for t in range(0, top + 1, step)]
        magnitude *= 10


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 10 else f"{value:.2g}"


def _frame(
    chart_id: str,
    title: str,
    description: str,
    css_class: str,
    body: list[str],
    y_max: float,
    y_suffix: str,
    ticks: Sequence[float] | None = None,
    y_min: float = 0.0,
) -> Markup:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    if ticks is None:
        ticks = [y_min + (y_max - y_min) * i / GRID_LINES for i in range(GRID_LINES + 1)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-chart="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for value in ticks:
        y = MARGIN_TOP + plot_h - plot_h * (value - y_min) / (y_max - y_min)
        parts.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart-axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_fmt(value)}{escape(y_suffix)}</text>'
        )
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    marks: Sequence[Mark],
    *,
    title: str,
    description: str,
    y_max: float | None = None,
    y_suffix: str = "",
    css_class: str = "chart-bars",
    label_zero: bool = False,
    counts: bool = False,
) -> Markup:
    """Bars with their value written above (zero values only with `label_zero`); `counts`:
    the values are whole numbers, and so are the axis ticks."""
    chart_id = f"chart{next(_ids)}"
    values = [m.value for m in marks if m.value is not None]
    ticks: list[float] | None = None
    if y_max is not None:
        top = y_max
    elif counts:
        top, ticks = integer_axis(max(values, default=0.0))
    else:
        top = _nice_max(max(values, default=0.0))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body: list[str] = []
    if not marks or not values:
        body.append(
            f'<text class="chart-empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
            'text-anchor="middle">No data yet</text>'
        )
    slot = plot_w / max(len(marks), 1)
    bar_w = slot * 0.7
    label_every = max(1, len(marks) // 12)
    for i, mark in enumerate(marks):
        x = MARGIN_LEFT + i * slot + (slot - bar_w) / 2
        if mark.value is not None:
            h = plot_h * min(mark.value, top) / top if top else 0.0
            y = MARGIN_TOP + plot_h - h
            tip = escape(mark.tooltip)
            body.append(
                f'<rect class="chart-mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" tabindex="0" data-tooltip="{tip}" data-value="{mark.value:g}">'
                f"<title>{tip}</title></rect>"
            )
            if mark.value or label_zero:
                body.append(
                    f'<text class="chart-value" x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" '
                    f'text-anchor="middle">{_fmt(mark.value)}{escape(y_suffix)}</text>'
                )
        else:
            body.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" '
                f'y="{MARGIN_TOP + plot_h - 6}" text-anchor="middle" '
                f'data-tooltip="{escape(mark.tooltip)}">n/a</text>'
            )
        if i % label_every == 0:
            body.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" '
                f'y="{HEIGHT - MARGIN_BOTTOM + 24}" text-anchor="middle">'
                f"{escape(mark.label)}</text>"
            )
    return _frame(chart_id, title, description, css_class, body, top, y_suffix, ticks)


def line_chart(
    marks: Sequence[Mark],
    *,
    title: str,
    description: str,
    css_class: str = "chart-line",
    counts: bool = False,
) -> Markup:
    chart_id = f"chart{next(_ids)}"
    values = [m.value for m in marks if m.value is not None]
    ticks: list[float] | None = None
    if counts:
        top, ticks = integer_axis(max(values, default=0.0))
    else:
        top = _nice_max(max(values, default=0.0))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body: list[str] = []
    if not values:
        body.append(
            f'<text class="chart-empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
            'text-anchor="middle">No data yet</text>'
        )
    step = plot_w / max(len(marks) - 1, 1)
    points = []
    for i, mark in enumerate(marks):
        x = MARGIN_LEFT + (i * step if len(marks) > 1 else plot_w / 2)
        y = MARGIN_TOP + plot_h - plot_h * (mark.value or 0.0) / top
        points.append((x, y, mark))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(f'<polyline class="chart-path" fill="none" points="{path}"/>')
    label_every = max(1, len(marks) // 6)
    for i, (x, y, mark) in enumerate(points):
        tip = escape(mark.tooltip)
        body.append(
            f'<circle class="chart-mark" cx="{x:.1f}" cy="{y:.1f}" r="4" tabindex="0" '
            f'data-tooltip="{tip}" data-value="{(mark.value or 0):g}"><title>{tip}</title></circle>'
        )
        if len(points) <= 31:
            body.append(
                f'<text class="chart-value" x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">'
                f"{_fmt(mark.value or 0)}</text>"
            )
        if i % label_every == 0:
            body.append(
                f'<text class="chart-axis" x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 24}" '
                f'text-anchor="middle">{escape(mark.label)}</text>'
            )
    return _frame(chart_id, title, description, css_class, body, top, "", ticks)


def score_histogram(distribution: Sequence[Mapping[str, Any]]) -> Markup:
    """repo_domain.stats' `score_distribution` (10 percent bands) as a histogram."""
    marks = [
        Mark(
            label=f"{band['lower_percent']}",
            value=float(band["count"]),
            tooltip=f"{band['count']} results scored {band['lower_percent']}"
            f"-{band['upper_percent']}%",
        )
        for band in distribution
    ]
    total = sum(int(band["count"]) for band in distribution)
    return bar_chart(
        marks if total else [],
        title="Score distribution",
        description=f"Number of results per 10-point score band, {total} results in all.",
        css_class="chart-histogram",
        counts=True,
    )


def question_correct_rate(questions: Sequence[Mapping[str, Any]]) -> Markup:
    """Share of decided answers that were correct, per question (what it is: "% correct", not a
    difficulty, which in IRT is a parameter on the ability scale)."""
    marks = []
    for number, q in enumerate(questions, 1):  # in position order, numbered as learners see them
        rate = q.get("correct_rate")
        label = f"Q{number}"
        if rate is None:
            marks.append(Mark(label=label, value=None, tooltip=f"{label}: no graded answers yet"))
        else:
            marks.append(
                Mark(
                    label=label,
                    value=round(100 * float(rate), 1),
                    tooltip=f"{label} ({q['kind'].replace('_', ' ')}): {100 * float(rate):.0f}% "
                    f"correct of {q['responses']} answers",
                )
            )
    return bar_chart(
        marks,
        title="Per-question % correct",
        description="Percentage of answers that were correct, per question; lower bars are "
        "questions fewer learners got right.",
        y_max=100.0,
        y_suffix="%",
        css_class="chart-correct-rate",
        label_zero=True,
    )


def signed_bar_chart(
    marks: Sequence[Mark], *, title: str, description: str, limit: float = 1.0, css_class: str
) -> Markup:
    """Bars up or down from a zero line, on a fixed -limit..limit axis (correlations)."""
    chart_id = f"chart{next(_ids)}"
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    zero = MARGIN_TOP + plot_h / 2
    body: list[str] = []
    if not any(m.value is not None for m in marks):
        body.append(
            f'<text class="chart-empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2 - 20:.0f}" '
            'text-anchor="middle">No data yet</text>'
        )
    slot = plot_w / max(len(marks), 1)
    bar_w = slot * 0.7
    label_every = max(1, len(marks) // 12)
    for i, mark in enumerate(marks):
        x = MARGIN_LEFT + i * slot + (slot - bar_w) / 2
        tip = escape(mark.tooltip)
        if mark.value is not None:
            value = max(-limit, min(limit, mark.value))
            h = plot_h / 2 * abs(value) / limit
            y = zero - h if value >= 0 else zero
            label_y = y - 5 if value >= 0 else zero + h + 22
            body.append(
                f'<rect class="chart-mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" tabindex="0" data-tooltip="{tip}" data-value="{mark.value:g}">'
                f"<title>{tip}</title></rect>"
                f'<text class="chart-value" x="{x + bar_w / 2:.1f}" y="{label_y:.1f}" '
                f'text-anchor="middle">{mark.value:.2f}</text>'
            )
        else:
            body.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" y="{zero - 6:.1f}" '
                f'text-anchor="middle" data-tooltip="{tip}">n/a</text>'
            )
        if i % label_every == 0:
            body.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" '
                f'y="{HEIGHT - MARGIN_BOTTOM + 24}" text-anchor="middle">'
                f"{escape(mark.label)}</text>"
            )
    ticks = [-limit, -limit / 2, 0.0, limit / 2, limit]
    return _frame(chart_id, title, description, css_class, body, limit, "", ticks, y_min=-limit)


def item_facility(items: Sequence[Any]) -> Markup:
    """repo_domain.item_analysis' facility per question, as % of the points scored."""
    marks = []
    for item in items:
        label = f"Q{item.number}"
        if item.facility is None:
            marks.append(Mark(label, None, f"{label}: no graded attempts yet"))
        else:
            value = round(100 * item.facility, 1)
            marks.append(Mark(label, value, f"{label}: facility {value:g}% of the points"))
    return bar_chart(
        marks,
        title="Facility per question",
        description="Mean share of each question's points that learners scored, in percent; "
        "above 90% a question is flagged as too easy, below 20% as too hard.",
        y_max=100.0,
        y_suffix="%",
        css_class="chart-facility",
        label_zero=True,
    )


def item_discrimination(items: Sequence[Any]) -> Markup:
    """Corrected point-biserial per question, on a -1..1 axis (below 0 is flagged)."""
    marks = []
    for item in items:
        label = f"Q{item.number}"
        r = item.point_biserial
        if r is None:
            marks.append(Mark(label, None, f"{label}: not enough varied answers"))
        else:
            marks.append(Mark(label, r, f"{label}: point-biserial {r:.2f}"))
    return signed_bar_chart(
        marks,
        title="Discrimination per question (corrected point-biserial)",
        description="Correlation of each question's score with the rest of the test, from -1 "
        "to 1; bars below zero mean high scorers did worse on the question than low scorers.",
        css_class="chart-discrimination",
    )


def attempts_over_time(per_day: Sequence[tuple[date, int]]) -> Markup:
    marks = [
        Mark(label=day.strftime("%d %b"), value=float(n), tooltip=f"{n} attempts on {day:%d %b %Y}")
        for day, n in per_day
    ]
    total = sum(n for _, n in per_day)
    return line_chart(
        marks,
        title="Attempts over time",
        description=f"Attempts started per day (UTC), {total} in all.",
        css_class="chart-timeline",
        counts=True,
    )
