"""A widget drawn as lines of Rich ``Text`` that repaints only the cells that changed.

Watching a canary over SSH costs bytes per update: a panel re-rendered whole (a Rich
``Table`` measured, laid out and sent again) for a few changed digits cost ~16 KB a
frame. ``LineView`` keeps the strips it drew; when its data changes it draws them again,
compares them cell by cell and refreshes only the changed span of each line, so the
terminal receives what changed. Its height is the number of lines it draws, known
without rendering a table to measure it (``get_content_height``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


class LineView(Widget):
    """Subclasses draw their lines in ``lines(width)`` and call ``changed()`` when
    their data changed (from a reactive's watcher). A ``title`` is the first line
    (a panel's heading, without a widget of its own)."""

    COMPONENT_CLASSES = {"lineview--title"}
    DEFAULT_CSS = """
    LineView { height: auto; }
    LineView > .lineview--title { color: $text-muted; text-style: bold; }
    """

    def __init__(self, *, title: str = "", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self._key: tuple[int, str, object] | None = None  # (width, theme, layout_key())
        self._strips: list[Strip] = []

    # what a subclass provides ----------------------------------------------
    def lines(self, width: int) -> list[Text]:
        """The widget's lines for a content ``width`` (each cut to fit by the caller)."""
        raise NotImplementedError

    def layout_key(self) -> object:
        """Anything besides the width and the theme that changes how lines are drawn."""
        return None

    # drawing -----------------------------------------------------------------
    def _draw(self, width: int) -> list[Strip]:
        console = self.app.console
        base = self.rich_style  # the widget's colours under every segment's own
        strips = []
        heading = [Text(self.title, style=self.get_component_rich_style("lineview--title"))]
        for text in (heading if self.title else []) + self.lines(width):
            if "\n" in text.plain:  # one line each: a stray newline would tear the strip
                text = text.split("\n")[0]
            if text.style:  # Text.render leaves a text's own style to its caller
                text.stylize_before(text.style)
                text.style = ""
            text.no_wrap = True
            text.truncate(width, overflow=text.overflow or "ellipsis", pad=True)
            segments = [s for s in text.render(console, end="") if s.text]
            strips.append(Strip(segments).adjust_cell_length(width).apply_style(base).simplify())
        return strips

    def _current(self, width: int) -> list[Strip]:
        key = (width, self.app.theme, self.layout_key())
        if key != self._key:
            self._strips = self._draw(width)
            self._key = key
        return self._strips

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._current(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        strips = self._current(width)
        return strips[y] if y < len(strips) else Strip.blank(width)

    def changed(self) -> None:
        """The data changed: repaint the cells that differ (a new height lays out)."""
        if not self.is_mounted or self._key is None:
            self.refresh(layout=True)
            return
        width = self._key[0]
        old, new = self._strips, self._draw(width)
        self._strips = new
        if len(old) != len(new) or (self.app.theme, self.layout_key()) != self._key[1:]:
            self._key = None
            self.refresh(layout=True)
            return
        for y, (before, after) in enumerate(zip(old, new, strict=True)):
            for start, end in changed_spans(before, after):
                self.refresh(Region(start, y, end - start, 1))


def _cells(strip: Strip) -> list[tuple[str, Style | None]]:
    """One entry per terminal cell: (character, style); a wide character's second cell is ''."""
    cells: list[tuple[str, Style | None]] = []
    for segment in strip:
        text, style = segment.text, segment.style
        if text.isascii():
            cells.extend((ch, style) for ch in text)
            continue
        for ch in text:
            cells.append((ch, style))
            cells.extend(("", style) for _ in range(cell_len(ch) - 1))
    return cells


def changed_span(before: Strip, after: Strip) -> tuple[int, int] | None:
    """[start, end) of the cells that differ between two strips, or ``None``."""
    if list(before) == list(after):
        return None
    a, b = _cells(before), _cells(after)
    if len(a) != len(b):
        return (0, max(len(a), len(b)))
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
    if start is None:
        return None
    end = len(a)
    while end > start and a[end - 1] == b[end - 1]:
        end -= 1
    return (start, end)


SPAN_GAP = 6  # unchanged cells worth skipping: a cursor move costs about as many bytes


def changed_spans(before: Strip, after: Strip, gap: int = SPAN_GAP) -> list[tuple[int, int]]:
    """The [start, end) runs of cells that differ, split where at least ``gap`` cells in
    between are unchanged: a row whose value and chart both moved sends the two, not
    the text between them."""
    if list(before) == list(after):
        return []
    a, b = _cells(before), _cells(after)
    if len(a) != len(b):
        return [(0, max(len(a), len(b)))]
    spans: list[tuple[int, int]] = []
    start = end = -1
    for x, (p, q) in enumerate(zip(a, b, strict=True)):
        if p == q:
            continue
        if start < 0:
            start = x
        elif x - end >= gap:
            spans.append((start, end))
            start = x
        end = x + 1
    if start >= 0:
        spans.append((start, end))
    return spans


def columns(cells: Iterable[tuple[Text, int]], gap: int = 2) -> Text:
    """Cells of given widths side by side, each cut with an ellipsis or padded."""
    line = Text(no_wrap=True)
    for i, (cell, width) in enumerate(cells):
        if i:
            line.append(" " * gap)
        cell = cell.copy()
        cell.truncate(width, overflow="ellipsis", pad=True)
        line.append_text(cell)
    return line


def segments_text(segments: Iterable[Segment]) -> Text:
    """Rich segments (a braille chart row) as ``Text``."""
    text = Text(no_wrap=True)
    for segment in segments:
        text.append(segment.text, segment.style)
    return text
