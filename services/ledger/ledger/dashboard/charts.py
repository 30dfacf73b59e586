"""Charts as SVG text, drawn on the server: a line/area chart and a stacked bar chart.

Pure: values in, geometry and markup out. Values are integer minor units; the
geometry is exact (`Fraction`) and written with two decimals, so a test can check
that bars stack to their totals and that negative values sit below the zero line.
SVG y grows downwards: a larger value has a smaller y.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from html import escape

from revline_pricing import round_half_up

from ledger.dashboard.money import exponent, major

TICKS = 4  # about this many steps between the axis' ends


@dataclass(frozen=True)
class Frame:
    """The drawing's size in pixels and the margins around the plot (axis labels go there)."""

    width: int = 720
    height: int = 260
    left: int = 92
    right: int = 12
    top: int = 14
    bottom: int = 30

    @property
    def plot_width(self) -> int:
        """Width of the plot between the margins."""
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        """Height of the plot between the margins."""
        return self.height - self.top - self.bottom

    def band(self, index: int, count: int) -> tuple[Fraction, Fraction]:
        """(left edge, width) of column `index` of `count` equal columns."""
        width = Fraction(self.plot_width, count)
        return self.left + index * width, width


@dataclass(frozen=True)
class Axis:
    """A value axis from `low` to `high` (minor units, low <= 0 <= high), a tick each `step`."""

    low: int
    high: int
    step: int

    def y(self, value: int, frame: Frame) -> Fraction:
        """The y of `value` in `frame` (high at the top of the plot, low at its bottom)."""
        return frame.top + Fraction((self.high - value) * frame.plot_height, self.high - self.low)

    @property
    def ticks(self) -> tuple[int, ...]:
        """low, low + step, ..., high."""
        return tuple(range(self.low, self.high + 1, self.step))


