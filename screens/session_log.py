"""Session log: every journal event, filterable, following live."""

from __future__ import annotations

import time
from typing import ClassVar

from gonogo.screens.base import DetailScreen
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label, RichLog

from gonogo.rollout.events import CriterionTripped, RollbackStarted
from gonogo.rollout.export import describe
from gonogo.rollout.journal import Event
from gonogo.untrusted import printable
from gonogo.widgets.keybar import KeyBar


def event_line(event: Event) -> str:
    stamp = time.strftime("%H:%M:%S", time.gmtime(event.time))
    return f"{event.seq:>5} {stamp} {printable(event.actor)} {printable(event.kind)}: {describe(event)}"


class SessionLogScreen(DetailScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", key_display="/", id="log_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown = 0
        self._needle = ""

    def compose(self) -> ComposeResult:
        yield Label("Session log", classes="screen-title")
        yield Input(placeholder="filter events (kind, actor, text)", id="log-filter")
        yield RichLog(id="log", wrap=False, highlight=False, auto_scroll=True, max_lines=5000)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(RichLog).focus()  # keys are commands here; / focuses the filter

    def refresh_state(self) -> None:
        log = self.query_one(RichLog)
        for event in self.panel.events[self._shown:]:
            line = event_line(event)
            if self._matches(line):
                style = "bold" if isinstance(event.body, RollbackStarted | CriterionTripped) else ""
                log.write(Text(line, style=style))
        self._shown = len(self.panel.events)

    def _matches(self, line: str) -> bool:
        return all(w in line.lower() for w in self._needle.lower().split())

    def on_input_changed(self, event: Input.Changed) -> None:
        self._needle = event.value
        self.query_one(RichLog).clear()
        self._shown = 0
        self.refresh_state()

    def on_input_submitted(self) -> None:
        self.query_one(RichLog).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()
