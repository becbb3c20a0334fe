"""Session log: every journal event, one line each, filterable, following live.

``/`` filters (words, ``kind:NAME``, ``actor:NAME``, ``-word`` to exclude; enter keeps
the filter, escape clears it), ``f`` picks a kind from those the session holds, ``s``
shows or hides the metric samples (hidden by default: most of a session's events),
``enter`` shows the event under the cursor in full. The title says how many events
are shown, how many samples are hidden and whether the list follows new events.

Every key typed into the filter counts, in order (``widgets.filterbox``: Textual ran
a backspace after the characters typed after it when the screen was busy, and each
key used to re-write the whole log), and filtering thousands of events takes
milliseconds (``widgets.eventlog`` draws only the rows on screen).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from gonogo.screens.base import DetailScreen
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from gonogo.rollout.export import describe, utc
from gonogo.untrusted import printable
from gonogo.widgets.eventlog import SAMPLES, Entry, EventList, LogFilter, select
from gonogo.widgets.filterbox import FilterBox
from gonogo.widgets.keybar import KeyBar

PLACEHOLDER = "/ filter: words, kind:NAME, actor:NAME, -word excludes · f picks a kind"


class SessionLogScreen(DetailScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # escape clears an active filter first (as in k9s and lazygit), then goes back
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter"),
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "focus_filter", "Filter", key_display="/", id="log_filter"),
        Binding("f", "pick_kind", "Kind", id="log_kind"),
        Binding("s", "toggle_samples", "Samples", id="log_samples"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self.filter = LogFilter()
        self.filter_text = ""
        self.show_samples = False
        self.hidden = 0  # samples the filter lets through, hidden by the samples switch

    def compose(self) -> ComposeResult:
        self.entries = []  # the new list starts empty (a recompose, as on a theme change)
        self.hidden = 0
        yield Label("Session log", id="log-title", classes="screen-title")
        yield FilterBox(self.filter_text, placeholder=PLACEHOLDER, id="log-filter")
        yield EventList(id="log")
        yield KeyBar()
        if self.is_mounted:  # a recompose: no on_mount to fill the new list
            self.call_after_refresh(self.refresh_state)

    def on_mount(self) -> None:
        self.query_one(EventList).focus()  # keys are commands here; / focuses the filter

    # the rows ----------------------------------------------------------------
    def refresh_state(self) -> None:
        """Take the events that arrived since the last call (the journal only grows)."""
        events = self.panel.events
        start = len(self.entries)
        if len(events) == start:
            return
        self.entries.extend(Entry.of(e) for e in events[start:])
        log = self.query_one(EventList)
        log.set_entries(self.entries, start)
        rows, hidden = select(self.entries, start, self.filter, self.show_samples)
        self.hidden += hidden
        if start == 0:
            log.show(rows)
        else:
            log.extend(rows)
        self._retitle()

    def _reselect(self) -> None:
        rows, self.hidden = select(self.entries, 0, self.filter, self.show_samples)
        self.query_one(EventList).show(rows)
        self._retitle()

    def _retitle(self) -> None:
        log = self.query_one(EventList)
        self.query_one("#log-title", Label).update(
            title_line(len(log.rows), len(self.entries), self.hidden, self.show_samples,
                       log.following, log.unseen, self.size.width - 2))
        if self.entries and self.filter.active:
            log.empty_message = (f"no event matches {printable(self.filter_text.strip())!r}: "
                                 "esc clears the filter, f lists the kinds")
        elif self.entries:
            log.empty_message = "only metric samples so far: s shows them"
        else:
            log.empty_message = "no events yet"

    def on_resize(self) -> None:
        self._retitle()

    def on_event_list_moved(self) -> None:
        self._retitle()

    def on_event_list_opened(self, message: EventList.Opened) -> None:
        self.app.push_screen(EventDetailScreen(message.entry))

    # the filter ------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self.filter = LogFilter.parse(event.value)
        self._reselect()
        self.refresh_bindings()  # escape: "Clear filter" or "Back"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(EventList).focus()

    def set_filter(self, text: str) -> None:
        box = self.query_one(FilterBox)
        box.value = text  # Input.Changed applies it
        box.cursor_position = len(text)

    def action_focus_filter(self) -> None:
        self.query_one(FilterBox).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("clear_filter", "back") and self.is_mounted:  # one escape at a time
            return bool(self.filter_text) == (action == "clear_filter")
        return True

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.query_one(EventList).focus()

    def on_filter_box_cleared(self) -> None:
        self.query_one(EventList).focus()

    def action_toggle_samples(self) -> None:
        self.show_samples = not self.show_samples
        self._reselect()

    def action_pick_kind(self) -> None:
        counts = Counter(entry.kind for entry in self.entries)

        def picked(kind: str | None) -> None:
            if kind is None:
                return
            kept = [t for t in self.filter_text.split() if not t.lower().lstrip("-").startswith("kind:")]
            self.set_filter(" ".join(([f"kind:{kind}"] if kind else []) + kept))
            self.query_one(EventList).focus()

        self.app.push_screen(KindPicker(counts, self.filter.kinds), picked)


def title_line(shown: int, total: int, hidden: int, samples_shown: bool, following: bool,
               unseen: int, width: int) -> Text:
    """The title bar: what is shown, what is hidden, whether the list follows; in the
    most words that fit ``width``."""
    if hidden:
        samples = [f"{hidden} samples hidden (s shows them)", f"{hidden} samples hidden (s)"]
    elif samples_shown:
        samples = ["samples shown (s hides them)", "samples shown (s)"]
    else:
        samples = [""]
    if following:
        follow = ["following new events", "following"]
    elif unseen:
        follow = [f"{unseen} new below (end follows)", f"{unseen} new (end)"]
    else:
        follow = ["held (end follows)", "held (end)"]
    counts = [f"{shown} of {total} events", f"{shown}/{total}"]
    parts: list[str] = []
    for parts in ([c, s, f] for c in counts for s in samples for f in follow):
        if len(" · ".join(p for p in ["Session log", *parts] if p)) <= width:
            break
    title = Text("Session log", style="bold")
    for part in parts:
        if part:
            title.append(f" · {part}")
    return title


class KindPicker(ModalScreen[str | None]):
    """The kinds the session holds, most frequent first; "" is every kind."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="log_kind_cancel"),
    ]

    def __init__(self, counts: Mapping[str, int], current: tuple[str, ...]) -> None:
        super().__init__(classes="dialog-screen")
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        width = max((len(k) for k in self.counts), default=0)
        options = [Option(Text("every kind"), id="")]
        for kind, count in sorted(self.counts.items(), key=lambda kc: (-kc[1], kc[0])):
            line = Text(kind.ljust(width))
            line.append(f"  {count:>5}", style="dim")
            if kind == SAMPLES:
                line.append("  metric polls", style="dim")
            options.append(Option(line, id=kind))
        with Vertical(classes="dialog", id="kind-dialog"):
            yield Label("Show one kind of event", classes="dialog-title")
            yield OptionList(*options, id="kind-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        chosen = next((k for k in self.current if k in self.counts), "")
        options.highlighted = options.get_option_index(chosen)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss(None)


class EventDetailScreen(DetailScreen):
    """One event in full: its envelope, its summary and every field of its data."""

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        event = self.entry.event
        title = Text(f"Event #{event.seq} · ", style="bold")
        title.append(self.entry.kind, style="bold")
        title.append(f" · {utc(event.time)} · {self.entry.actor}")
        yield Label(title, classes="screen-title")
        with VerticalScroll(id="event-body"):
            yield Static(event_table(self.entry), id="event-fields")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # the arrows scroll a long event

    def refresh_state(self) -> None:  # an event never changes
        pass


def event_table(entry: Entry) -> Table:
    event = entry.event
    table = Table(box=None, expand=True, show_header=False, padding=(0, 2, 0, 0))
    table.add_column("field", no_wrap=True, style="bold")
    table.add_column("value", overflow="fold", ratio=1)
    rows: list[tuple[str, str]] = [
        ("seq", str(event.seq)),
        ("time", f"{utc(event.time)} ({event.time:.3f})"),
        ("actor", printable(event.actor)),
        ("kind", entry.kind),
        ("summary", describe(event)),
    ]
    rows.extend(fields(event.data))
    rows += [("prev", event.prev_hash), ("hash", event.hash)]
    for name, value in rows:
        table.add_row(Text(printable(name)), Text(value))
    return table


def fields(data: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[str, str]]:
    """(name, value) rows for an event's data: plain values first, then each mapping
    (and list of mappings) as a heading with its fields indented under it. Values show
    as JSON writes them; text as it is (made safe)."""
    indent = "  " * depth
    if not data:
        yield (f"{indent}(no data)", "")
        return
    nested = {k: v for k, v in data.items() if _opens(v)}
    for key, value in data.items():
        if key not in nested:
            yield (f"{indent}{key}", _value(value))
    for key, value in nested.items():
        if isinstance(value, Mapping):
            yield (f"{indent}{key}", "")
            yield from fields(value, depth + 1)
            continue
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                yield (f"{indent}{key}[{i}]", "")
                yield from fields(item, depth + 1)
            else:
                yield (f"{indent}{key}[{i}]", _value(item))


def _opens(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value)
    return isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return printable(value, newlines=True)
    return printable(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))
