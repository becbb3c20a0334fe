"""The per-service health grid: service × health, latency, scrape, version, canary 5xx."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.model import Status
from gonogo.untrusted import printable
from gonogo.widgets.palette import colour, status_style
from gonogo.widgets.view import HealthRow

# (header, minimum width), most important first: a narrow grid drops columns from the end
COLUMNS = (("service", 8), ("health", 10), ("latency", 7), ("checked", 7), ("canary 5xx", 10),
           ("version", 7), ("scrape", 6))


class HealthGrid(Widget):
    DEFAULT_CSS = """
    HealthGrid { height: auto; padding: 0 1; }
    """

    rows: reactive[tuple[HealthRow, ...]] = reactive((), layout=True)
    """One row per ``[[services]]`` entry (``view.health_rows``)."""

    def render(self) -> Table:
        table = Table(box=None, expand=True, padding=(0, 1), pad_edge=False, header_style="bold")
        room = self.content_size.width or self.app.size.width // 2
        shown = 0
        for name, least in COLUMNS:
            if shown and sum(w + 2 for _, w in COLUMNS[:shown + 1]) - 2 > room:
                break
            table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=least)
            shown += 1
        for row in self.rows:
            table.add_row(*self._cells(row)[:shown])
        return table

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
