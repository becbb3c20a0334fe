"""The stage bar: Staging → Canary → 25 % → … → Stable, with the hold countdown."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from gonogo.widgets.palette import colour
from gonogo.widgets.view import hold_line, stage_cells

_MARK = {"done": "✔ ", "current": "▶ ", "next": ""}


class StageBar(Static):
    """Two lines: the stages (current one marked and reversed) and the hold/weight line."""

    DEFAULT_CSS = """
    StageBar { height: 2; padding: 0 1; }
    """

    _memo: Any = None

    def show(self, state: Any, now: float) -> None:
        key = (state.phase, state.stage_index, state.weight_intended, state.weight_confirmed,
               state.stop_reason, hold_line(state, now))
        if key == self._memo:
            return
        self._memo = key
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, cell in enumerate(stage_cells(state)):
            if i:
                text.append(" → ", style="dim")
            label = f"{_MARK[cell.status]}{cell.label}"
            if cell.status == "current":
                text.append(f" {label} ", style=f"bold reverse {colour(self.app, 'canary')}")
            elif cell.status == "done":
                text.append(label, style=colour(self.app, "pass"))
            else:
                text.append(label, style="dim")
        text.append("\n")
        text.append(hold_line(state, now))
        self.update(text, layout=False)