def nice_axis(values: Iterable[int], ticks: int = TICKS) -> Axis:
    """An axis holding every value and 0, its step 1, 2 or 5 x a power of ten, its ends
    multiples of the step."""
    seen = list(values)
    low, high = min(0, *seen) if seen else 0, max(0, *seen) if seen else 0
    if low == high:
        high = low + 1
    rough = -(-(high - low) // ticks)  # ceil
    power = 10 ** (len(str(rough)) - 1)
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return Axis((low // step) * step, -(-high // step) * step, step)


def px(value: Fraction | int) -> str:
    """A coordinate written with at most two decimals, rounded half up."""
    exact = Fraction(value) * 100
    hundredths = round_half_up(Decimal(exact.numerator) / Decimal(exact.denominator))
    sign, size = ("-" if hundredths < 0 else ""), abs(hundredths)
    text = f"{sign}{size // 100}.{size % 100:02d}"
    return text.rstrip("0").rstrip(".")


def tick_label(value: int, currency: str) -> str:
    """An axis label in major units; without decimals when the tick is a whole unit."""
    whole = 10 ** exponent(currency)
    if value % whole == 0:
        return major(value // whole, "JPY")  # a whole number, thousands separated
    return major(value, currency)


def _axis_svg(axis: Axis, frame: Frame, currency: str) -> list[str]:
    parts = ['<g class="axis">']
    for value in axis.ticks:
        y = px(axis.y(value, frame))
        css = "zero" if value == 0 else "grid"
        parts.append(
            f'<line class="{css}" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y}" y2="{y}" stroke="{"#444" if value == 0 else "#ddd"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="tick" x="{frame.left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="11">{escape(tick_label(value, currency))}'
            "</text>"
        )
    parts.append("</g>")
    return parts


def _labels_svg(labels: Sequence[str], frame: Frame) -> list[str]:
    parts = ['<g class="labels">']
    for index, label in enumerate(labels):
        left, width = frame.band(index, len(labels))
        parts.append(
            f'<text class="label" x="{px(left + width / 2)}" y="{frame.height - 10}" '
            f'text-anchor="middle" font-size="10">{escape(label)}</text>'
        )
    parts.append("</g>")
    return parts


def _open(title: str, css: str, frame: Frame) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="{frame.width}" '
        f'height="{frame.height}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]


# -- line / area --------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """A value of the series and where it is drawn (the middle of its column)."""

    label: str
    value: int
    x: Fraction
    y: Fraction


@dataclass(frozen=True)
class LineChart:
    """A series over time as a line over a filled area down to the zero line."""

    title: str
    currency: str
    frame: Frame
    axis: Axis
    points: tuple[Point, ...]

    @property
    def zero_y(self) -> Fraction:
        """The y of the zero line (the area's base)."""
        return self.axis.y(0, self.frame)

    def line_path(self) -> str:
        """`M x y L x y ...` through every point, in order."""
        steps = (f"{'M' if i == 0 else 'L'}{px(p.x)} {px(p.y)}" for i, p in enumerate(self.points))
        return " ".join(steps)

    def area_path(self) -> str:
        """The line, then down to the zero line and back to the first point's foot."""
        if not self.points:
            return ""
        first, last = self.points[0], self.points[-1]
        zero = px(self.zero_y)
        return f"{self.line_path()} L{px(last.x)} {zero} L{px(first.x)} {zero} Z"

    def svg(self) -> str:
        """The chart as an inline `<svg>` element."""
        parts = _open(self.title, "line-chart", self.frame)
        parts += _axis_svg(self.axis, self.frame, self.currency)
        if self.points:
            parts.append(f'<path class="area" d="{self.area_path()}" fill="#cfe3f7"/>')
            parts.append(
                f'<path class="line" d="{self.line_path()}" fill="none" stroke="#1f6fb8" '
                'stroke-width="2"/>'
            )
        for point in self.points:
            parts.append(
                f'<circle class="point" cx="{px(point.x)}" cy="{px(point.y)}" r="3" '
                f'fill="#1f6fb8" data-label="{escape(point.label)}" data-value="{point.value}">'
                f"<title>{escape(point.label)}: {escape(major(point.value, self.currency))}"
                "</title></circle>"
            )
        parts += _labels_svg([p.label for p in self.points], self.frame)
        parts.append("</svg>")
        return "".join(parts)


def line_chart(
    title: str, series: Sequence[tuple[str, int]], currency: str, frame: Frame | None = None
) -> LineChart:
    """A line/area chart of (label, value) pairs, one column each, left to right."""
    frame = frame or Frame()
    axis = nice_axis(value for _, value in series)
    points = []
    for index, (label, value) in enumerate(series):
        left, width = frame.band(index, len(series))
        points.append(Point(label, value, left + width / 2, axis.y(value, frame)))
    return LineChart(title, currency, frame, axis, tuple(points))


# -- stacked bars -------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One kind's bar in a column, from `y_from` (its end nearer zero) to `y_to`.

    `value` is signed: a positive one is drawn above the zero line, a negative one below.
    """

    label: str
    kind: str
    value: int
    x: Fraction
    width: Fraction
    y_from: Fraction
    y_to: Fraction

    @property
    def top(self) -> Fraction:
        """The rectangle's upper edge."""
        return min(self.y_from, self.y_to)

    @property
    def height(self) -> Fraction:
        """The rectangle's height."""
        return abs(self.y_to - self.y_from)


@dataclass(frozen=True)
class StackedBarChart:
    """Columns of signed values per kind: positives stacked up from zero, negatives down."""

    title: str
    currency: str
    frame: Frame
    axis: Axis
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    colours: Mapping[str, str]
    segments: tuple[Segment, ...]

    @property
    def zero_y(self) -> Fraction:
        """The y of the zero line, where both stacks start."""
        return self.axis.y(0, self.frame)

    def column(self, label: str) -> tuple[Segment, ...]:
        """The segments of one column, in drawing order."""
        return tuple(s for s in self.segments if s.label == label)

    def svg(self) -> str:
        """The chart as an inline `<svg>` element, with a legend of the kinds."""
        parts = _open(self.title, "bar-chart", self.frame)
        parts += _axis_svg(self.axis, self.frame, self.currency)
        parts.append('<g class="bars">')
        for s in self.segments:
            parts.append(
                f'<rect class="bar" x="{px(s.x)}" y="{px(s.top)}" width="{px(s.width)}" '
                f'height="{px(s.height)}" fill="{self.colours.get(s.kind, "#888")}" '
                f'data-label="{escape(s.label)}" data-kind="{escape(s.kind)}" '
                f'data-value="{s.value}"><title>{escape(s.label)} {escape(s.kind)}: '
                f"{escape(major(s.value, self.currency))}</title></rect>"
            )
        parts.append("</g>")
        parts += _labels_svg(self.labels, self.frame)
        parts.append("</svg>")
        return "".join(parts)


def stacked_bar_chart(
    title: str,
    columns: Sequence[tuple[str, Mapping[str, int]]],
    kinds: Sequence[str],
    colours: Mapping[str, str],
    currency: str,
    frame: Frame | None = None,
) -> StackedBarChart:
    """A column per (label, {kind: signed value}); within a column the kinds stack in the
    order of `kinds`, positives upwards from zero and negatives downwards. A zero value
    draws nothing."""
    frame = frame or Frame()
    ups = [sum(v for v in values.values() if v > 0) for _, values in columns]
    downs = [sum(v for v in values.values() if v < 0) for _, values in columns]
    axis = nice_axis([*ups, *downs])
    segments = []
    for index, (label, values) in enumerate(columns):
        left, width = frame.band(index, len(columns))
        bar_x, bar_width = left + width / 6, width * 2 / 3
        above, below = 0, 0
        for kind in kinds:
            value = values.get(kind, 0)
            if value == 0:
                continue
            start = above if value > 0 else below
            end = start + value
            y_from, y_to = axis.y(start, frame), axis.y(end, frame)
            segments.append(Segment(label, kind, value, bar_x, bar_width, y_from, y_to))
            if value > 0:
                above = end
            else:
                below = end
    return StackedBarChart(
        title, currency, frame, axis, tuple(c[0] for c in columns), tuple(kinds),
        dict(colours), tuple(segments),
    )  # fmt: skip
