"""A braille line chart: pure drawing maths plus a thin Rich renderable.

Each terminal cell holds a 2×4 grid of braille dots, so a chart of ``width``
cells × ``height`` rows has ``2·width`` × ``4·height`` dots. Series are drawn in
priority order (the first wins a cell's colour); consecutive points are joined
vertically so a spike stays visible. ``None`` is a gap (no data), never zero.

Colour alone must not tell the lines apart (NO_COLOR, a monochrome terminal, a
colour-blind reader), so each series also has a line style: ``solid`` (every dot
column), ``dotted`` (one dot column per cell) or ``dashed`` (every other cell). The
patterns are anchored to the chart's columns, so a new sample changes no other cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from rich.measure import Measurement

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style

BRAILLE_BASE = 0x2800
# bit for the dot at (column, row) inside one cell
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))

Cell = tuple[str, int | None]  # (character, index of the series that owns it)
LineStyle = Literal["solid", "dotted", "dashed"]


def draws(style: LineStyle, x: int) -> bool:
    """Whether a line of ``style`` has a dot in dot column ``x``."""
    if style == "dotted":
        return x % 2 == 0
    if style == "dashed":
        return (x // 2) % 2 == 0
    return True


def nice_ceiling(v: float) -> float:
    """The least of 1, 2, 2.5, 5 × 10^k at or above ``v`` (> 0): a scale label that reads."""
    if v <= 0 or not math.isfinite(v):
        return 1.0
    base = 10.0 ** math.floor(math.log10(v))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * base >= v * (1 - 1e-9):
            return step * base
    return 10.0 * base  # pragma: no cover - the loop always returns


def value_range(series: Sequence[Sequence[float | None]], floor_zero: bool = True) -> tuple[float, float]:
    """A y-range covering every value, from 0 (or below, for negative values) up to a
    round number (``nice_ceiling``), so that the scale's labels read; (0, 1) when empty."""
    values = [v for s in series for v in s if v is not None and math.isfinite(v)]
    if not values:
        return (0.0, 1.0)
    lo, hi = min(values), max(values)
    if floor_zero and lo > 0:
        lo = 0.0
    if lo >= 0:
        return (lo, lo + nice_ceiling(hi - lo) if hi > lo else lo + (abs(lo) or 1.0))
    if hi <= 0:
        return (-nice_ceiling(-lo), 0.0)
    top = nice_ceiling(hi)
    return (-nice_ceiling(-lo), top)


