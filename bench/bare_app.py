"""The floor for the first-frame figure: a bare Textual app with about what gonogo's
dashboard shows (a Header, a 30-leaf Tree, a 15-row DataTable, a Footer)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Tree


class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit"), ("r", "refresh", "Run")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            tree: Tree[None] = Tree("checklist")
            tree.root.expand()
            for i in range(30):
                tree.root.add_leaf(f"leaf {i}")
            yield tree
            yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("service", "health", "latency")
        for i in range(15):
            table.add_row(f"row {i}", "ok", f"{i} ms")


if __name__ == "__main__":
    Bare().run()
