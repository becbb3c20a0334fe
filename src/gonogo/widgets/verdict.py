"""The verdict line: release, GO / NO-GO and what blocks it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from gonogo.widgets.palette import colour


class VerdictBar(Static):
    """``✘ NO-GO · 3 blocking`` beside the release; the blockers' ids follow."""

    DEFAULT_CSS = """
    VerdictBar { height: 1; padding: 0 1; background: $panel; }
    """

    _memo: Any = None

    def show(self, plan: Any, verdict: Any) -> None:
        if verdict == self._memo:  # unchanged: skip the repaint
            return
        self._memo = verdict
        release = plan.release
        text = Text(no_wrap=True, overflow="ellipsis")
        if verdict.go:
            text.append(" ✔ GO ", style=f"bold reverse {colour(self.app, 'pass')}")
        else:
            count = len(verdict.blocking)
            text.append(" ✘ NO-GO ", style=f"bold reverse {colour(self.app, 'fail')}")
            text.append(f" {count} blocking", style=f"bold {colour(self.app, 'fail')}")
        text.append(f"  {release.name}", style="bold")
        text.append(f" @{release.commit[:8]} → {release.environment}", style="dim")
        if not verdict.go:
            ids = ", ".join(b.id for b in verdict.blocking[:6])
            more = len(verdict.blocking) - 6
            text.append(f"  {ids}{f' +{more}' if more > 0 else ''}", style="dim")
        self.update(text, layout=False)
