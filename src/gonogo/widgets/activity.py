"""Recent activity: the last journal events, newest last (the session log in brief)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.rollout.journal import Event

# events a watcher does not need at a glance (metric polls arrive every few seconds)
QUIET = frozenset({"samples"})


def event_summary(event: Event) -> str:
    data = event.data
    if event.kind == "check_result" and isinstance(data.get("result"), dict):
        r = data["result"]
        return f"{r.get('id')}: {r.get('status')}"
    if event.kind == "advance_confirmed":
        forced = f" (forced: {data.get('reason')})" if data.get("forced") else ""
        return f"→ {data.get('to_stage')}{forced}"
    for key in ("stage", "reason", "step", "role", "item", "metric", "weight"):
        if key in data and data[key] not in (None, ""):
            value = data[key]
            return f"{key} {value}" if key != "reason" else str(value)
    return ""


def recent(events: Sequence[Event], rows: int) -> tuple[Event, ...]:
    """The last ``rows`` events worth showing, oldest first (scans from the end only)."""
    picked: list[Event] = []
    for event in reversed(events):
        if len(picked) >= rows:
            break
        if event.kind not in QUIET:
            picked.append(event)
    return tuple(reversed(picked))


class ActivityLog(Widget):
    DEFAULT_CSS = """
    ActivityLog { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    events: reactive[tuple[Event, ...]] = reactive((), layout=True)
    """The events to show (``recent(...)``), oldest first."""

    def render(self) -> Text:
        if not self.events:
            return Text("no events yet", style="dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, event in enumerate(self.events):
            stamp = time.strftime("%H:%M:%S", time.gmtime(event.time))
            if i:
                text.append("\n")
            text.append(f"{stamp} ", style="dim")
            text.append(f"{event.kind} ", style="bold")
            text.append(event_summary(event), style="dim")
        return text
