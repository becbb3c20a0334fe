"""Recent activity: the last journal events, newest last (the session log in brief)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive

from gonogo.rollout.events import CheckRecorded, EventBody, Samples
from gonogo.rollout.export import describe
from gonogo.rollout.journal import Event
from gonogo.untrusted import printable
from gonogo.widgets.lines import LineView

# events a watcher does not need at a glance (metric polls arrive every few seconds)
QUIET: tuple[type[EventBody], ...] = (Samples,)


def recent(events: Sequence[Event], rows: int) -> tuple[Event, ...]:
    """The last ``rows`` events worth showing, oldest first (scans from the end only).

    A check that reported the same status again (the service grid's refresh every
    30 s, a guard every minute) shows once, at its latest: a re-check that changed
    nothing would otherwise push the stage changes and sign-offs out of view."""
    picked: list[Event] = []
    newer: dict[str, str] = {}  # check id -> the status of its next newer result
    for event in reversed(events):
        if len(picked) >= rows:
            break
        body = event.body
        if isinstance(body, QUIET):
            continue
        if isinstance(body, CheckRecorded):
            check, status = body.result.id, str(body.result.status)
            repeated = newer.get(check) == status
            newer[check] = status
            if repeated:
                continue
        picked.append(event)
    return tuple(reversed(picked))


class ActivityLog(LineView):
    DEFAULT_CSS = """
    ActivityLog { height: auto; padding: 0 1; }
    """

    events: reactive[tuple[Event, ...]] = reactive((), repaint=False)
    """The events to show (``recent(...)``), oldest first."""

    def watch_events(self) -> None:
        self.changed()

    def lines(self, width: int) -> list[Text]:
        if not self.events:
            return [Text("no events yet", style="dim")]
        out = []
        for event in self.events:
            stamp = time.strftime("%H:%M:%S", time.gmtime(event.time))
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(f"{stamp} ", style="dim")
            text.append(f"{printable(event.actor)}: ", style="bold")
            text.append(describe(event), style="dim")
            out.append(text)
        return out