def resample(values: Sequence[float | None], columns: int) -> list[float | None]:
    """Nearest-sample values onto ``columns`` dot columns, newest at the right."""
    n = len(values)
    if n == 0 or columns <= 0:
        return [None] * max(columns, 0)
    if n >= columns:  # keep the newest ``columns`` samples
        return list(values[n - columns:])
    # fewer samples than columns: stretch them across the whole width
    return [values[min(n - 1, c * n // columns)] for c in range(columns)]


def plot(
    series: Sequence[Sequence[float | None]],
    width: int,
    height: int,
    y_range: tuple[float, float] | None = None,
    styles: Sequence[LineStyle] = (),
) -> list[list[Cell]]:
    """Rows (top first) of (braille char, owning series index or None); series ``i`` is
    drawn in ``styles[i]`` (default solid)."""
    width, height = max(1, width), max(1, height)
    lo, hi = y_range or value_range(series)
    span = (hi - lo) or 1.0
    dots_y = height * 4
    bits = [[0] * width for _ in range(height)]
    owner: list[list[int | None]] = [[None] * width for _ in range(height)]

    def dot_row(v: float) -> int:
        frac = (v - lo) / span
        return min(dots_y - 1, max(0, round((1.0 - frac) * (dots_y - 1))))

    for index, values in enumerate(series):
        style: LineStyle = styles[index] if index < len(styles) else "solid"
        points = resample(values, width * 2)
        prev: int | None = None
        for x, v in enumerate(points):
            if v is None or not math.isfinite(v):
                prev = None
                continue
            if not draws(style, x):
                continue  # a sparse line joins from the last dot it drew
            y = dot_row(v)
            ys = range(min(y, prev), max(y, prev) + 1) if prev is not None else (y,)
            for yy in ys:
                cell_row, cell_col = yy // 4, x // 2
                bits[cell_row][cell_col] |= _DOT_BITS[x % 2][yy % 4]
                if owner[cell_row][cell_col] is None:
                    owner[cell_row][cell_col] = index
            prev = y
    return [
        [(chr(BRAILLE_BASE + bits[r][c]) if bits[r][c] else " ", owner[r][c]) for c in range(width)]
        for r in range(height)
    ]


def to_text(rows: list[list[Cell]]) -> str:
    return "\n".join("".join(ch for ch, _ in row) for row in rows)


def line_sample(style: LineStyle, width: int = 2) -> str:
    """How a flat line of ``style`` looks, ``width`` cells long (a legend's key)."""
    return to_text(plot([[0.5] * (2 * width)], width, 1, (0.0, 1.0), (style,)))


def scale_rows(lo_label: str, hi_label: str, height: int, width: int = 0) -> list[str]:
    """A y-axis beside a chart of ``height`` rows, right-aligned in ``width`` cells (at
    least the labels' and the tick's): the top of the range on the first row, the bottom
    on the last (``0.5%┤`` … ``0┤``)."""
    w = max(len(lo_label), len(hi_label), width - 1)
    if height <= 1:
        return [f"{hi_label:>{w}}┤"]
    return ([f"{hi_label:>{w}}┤"] + [" " * w + "│"] * (height - 2) + [f"{lo_label:>{w}}┤"])


class BrailleChart:
    """Rich renderable: series drawn in braille, each with its own style.

    The width follows the space Rich offers unless ``width`` is given.
    """

    def __init__(
        self,
        series: Sequence[Sequence[float | None]],
        styles: Sequence[Style | str],
        height: int = 2,
        width: int | None = None,
        y_range: tuple[float, float] | None = None,
        line_styles: Sequence[LineStyle] = (),
    ) -> None:
        self.series = series
        self.styles = styles
        self.height = height
        self.width = width
        self.y_range = y_range
        self.line_styles = line_styles

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        width = self.width or options.max_width
        rows = plot(self.series, width, self.height, self.y_range, self.line_styles)
        for i, row in enumerate(rows):
            for ch, who in row:
                style = self.styles[who] if who is not None and who < len(self.styles) else None
                yield Segment(ch, console.get_style(style) if isinstance(style, str) else style)
            if i < len(rows) - 1:
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width or 4, self.width or options.max_width)


Point = tuple[float, float | None, float | None]  # (time, canary, baseline)


class PagedWindow:
    """Which samples a strip chart shows when it pages instead of scrolling.

    A scrolling chart moves every dot on every new sample, so each update repaints every
    cell of it (over SSH: the whole chart, every second). A paged chart fills from the
    left and, when full, jumps to keep its newest half: a new sample changes one column
    of cells, and the whole chart is drawn again once per ``capacity // 2`` samples (or
    when a value leaves the y-range, which is kept between samples for the same reason).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(2, capacity)
        self.first_t: float | None = None
        self.y_range: tuple[float, float] | None = None

    def visible(self, series: Sequence[Point]) -> list[Point]:
        if self.first_t is None:
            shown = list(series[-self.capacity:])
        else:
            first = self.first_t
            shown = [p for p in series if p[0] >= first]
            if len(shown) > self.capacity:
                shown = shown[-(self.capacity // 2):]
        if not shown:
            self.first_t = None
            return []
        if shown[0][0] != self.first_t:
            self.first_t, self.y_range = shown[0][0], None
        return shown

    def range_for(self, values: Sequence[Sequence[float | None]]) -> tuple[float, float]:
        finite = [v for s in values for v in s if v is not None and math.isfinite(v)]
        lo_hi = self.y_range
        if lo_hi is None or any(v < lo_hi[0] or v > lo_hi[1] for v in finite):
            lo_hi = self.y_range = value_range(values)
        return lo_hi


# the order ``paged_plot`` draws in (the first wins a cell's colour) and each line's style
SERIES_ORDER = ("canary", "threshold", "baseline")
LINE_STYLES: tuple[LineStyle, LineStyle, LineStyle] = ("solid", "dashed", "dotted")


def paged_plot(series: Sequence[Point], threshold: float | None, window: PagedWindow,
               width: int, height: int,
               limit_of: Callable[[float | None], float | None] | None = None) -> list[list[Cell]]:
    """Rows of a paged strip chart ``width`` cells wide; series index 0 canary (solid), 1
    the limit (dashed), 2 baseline (dotted): the priority order of ``plot``.
    ``window.y_range`` is the range drawn (for the scale).

    The limit is ``threshold`` across the whole width, or with ``limit_of`` the limit
    each sample was judged against (from its baseline: ``ratio_above``), so that a
    baseline moving the limit adds a column instead of moving a whole line."""
    dots = 2 * max(1, width)
    shown = window.visible(series)
    per_slot = [min(window.capacity - 1, x * window.capacity // dots) for x in range(dots)]
    canary = [shown[s][1] if s < len(shown) else None for s in per_slot]
    baseline = [shown[s][2] if s < len(shown) else None for s in per_slot]
    limit: list[float | None]
    if limit_of is not None:
        limits = [limit_of(p[2]) for p in shown]
        limit = [limits[s] if s < len(limits) else None for s in per_slot]
    else:
        limit = [threshold] * dots if threshold is not None else []
    y_range = window.range_for([canary, baseline, limit])
    return plot([canary, limit, baseline], width, height, y_range, LINE_STYLES)
