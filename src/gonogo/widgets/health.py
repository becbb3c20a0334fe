"""The per-service health grid: service × health, latency, canary 5xx, version, scrape."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from gonogo.model import Status
from gonogo.untrusted import printable
from gonogo.widgets.lines import LineView, columns
from gonogo.widgets.palette import colour, status_style
from gonogo.widgets.view import HealthRow

# (header, width), most important first: a narrow grid drops columns from the end;
# "health" (None) takes what the others leave
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("service", 16), ("health", None), ("latency", 7), ("checked", 7), ("canary 5xx", 10),
    ("version", 7), ("scrape", 6))
HEALTH_MIN = 10
GAP = 2


def layout(room: int, service_width: int) -> list[int]:
    """Column widths for ``room`` cells: as many columns as fit, health taking the rest."""
    fixed = [service_width if name == "service" else (w or HEALTH_MIN) for name, w in COLUMNS]
    shown = len(COLUMNS)
    while shown > 1 and sum(fixed[:shown]) + GAP * (shown - 1) > room:
        shown -= 1
    widths = fixed[:shown]
    if shown > 1:
        widths[1] = max(HEALTH_MIN, room - sum(widths) + widths[1] - GAP * (shown - 1))
    return widths


class HealthGrid(LineView):
    DEFAULT_CSS = """
    HealthGrid { height: auto; padding: 0 1; }
    """

    rows: reactive[tuple[HealthRow, ...]] = reactive((), repaint=False)
    """One row per ``[[services]]`` entry (``view.health_rows``)."""

    def watch_rows(self) -> None:
        self.changed()

    def lines(self, width: int) -> list[Text]:
        longest = max((len(printable(r.service)) for r in self.rows), default=8)
        widths = layout(width, max(8, min(16, longest)))
        header = columns(((Text(name, style="bold"), w) for (name, _), w in zip(COLUMNS, widths, strict=False)), GAP)
        return [header, *(columns(zip(self._cells(row), widths, strict=False), GAP) for row in self.rows)]

    def _cells(self, row: HealthRow) -> list[Text]:
        health = Text(f"{row.health.glyph} {printable(row.detail)}", style=status_style(self.app, row.health))
        latency = Text(f"{row.latency_ms:.0f}ms" if row.latency_ms is not None else "–")
        up = {"up": Status.PASS, "down": Status.FAIL}.get(row.scrape, Status.PENDING)
        scrape = (Text(f"{up.glyph} {row.scrape}", style=status_style(self.app, up))
                  if row.scrape != "?" else Text("–", style="dim"))
        c5 = Text("–" if row.canary_5xx is None else f"{row.canary_5xx * 100:.2f}%",
                  style=colour(self.app, "canary"))
        checked = Text(f"{row.checked} ago" if row.checked and row.checked != "<1m" else
                       row.checked or "–", style="dim")
        return [Text(printable(row.service), style="bold"), health, latency, checked, c5,
                Text(printable(row.version) or "–"), scrape]
