"""The server-side SVG charts' geometry: stacks, zero line, axis labels, paths."""

from __future__ import annotations

import re
from fractions import Fraction

from ledger.dashboard.charts import Frame, line_chart, nice_axis, px, stacked_bar_chart

KINDS = ["new", "expansion", "reactivation", "contraction", "churn"]
COLOURS = dict.fromkeys(KINDS, "#000")
# M1's movements, contraction and churn negative (METRICS.md).
M1_COLUMNS = [
    ("2025-01", {"new": 50000}),
    ("2025-02", {"expansion": 20000, "churn": -15000}),
    ("2025-03", {"contraction": -8333}),
    ("2025-04", {"reactivation": 12000, "contraction": -10000}),
]


def test_the_axis_holds_every_value_and_zero_with_a_round_step() -> None:
    assert nice_axis([172000, 123333]) == nice_axis([0, 172000])
    axis = nice_axis([172000, 123333])
    assert (axis.low, axis.high, axis.step) == (0, 200000, 50000)
    assert axis.ticks == (0, 50000, 100000, 150000, 200000)
    both = nice_axis([-15000, 50000])
    assert (both.low, both.high, both.step) == (-20000, 60000, 20000)
    assert nice_axis([]).ticks == (0, 1)


def test_positive_bars_stack_up_from_zero_to_the_month_s_positive_total() -> None:
    chart = stacked_bar_chart("m", M1_COLUMNS, KINDS, COLOURS, "EUR")
    zero = chart.zero_y
    [new] = chart.column("2025-01")
    assert (new.kind, new.value, new.y_from) == ("new", 50000, zero)
    assert new.y_to == chart.axis.y(50000, chart.frame) < zero
    april = chart.column("2025-04")
    assert [(s.kind, s.value) for s in april] == [("reactivation", 12000), ("contraction", -10000)]


def test_negative_bars_hang_below_the_zero_line_and_stack_downwards() -> None:
    columns = [("2025-05", {"expansion": 300, "new": 700, "contraction": -200, "churn": -500})]
    chart = stacked_bar_chart("m", columns, KINDS, COLOURS, "EUR")
    zero, y = chart.zero_y, (lambda v: chart.axis.y(v, chart.frame))
    new, expansion, contraction, churn = chart.column("2025-05")
    # Kinds stack in the given order: new first from zero, expansion on top of it.
    assert (new.y_from, new.y_to) == (zero, y(700))
    assert (expansion.y_from, expansion.y_to) == (y(700), y(1000))
    assert (contraction.y_from, contraction.y_to) == (zero, y(-200))
    assert (churn.y_from, churn.y_to) == (y(-200), y(-700))
    for bar in (contraction, churn):
        assert bar.top >= zero
    # Heights add up to the totals on each side.
    scale = Fraction(chart.frame.plot_height, chart.axis.high - chart.axis.low)
    assert new.height + expansion.height == 1000 * scale
    assert contraction.height + churn.height == 700 * scale


def test_a_zero_value_draws_no_bar_and_columns_share_the_plot_width() -> None:
    chart = stacked_bar_chart("m", M1_COLUMNS, KINDS, COLOURS, "EUR")
    assert len(chart.segments) == 6
    frame = chart.frame
    xs = sorted({s.x for s in chart.segments})
    width = Fraction(frame.plot_width, 4)
    assert xs == [frame.left + i * width + width / 6 for i in range(4)]


def test_the_bar_svg_has_a_rect_per_segment_with_its_value_and_the_axis_labels() -> None:
    svg = stacked_bar_chart("MRR movements", M1_COLUMNS, KINDS, COLOURS, "EUR").svg()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>")
    rects = re.findall(r'<rect class="bar"[^>]*data-kind="(\w+)" data-value="(-?\d+)"', svg)
    assert rects == [("new", "50000"), ("expansion", "20000"), ("churn", "-15000"),
                     ("contraction", "-8333"), ("reactivation", "12000"),
                     ("contraction", "-10000")]  # fmt: skip
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["-200", "0", "200", "400", "600"]  # major units: -20000 cents is -200
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', svg)
    assert labels == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert "<title>2025-02 churn: -150.00</title>" in svg


def test_no_rect_has_a_negative_height_and_every_one_stays_in_the_frame() -> None:
    chart = stacked_bar_chart("m", M1_COLUMNS, KINDS, COLOURS, "EUR")
    for s in chart.segments:
        assert s.height > 0
        assert (
            chart.frame.top <= s.top and s.top + s.height <= chart.frame.height - chart.frame.bottom
        )


def test_the_line_goes_through_each_point_and_the_area_closes_on_the_zero_line() -> None:
    series = [("2025-01", 173333), ("2025-02", 178333), ("2025-03", 170000), ("2025-04", 172000)]
    chart = line_chart("MRR", series, "EUR", Frame(width=500, height=200))
    y = lambda v: chart.axis.y(v, chart.frame)  # noqa: E731
    assert [p.y for p in chart.points] == [y(v) for _, v in series]
    assert [p.label for p in chart.points] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    first, last = chart.points[0], chart.points[-1]
    assert chart.line_path().startswith(f"M{px(first.x)} {px(first.y)} L")
    assert chart.area_path().endswith(
        f"L{px(last.x)} {px(chart.zero_y)} L{px(first.x)} {px(chart.zero_y)} Z"
    )
    svg = chart.svg()
    assert svg.count('<circle class="point"') == 4
    assert 'data-label="2025-04" data-value="172000"' in svg
    assert "<title>2025-04: 1,720.00</title>" in svg
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["0", "500", "1,000", "1,500", "2,000"]


def test_coordinates_are_written_exactly_to_two_decimals() -> None:
    assert px(Fraction(1, 3)) == "0.33"
    assert px(Fraction(1, 200)) == "0.01"  # half up
    assert px(Fraction(92)) == "92"
    assert px(Fraction(5, 2)) == "2.5"


def test_labels_and_titles_are_escaped() -> None:
    svg = line_chart("<b>&", [("<x>", 1)], "EUR").svg()
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and "&lt;x&gt;" in svg
