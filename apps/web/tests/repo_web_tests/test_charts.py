"""The server-side SVG charts: accessible, escaped, proportional, and honest about no data."""

from __future__ import annotations

import re
from datetime import date
from xml.etree import ElementTree

import pytest

from repo_web import charts
from repo_web.charts import Mark, bar_chart


def _parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output: must be well-formed XML


def test_bar_chart_is_labelled_and_has_a_tooltip_per_bar() -> None:
    svg = str(bar_chart([Mark("a", 2, "two"), Mark("b", 4, "four")], title="T", description="D"))
    root = _parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.find(f"{ns}desc").get("id") == desc_id  # type: ignore[union-attr]
    rects = root.findall(f"{ns}rect")
    assert [r.get("data-tooltip") for r in rects] == ["two", "four"]
    assert [r.find(f"{ns}title").text for r in rects] == ["two", "four"]  # type: ignore[union-attr]
    heights = [float(r.get("height", 0)) for r in rects]
    assert abs(heights[1] - 2 * heights[0]) < 0.2  # proportional to the values


def test_text_is_escaped() -> None:
    svg = str(bar_chart([Mark("<b>", 1, '"><script>x</script>')], title="<i>", description="&"))
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    _parse(svg)


def test_empty_data_says_so() -> None:
    assert "No data yet" in str(bar_chart([], title="T", description="D"))
    assert "No data yet" in str(charts.line_chart([], title="T", description="D"))
    histogram = charts.score_histogram(
        [{"lower_percent": i * 10, "upper_percent": i * 10 + 10, "count": 0} for i in range(10)]
    )
    assert "No data yet" in str(histogram) and "<rect" not in str(histogram)


def test_histogram_correct_rate_and_timeline_from_stats_shapes() -> None:
    bands = [
        {"lower_percent": i * 10, "upper_percent": i * 10 + 10, "count": i % 3} for i in range(10)
    ]
    hist = str(charts.score_histogram(bands))
    assert hist.count("<rect") == 10 and "2 results scored 20-30%" in hist
    difficulty = str(
        charts.question_correct_rate(
            [
                {"position": 0, "kind": "numeric", "correct_rate": 0.25, "responses": 4},
                {"position": 1, "kind": "free_text", "correct_rate": None, "responses": 0},
            ]
        )
    )
    assert "Q1 (numeric): 25% correct of 4 answers" in difficulty
    assert difficulty.count("<rect") == 1 and ">Q2</text>" in difficulty
    assert ">n/a</text>" in difficulty  # no bar, but said so
    assert "100%" in difficulty  # fixed 0-100% axis
    timeline = str(charts.attempts_over_time([(date(2026, 1, 1), 3), (date(2026, 1, 2), 5)]))
    assert timeline.count("<circle") == 2 and "<polyline" in timeline
    assert "5 attempts on 02 Jan 2026" in timeline


def test_chart_ids_are_unique_per_render() -> None:
    a = str(bar_chart([Mark("a", 1, "x")], title="T", description="D"))
    b = str(bar_chart([Mark("a", 1, "x")], title="T", description="D"))
    ids = [re.findall(r'data-chart="(\w+)"', svg) for svg in (a, b)]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]


def test_nice_axis_maximum() -> None:
    assert [charts._nice_max(v) for v in (0, 0.7, 3, 7, 12, 450)] == [1, 1, 5, 10, 20, 500]


def _axis_labels(svg: str) -> list[str]:
    return re.findall(
        r'<text class="chart-axis" x="\d+" y="[\d.]+" text-anchor="end">([^<]*)<', svg
    )


@pytest.mark.parametrize(
    ("largest", "ticks"), [(1, "0 1"), (3, "0 1 2 3"), (5, "0 2 4 6"), (38, "0 10 20 30 40")]
)
def test_count_axes_have_whole_number_ticks(largest: int, ticks: str) -> None:
    # The issue saw 0.5, 1.5 and 1.2, 2.5, 3.8 on count axes: fails if a fraction comes back.
    bands = [
        {"lower_percent": i * 10, "upper_percent": i * 10 + 10, "count": largest if i == 4 else 0}
        for i in range(10)
    ]
    assert " ".join(_axis_labels(str(charts.score_histogram(bands)))) == ticks
    timeline = str(charts.attempts_over_time([(date(2026, 1, 1), 1), (date(2026, 1, 2), largest)]))
    assert " ".join(_axis_labels(timeline)) == ticks


def test_the_top_value_label_stays_inside_the_picture() -> None:
    # The label above the tallest bar (and the highest point) was drawn at y = 11 and 7 and cut
    # at the phone font size: it needs a font's height (24 units on a phone) above it.
    svg = str(
        charts.question_correct_rate([{"kind": "numeric", "correct_rate": 1.0, "responses": 3}])
    )
    value_ys = [float(y) for y in re.findall(r'class="chart-value" x="[\d.]+" y="([\d.]+)"', svg)]
    assert value_ys and min(value_ys) >= 24
    line = str(charts.attempts_over_time([(date(2026, 1, 1), 4), (date(2026, 1, 2), 2)]))
    value_ys = [float(y) for y in re.findall(r'class="chart-value" x="[\d.]+" y="([\d.]+)"', line)]
    assert min(value_ys) >= 24


def test_signed_chart_draws_negative_bars_below_zero() -> None:
    svg = str(
        charts.signed_bar_chart(
            [Mark("Q1", 0.5, "up"), Mark("Q2", -0.5, "down"), Mark("Q3", None, "none")],
            title="T",
            description="D",
            css_class="c",
        )
    )
    root = _parse(svg)
    ns = "{http://www.w3.org/2000/svg}"
    up, down = root.findall(f"{ns}rect")
    assert float(up.get("height", 0)) == pytest.approx(float(down.get("height", 0)))
    assert float(down.get("y", 0)) == pytest.approx(
        float(up.get("y", 0)) + float(up.get("height", 0))
    )
    assert _axis_labels(svg) == ["-1", "-0.5", "0", "0.5", "1"]
    assert ">n/a</text>" in svg
