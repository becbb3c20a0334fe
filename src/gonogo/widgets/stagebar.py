"""The stage bar: Staging → Canary → 25 % → … → Stable, with the hold countdown."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.untrusted import printable
from gonogo.widgets.palette import colour
from gonogo.widgets.view import StageCell

_MARK = {"done": "✔ ", "current": "▶ ", "stopped": "✘ ", "next": ""}


class StageBar(Widget):
    """Two lines: the stages (current one marked and reversed) and the hold/weight line."""

    DEFAULT_CSS = """
    StageBar { text-wrap: nowrap; text-overflow: ellipsis; height: 2; padding: 0 1; }
    """

    cells: reactive[tuple[StageCell, ...]] = reactive(())
    """One cell per stage plus Stable (``view.stage_cells``)."""
    hold: reactive[str] = reactive("", repaint=False)
    """The phase, hold countdown and traffic line (``view.hold_line``); ticks each second."""

    def watch_hold(self) -> None:
        # the countdown's line only: the stages above it did not change (bytes over SSH)
        self.refresh(Region(0, 1, self.size.width, 1))

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, cell in enumerate(self.cells):
            if i:
                text.append(" → ", style="dim")
            label = f"{_MARK[cell.status]}{printable(cell.label)}"
            if cell.status == "current":
                text.append(f" {label} ", style=f"bold reverse {colour(self.app, 'canary')}")
            elif cell.status == "stopped":
                text.append(f" {label} ", style=f"bold reverse {colour(self.app, 'fail')}")
            elif cell.status == "done":
                text.append(label, style=colour(self.app, "pass"))
            else:
                text.append(label, style="dim")
        text.append("\n")
        text.append(printable(self.hold))
        return text
