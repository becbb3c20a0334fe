"""Recent activity: the last journal events, newest last (the session log in brief)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

# events a watcher cares about at a glance (samples and check results are summarised)
QUIET = frozenset({"samples"})


def event_summary(event: Any) -> str:
    data = getattr(event, "data", {}) or {}
    kind = event.kind
    if kind == "check_result" and isinstance(data.get("result"), dict):
        r = data["result"]
        return f"{r.get('id')}: {r.get('status')}"
    for key in ("stage", "reason", "step", "role", "item", "metric", "weight"):
        if key in data and data[key] not in (None, ""):
            value = data[key]
            return f"{key} {value}" if key != "reason" else str(value)
    return ""


class ActivityLog(Static):
    DEFAULT_CSS = """
    ActivityLog { height: auto; padding: 0 1; }
    """

    def __init__(self, rows: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows
        self._memo: tuple[int, int] | None = None

    def show(self, events: Sequence[Any]) -> None:
        key = (len(events), self.rows)
        if key == self._memo:
            return
        self._memo = key
        picked = [e for e in events if e.kind not in QUIET][-self.rows:]
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, event in enumerate(picked):
            stamp = time.strftime("%H:%M:%S", time.gmtime(float(getattr(event, "time", 0.0))))
            if i:
                text.append("\n")
            text.append(f"{stamp} ", style="dim")
            text.append(f"{event.kind} ", style="bold")
            text.append(event_summary(event), style="dim")
        self.update(text if picked else Text("no events yet", style="dim"))
