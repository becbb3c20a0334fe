"""The ownership panel: each role's owner; a ``TBD`` owner is a blocker."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.untrusted import printable
from gonogo.widgets.palette import colour
from gonogo.widgets.view import OwnerRow


class OwnersPanel(Widget):
    DEFAULT_CSS = """
    OwnersPanel { height: auto; }
    """

    rows: reactive[tuple[OwnerRow, ...]] = reactive((), layout=True)
    """The owner matrix (``view.owner_rows``)."""

    def render(self) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        fail, ok = colour(self.app, "fail"), colour(self.app, "pass")
        for row in self.rows:
            if row.blocking:
                who = Text("✘ TBD — blocks GO", style=f"bold {fail}")
            else:
                who = Text(f"✔ {printable(row.name)}", style=ok)
            table.add_row(Text(printable(row.role.replace("_", " "))), who)
        if not self.rows:
            table.add_row(Text("no owners configured", style="dim"), Text(""))
        return table
