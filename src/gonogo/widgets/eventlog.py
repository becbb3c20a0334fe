"""The session log's list: one line per journal event, a cursor, and live following.

A session holds thousands of events (a metric poll every few seconds), so the list is
drawn through Textual's line API: it keeps the indices of the events it shows and
renders only the rows on screen. Filtering is a pass over prepared entries (a few
milliseconds for thousands), never a re-render of the whole log.

Each row reads ``time  actor  kind  description`` and is cut, with an ellipsis, only
where the terminal ends; ``enter`` asks for the whole event (``EventList.Opened``).
Like ``less +F``, the list follows new events while its cursor is on the last row;
once the user moves the cursor up it stays on that event, and ``end`` follows again.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gonogo.rollout.events import (
    AdvanceConfirmed,
    CheckRecorded,
    CriterionTripped,
    GuardFailed,
    HoldCompleted,
    NotifyFailed,
    ReleaseStable,
    RollbackFinished,
    RollbackProposed,
    RollbackStarted,
    StageEntered,
    Stalled,
    TrafficFailed,
    WeightDrifted,
)
from gonogo.rollout.export import describe
from gonogo.rollout.journal import Event
from gonogo.untrusted import printable

# what a reader looks for first: drawn in the error colour, bold (and named by the kind)
ALERTS = (CriterionTripped, RollbackStarted, RollbackProposed, TrafficFailed, GuardFailed,
          NotifyFailed, WeightDrifted, Stalled)
# where the rollout moved: bold
MILESTONES = (StageEntered, AdvanceConfirmed, HoldCompleted, RollbackFinished, ReleaseStable)
SAMPLES = "samples"  # a metric poll: most of a session's events, hidden by default
ACTOR_WIDTH = 16  # wider names are cut in the row (the event's detail shows them whole)


@dataclass(frozen=True, slots=True)
class Entry:
    """One event as the list shows it, prepared once (the journal is append-only)."""

    event: Event
    stamp: str  # HH:MM:SS, UTC
    actor: str
    kind: str
    summary: str
    tone: str  # "alert", "milestone" or ""
    haystack: str  # what the free-text filter searches, lower case

    @classmethod
    def of(cls, event: Event) -> Entry:
        body = event.body
        tone = ""
        if isinstance(body, ALERTS) or (isinstance(body, CheckRecorded)
                                        and body.result.status in ("fail", "error")):
            tone = "alert"
        elif isinstance(body, MILESTONES):
            tone = "milestone"
        actor, kind, summary = printable(event.actor), event.kind, describe(event)
        return cls(event, time.strftime("%H:%M:%S", time.gmtime(event.time)), actor, kind,
                   summary, tone, f"{actor}\n{kind}\n{summary}".lower())


@dataclass(frozen=True)
class LogFilter:
    """What the filter box says: ``kind:NAME`` (several: ``kind:a,b``; a part of a name
    matches: ``kind:rollback``), ``actor:NAME``, and words, all of which must appear in
    the row. A leading ``-`` excludes (``-kind:check_result``, ``-health``)."""

    kinds: tuple[str, ...] = ()
    not_kinds: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        kinds: list[str] = []
        not_kinds: list[str] = []
        actors: list[str] = []
        words: list[str] = []
        not_words: list[str] = []
        for token in text.lower().split():
            negated = token.startswith("-") and len(token) > 1
            token = token[1:] if negated else token
            field, colon, value = token.partition(":")
            if colon and field == "kind":
                (not_kinds if negated else kinds).extend(v for v in value.split(",") if v)
            elif colon and field == "actor" and value:
                actors.append(value)
            else:
                (not_words if negated else words).append(token)
        return cls(tuple(kinds), tuple(not_kinds), tuple(actors), tuple(words), tuple(not_words))

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.not_kinds or self.actors or self.words or self.not_words)

    def kind_ok(self, kind: str) -> bool:
        if self.kinds and not any(k in kind for k in self.kinds):
            return False
        return not any(k in kind for k in self.not_kinds)

    def asks_for(self, kind: str) -> bool:
        """The filter names ``kind`` itself (``kind:samples`` shows hidden samples)."""
        return any(k in kind for k in self.kinds)

    def matches(self, entry: Entry) -> bool:
        if not self.kind_ok(entry.kind):
            return False
        if self.actors and not any(a in entry.actor.lower() for a in self.actors):
            return False
        hay = entry.haystack
        return all(w in hay for w in self.words) and not any(w in hay for w in self.not_words)


def select(entries: Sequence[Entry], start: int, wanted: LogFilter,
           show_samples: bool) -> tuple[list[int], int]:
    """The indices (from ``start``) of the entries to show, and how many samples the
    filter let through but the samples switch hides."""
    samples_too = show_samples or wanted.asks_for(SAMPLES)
    rows: list[int] = []
    hidden = 0
    matches = wanted.matches if wanted.active else None
    for i in range(start, len(entries)):
        entry = entries[i]
        if matches is not None and not matches(entry):
            continue
        if entry.kind == SAMPLES and not samples_too:
            hidden += 1
            continue
        rows.append(i)
    return rows, hidden


class EventList(ScrollView, can_focus=True):
    """The rows: ``show`` replaces them (a new filter), ``extend`` appends (new events)."""

    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Show event", id="log_open"),
        Binding("end,G", "last", "Follow", show=False, id="log_follow"),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f,space", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "eventlog--time", "eventlog--actor", "eventlog--kind", "eventlog--alert",
        "eventlog--milestone", "eventlog--cursor", "eventlog--cursor-blurred", "eventlog--empty",
    }
    DEFAULT_CSS = """
    EventList {
        overflow-x: hidden; overflow-y: auto; height: 1fr;
        scrollbar-size-vertical: 1; scrollbar-background: $panel;
    }
    EventList > .eventlog--time { color: $text-muted; }
    EventList > .eventlog--actor { text-style: bold; }
    EventList > .eventlog--kind { color: $text-muted; }
    EventList > .eventlog--alert { color: $text-error; text-style: bold; }
    EventList > .eventlog--milestone { text-style: bold; }
    EventList > .eventlog--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    EventList > .eventlog--cursor-blurred { background: $surface; }
    EventList > .eventlog--empty { color: $text-muted; }
    """

    class Opened(Message):
        """``enter`` (or a click on the cursor's row) on an event."""

        def __init__(self, entry: Entry) -> None:
            super().__init__()
            self.entry = entry

    class Moved(Message):
        """The cursor moved, or following started or stopped."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: Sequence[Entry] = ()
        self.rows: list[int] = []  # indices into the entries, oldest first
        self.cursor = -1  # a row index; -1 while there are no rows
        self.following = True
        self.unseen = 0  # rows that arrived below the cursor while not following
        self.empty_message = "no events yet"
        self._actor_w = 0
        self._kind_w = 0
        self._cache: dict[tuple[int, bool], Strip] = {}
        self._cache_key: tuple[int, str, bool] | None = None

    # what the screen hands over -------------------------------------------
    def set_entries(self, entries: Sequence[Entry], start: int = 0) -> None:
        """The list of all entries (shared, append-only) after ``entries[start:]`` were
        added: the columns widen to the longest actor and kind of the session."""
        self._entries = entries
        for entry in entries[start:]:
            self._actor_w = max(self._actor_w, min(cell_len(entry.actor), ACTOR_WIDTH))
            self._kind_w = max(self._kind_w, len(entry.kind))

    def show(self, rows: list[int]) -> None:
        """Replace the rows; the cursor stays on its event while that is still shown
        (else on the one before it), and at the end while following."""
        current = self.current_index
        self.rows = rows
        self.unseen = 0
        if not rows:
            self.cursor = -1
        elif self.following or current is None:
            self.cursor = len(rows) - 1
        else:
            self.cursor = max(0, bisect_right(rows, current) - 1)
        self._changed(scroll=True)

    def extend(self, rows: list[int]) -> None:
        """New events arrived: followed to the end, or counted below a held cursor."""
        if not rows:
            return
        self.rows.extend(rows)
        if self.following or self.cursor < 0:
            self.cursor = len(self.rows) - 1
        else:
            self.unseen += len(rows)
        self._changed(scroll=self.following)

    @property
    def current_index(self) -> int | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current(self) -> Entry | None:
        index = self.current_index
        return None if index is None else self._entries[index]

    # moving ----------------------------------------------------------------
    def move_to(self, row: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(row, len(self.rows) - 1))
        self.following = self.cursor == len(self.rows) - 1
        if self.following:
            self.unseen = 0
        self._changed(scroll=True)

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.following = True
        self.move_to(len(self.rows) - 1)

    def action_open(self) -> None:
        entry = self.current
        if entry is not None:
            self.post_message(self.Opened(entry))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y
        if 0 <= row < len(self.rows):
            if row == self.cursor:
                self.action_open()
            else:
                self.move_to(row)

    def on_mouse_scroll_up(self) -> None:
        if self.following:  # reading back with the wheel: new events no longer pull the view
            self.following = False
            self.post_message(self.Moved())

    def _changed(self, *, scroll: bool) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows))
        if scroll and self.cursor >= 0:
            self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False, force=True,
                                  immediate=True)
        self._cache.clear()
        self.refresh()
        self.post_message(self.Moved())

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows))
        if self.cursor >= 0:
            self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False, force=True,
                                  immediate=True)

    # drawing ---------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        key = (width, self.app.theme, self.has_focus)
        if key != self._cache_key:
            self._cache.clear()
            self._cache_key = key
        row = int(self.scroll_offset.y) + y
        base = self.rich_style
        if row >= len(self.rows):
            if row == 0 and y == 0:
                text = Text(" " + self.empty_message, style=self.get_component_rich_style("eventlog--empty"))
                return self._strip(text, width, base)
            return Strip.blank(width, base)
        at_cursor = row == self.cursor
        cached = self._cache.get((row, at_cursor))
        if cached is None:
            entry = self._entries[self.rows[row]]
            if at_cursor:  # one colour pair on the cursor's row (it reads at 4.5:1)
                cached = self._strip(self._row_text(entry, width, plain=True), width,
                                     base + self._cursor_style())
            else:
                cached = self._strip(self._row_text(entry, width), width, base)
            if len(self._cache) > 500:
                self._cache.clear()
            self._cache[(row, at_cursor)] = cached
        return cached

    def _cursor_style(self) -> Style:
        name = "eventlog--cursor" if self.has_focus else "eventlog--cursor-blurred"
        return self.get_component_rich_style(name)

    def _row_text(self, entry: Entry, width: int, *, plain: bool = False) -> Text:
        def style(name: str) -> Style:
            got = self.get_component_rich_style(name)
            return Style(bold=got.bold) if plain else got

        gap = "  " if width >= 100 else " "  # 80 columns keep 3 more for the description
        text = Text(" ", no_wrap=True, overflow="ellipsis")  # the titles' left margin
        text.append(entry.stamp, style("eventlog--time"))
        text.append(gap)
        actor = entry.actor  # cut and padded by terminal cells (a name may be wide)
        if cell_len(actor) > self._actor_w:
            actor = set_cell_size(actor, self._actor_w - 1) + "…"
        text.append(set_cell_size(actor, self._actor_w), style("eventlog--actor"))
        text.append(gap)
        tone = style(f"eventlog--{entry.tone}") if entry.tone else Style()
        text.append(entry.kind.ljust(self._kind_w), style("eventlog--kind") + tone)
        text.append(gap)
        text.append(entry.summary, tone)
        return text

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = [s for s in text.render(self.app.console, end="") if s.text]
        return Strip([Segment(s.text, base + s.style if s.style else base) for s in segments],
                     width).adjust_cell_length(width, base).simplify()

