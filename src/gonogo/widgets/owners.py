"""The ownership panel: each role's owner; a ``TBD`` owner is a blocker."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from gonogo.untrusted import printable
from gonogo.widgets.lines import LineView, columns
from gonogo.widgets.palette import colour
from gonogo.widgets.view import OwnerRow


class OwnersPanel(LineView):
    DEFAULT_CSS = """
    OwnersPanel { height: auto; }
    """

    rows: reactive[tuple[OwnerRow, ...]] = reactive((), repaint=False)
    """The owner matrix (``view.owner_rows``)."""

    def watch_rows(self) -> None:
        self.changed()

    def lines(self, width: int) -> list[Text]:
        if not self.rows:
            return [Text("no owners configured", style="dim")]
        roles = [printable(row.role.replace("_", " ")) for row in self.rows]
        role_w = min(max(len(r) for r in roles), max(4, width // 2))
        fail, ok = colour(self.app, "fail"), colour(self.app, "pass")
        out = []
        for role, row in zip(roles, self.rows, strict=True):
            if row.blocking:
                who = Text("✘ TBD — blocks GO", style=f"bold {fail}")
            else:
                who = Text(f"✔ {printable(row.name)}", style=ok)
            out.append(columns([(Text(role), role_w), (who, max(1, width - role_w - 1))], gap=1))
        return out
