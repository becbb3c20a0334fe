"""The per-service health grid: service × health, latency, checked, scrape, version.

Every column is filled from check evidence (``view.health_rows``): health, latency and
version from the checklist's ``http_health`` results, scrape from its
``prometheus_targets`` results. A narrow grid keeps what matters while a release
runs — is it healthy, how fast, how fresh is that — and drops the rest from the end;
at 80 columns it switches to short headers and a one-cell gap so that those three
survive beside the service names.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from gonogo.model import Status
from gonogo.untrusted import printable
from gonogo.widgets.lines import LineView, columns
from gonogo.widgets.palette import status_style
from gonogo.widgets.view import HealthRow

# (header, width), most important first; "health" (None) takes what the others leave.
# A grid too narrow for the first four of WIDE uses COMPACT.
WIDE: tuple[tuple[str, int | None], ...] = (
    ("service", 16), ("health", None), ("latency", 7), ("checked", 7), ("scrape", 6),
    ("version", 7))
COMPACT: tuple[tuple[str, int | None], ...] = (
    ("service", 16), ("health", None), ("lat", 5), ("age", 4))
ESSENTIAL = 4  # service, health, latency, age
HEALTH_MIN = {WIDE: 10, COMPACT: 6}  # "✔ HTTP 200" / "health"
GAP = {WIDE: 2, COMPACT: 1}


def layout(room: int, service_width: int) -> tuple[tuple[str, ...], list[int], int]:
    """(headers, widths, gap) for ``room`` cells: the wide columns while the essential
    four fit, else the compact ones; as many as fit, health taking the rest."""
    for scheme in (WIDE, COMPACT):
        gap, least = GAP[scheme], HEALTH_MIN[scheme]
        fixed = [service_width if name == "service" else (w or least) for name, w in scheme]
        shown = len(scheme)
        while shown > 1 and sum(fixed[:shown]) + gap * (shown - 1) > room:
            shown -= 1
        if shown < ESSENTIAL and scheme is WIDE:
            continue
        widths = fixed[:shown]
        if shown > 1:
            widths[1] = max(least, room - sum(widths) + widths[1] - gap * (shown - 1))
        return tuple(name for name, _ in scheme[:shown]), widths, gap
    raise AssertionError("unreachable: COMPACT always returns")


def fmt_latency(ms: float | None) -> str:
    """``486ms``, ``1.2s``; ``–`` when not measured (the request failed)."""
    if ms is None:
        return "–"
    return f"{ms:.0f}ms" if ms < 999.5 else f"{ms / 1000:.1f}s"


class HealthGrid(LineView):
    DEFAULT_CSS = """
    HealthGrid { height: auto; padding: 0 1; }
    """

    rows: reactive[tuple[HealthRow, ...]] = reactive((), repaint=False)
    """One row per ``[[services]]`` entry (``view.health_rows``)."""

    def watch_rows(self) -> None:
        self.changed()

    def set_heading(self, title: str) -> None:
        """The grid's heading (``view.health_title``: when it is re-checked next)."""
        if title != self.title:
            self.title = title
            self.changed()

    def lines(self, width: int) -> list[Text]:
        longest = max((len(printable(r.service)) for r in self.rows), default=8)
        names, widths, gap = layout(width, max(7, min(16, longest)))
        header = columns(((Text(name, style="bold"), w) for name, w in zip(names, widths, strict=True)), gap)
        compact = "age" in names
        room = widths[1] if len(widths) > 1 else 0
        return [header, *(columns(zip(self._cells(row, compact, room), widths, strict=False), gap)
                          for row in self.rows)]

    def _cells(self, row: HealthRow, compact: bool, room: int) -> list[Text]:
        detail = printable(row.detail)
        if len(detail) + 2 > room:  # "✔ 200" rather than "✔ HTTP…"
            detail = printable(row.code)
        health = Text(f"{row.health.glyph} {detail}", style=status_style(self.app, row.health))
        if compact:
            checked = Text(row.checked or "–", style="dim")
        else:
            ago = f"{row.checked} ago" if row.checked and not row.checked.startswith("<") else row.checked
            checked = Text(ago or "–", style="dim")
        return [Text(printable(row.service), style="bold"), health, Text(fmt_latency(row.latency_ms)),
                checked, self._scrape(row.scrape), Text(printable(row.version) or "–")]

    def _scrape(self, scrape: str) -> Text:
        if not scrape:
            return Text("–", style="dim")
        status = {"up": Status.PASS, "down": Status.FAIL}.get(scrape, Status.WARN)
        return Text(scrape, style=status_style(self.app, status))
