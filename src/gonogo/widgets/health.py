"""The per-service health grid: service × health, latency, scrape, version, canary 5xx."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from gonogo.model import Status
from gonogo.widgets.palette import colour, status_style
from gonogo.widgets.view import HealthRow


class HealthGrid(DataTable[Text]):
    DEFAULT_CSS = """
    HealthGrid { height: auto; max-height: 100%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._last: tuple[HealthRow, ...] = ()

    def on_mount(self) -> None:
        for label in ("service", "health", "latency", "scrape", "version", "canary 5xx"):
            self.add_column(label, key=label)

    def show(self, rows: Sequence[HealthRow]) -> None:
        if tuple(rows) == self._last:
            return
        self._last = tuple(rows)
        cursor = self.cursor_row
        self.clear()
        for row in rows:
            self.add_row(*self._cells(row), key=row.service)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1), animate=False)

    def _cells(self, row: HealthRow) -> list[Text]:
        health = Text(f"{row.health.glyph} {row.detail}", style=status_style(self.app, row.health))
        latency = Text(f"{row.latency_ms:.0f}ms" if row.latency_ms is not None else "–")
        up = {"up": Status.PASS, "down": Status.FAIL}.get(row.scrape, Status.PENDING)
        scrape = (Text(f"{up.glyph} {row.scrape}", style=status_style(self.app, up))
                  if row.scrape != "?" else Text("–", style="dim"))
        c5 = Text("–" if row.canary_5xx is None else f"{row.canary_5xx * 100:.2f}%",
                  style=colour(self.app, "canary"))
        return [Text(row.service, style="bold"), health, latency, scrape, Text(row.version or "–"), c5]
