"""The ownership panel: each role's owner; a ``TBD`` owner is a blocker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from gonogo.widgets.palette import colour
from gonogo.widgets.view import owner_rows


class OwnersPanel(Static):
    DEFAULT_CSS = """
    OwnersPanel { height: auto; }
    """

    _memo: Any = None

    def show(self, owners: Mapping[str, str]) -> None:
        if dict(owners) == self._memo:
            return
        self._memo = dict(owners)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        fail, ok = colour(self.app, "fail"), colour(self.app, "pass")
        for row in owner_rows(owners):
            if row.blocking:
                who = Text("✘ TBD — blocks GO", style=f"bold {fail}")
            else:
                who = Text(f"✔ {row.name}", style=ok)
            table.add_row(Text(row.role.replace("_", " ")), who)
        if not owners:
            table.add_row(Text("no owners configured", style="dim"), Text(""))
        self.update(table)
