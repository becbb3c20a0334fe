"""The header: the rollout's state beside the checklist's GO / NO-GO and what blocks it."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.config import Release
from gonogo.untrusted import printable
from gonogo.widgets.palette import colour
from gonogo.widgets.view import Header

MOST_LINES = 3
"""A long stop reason or blocker list wraps onto this many header lines at most."""


def wrapped(text: Text, width: int, console: Console) -> Text:
    """``text`` on one line when it fits, else wrapped onto more (a long stop reason or
    blocker list is read, not cut); what ``MOST_LINES`` cannot hold ends in ``…``."""
    text.rstrip()
    if width <= 0 or text.cell_len <= width:
        return text
    lines = [line for line in text.wrap(console, width, overflow="fold") if line.plain.strip()]
    if len(lines) > MOST_LINES:
        last = Text(" ").join(lines[MOST_LINES - 1:])
        last.truncate(width, overflow="ellipsis")
        lines = [*lines[:MOST_LINES - 1], last]
    for line in lines:
        line.rstrip()
    return Text("\n").join(lines)


class VerdictBar(Widget):
    """``✘ NO-GO 3 blocking  ▶ ROLLING OUT 25%  release @commit → env  ids…``; before
    any result ``… NOT CHECKED``, while the panel runs the checklist ``… CHECKING 12/29``
    (``✘ NO-GO 1 blocking · checking 12/29`` once a check reported a failure).

    During and after a rollback the rollout's state leads and no GO is shown:
    ``✘ ROLLED BACK  stop criterion http-5xx …``.
    """

    DEFAULT_CSS = """
    VerdictBar { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    """

    head: reactive[Header | None] = reactive(None, layout=True)  # may need more lines, or fewer
    """What the bar says; set by the screen, compared by value (no repaint when equal)."""

    def __init__(self, release: Release, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.release = release

    def render(self) -> Text:
        head = self.head
        text = Text()
        if head is None:
            return text
        fail, ok = colour(self.app, "fail"), colour(self.app, "pass")
        tone = colour(self.app, head.rollout_tone)
        state = f"{head.rollout_glyph} {head.rollout_label}"
        if not head.verdict_shown:
            text.append(f" {state} ", style=f"bold reverse {tone}")
            if head.reason:
                text.append(f"  {printable(head.reason)}", style=f"bold {tone}")
        else:
            if not head.checked and head.checking is not None:
                done, total = head.checking
                text.append(f" … CHECKING {done}/{total} ", style="bold reverse")
            elif not head.checked:
                text.append(" … NOT CHECKED ", style="bold reverse")
                text.append(" r runs the checklist", style="dim")
            elif head.go:
                text.append(" ✔ GO ", style=f"bold reverse {ok}")
            else:
                text.append(" ✘ NO-GO ", style=f"bold reverse {fail}")
                text.append(f" {len(head.blocking)} blocking", style=f"bold {fail}")
                if head.checking is not None:  # decided by a failure; the rest still running
                    done, total = head.checking
                    text.append(f" · checking {done}/{total}", style="dim")
            text.append(f"  {state}", style=f"bold {tone}")
            if head.reason:  # held: why
                text.append(f": {printable(head.reason)}", style=f"{tone}")
        release = self.release
        text.append(f"  {printable(release.name)}", style="bold")
        text.append(f" @{printable(release.commit[:8])} → {printable(release.environment)}", style="dim")
        if head.verdict_shown and head.checked and head.blocking:
            ids = printable(", ".join(head.blocking[:6]))
            more = len(head.blocking) - 6
            text.append(f"  {ids}{f' +{more}' if more > 0 else ''}", style="dim")
        return wrapped(text, self.content_region.width or self.size.width, self.app.console)
