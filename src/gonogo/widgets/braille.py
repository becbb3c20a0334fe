"""A braille line chart: pure drawing maths plus a thin Rich renderable.

Each terminal cell holds a 2×4 grid of braille dots, so a chart of ``width``
cells × ``height`` rows has ``2·width`` × ``4·height`` dots. Series are drawn in
priority order (the first wins a cell's colour); consecutive points are joined
vertically so a spike stays visible. ``None`` is a gap (no data), never zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.measure import Measurement

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style

BRAILLE_BASE = 0x2800
# bit for the dot at (column, row) inside one cell
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))

Cell = tuple[str, int | None]  # (character, index of the series that owns it)


def value_range(series: Sequence[Sequence[float | None]], floor_zero: bool = True) -> tuple[float, float]:
    """A y-range covering every value (with a little headroom); (0, 1) when empty."""
    values = [v for s in series for v in s if v is not None and math.isfinite(v)]
    if not values:
        return (0.0, 1.0)
    lo, hi = min(values), max(values)
    if floor_zero and lo > 0:
        lo = 0.0
    if hi - lo < 1e-12:
        hi = lo + (abs(lo) or 1.0)
    return (lo, hi + (hi - lo) * 0.05)


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
) -> list[list[Cell]]:
    """Rows (top first) of (braille char, owning series index or None)."""
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
        points = resample(values, width * 2)
        prev: int | None = None
        for x, v in enumerate(points):
            if v is None or not math.isfinite(v):
                prev = None
                continue
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
    ) -> None:
        self.series = series
        self.styles = styles
        self.height = height
        self.width = width
        self.y_range = y_range

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        width = self.width or options.max_width
        rows = plot(self.series, width, self.height, self.y_range)
        for i, row in enumerate(rows):
            for ch, who in row:
                style = self.styles[who] if who is not None and who < len(self.styles) else None
                yield Segment(ch, console.get_style(style) if isinstance(style, str) else style)
            if i < len(rows) - 1:
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width or 4, self.width or options.max_width)
