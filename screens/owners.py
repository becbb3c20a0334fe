"""Owners editor: change an owner through the engine (journalled, written back to the TOML)."""

from __future__ import annotations

from typing import ClassVar

from gonogo.screens.base import DetailScreen
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from gonogo.untrusted import printable
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.palette import colour
from gonogo.widgets.view import owner_rows


class OwnerPrompt(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="owner_cancel")]

    def __init__(self, role: str, current: str) -> None:
        super().__init__(classes="dialog-screen")
        self.role, self.current = role, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(printable(f"Owner for {self.role}")), classes="dialog-title")
            # shown printable (a name journaled by another version may hold escapes)
            shown = printable(self.current)
            yield Input(value="" if shown.upper() == "TBD" else shown, id="owner-name")
            yield Label("enter to save · esc to cancel", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.notify("an owner needs a name (or TBD)", severity="warning", markup=False)
            return
        # unchanged: no event (the field showed the current name made printable)
        self.dismiss(None if name == printable(self.current).strip() else name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OwnersTable(DataTable[Text]):
    """The table's own enter (select the row) edits the owner: shown as such in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Edit owner", id="edit_owner"),
    ]


class OwnersScreen(DetailScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit", "Edit owner", id="edit_owner"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Owners — GO is blocked while any owner is TBD", classes="screen-title")
        yield OwnersTable(id="owners-table", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("role", "owner")
        super().on_mount()
        self.query_one(DataTable).focus()

    def refresh_state(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for owner in owner_rows(self.panel.state.owners):
            who = (Text("✘ TBD — blocks GO", style=f"bold {colour(self.app, 'fail')}") if owner.blocking
                   else Text(f"✔ {printable(owner.name)}", style=colour(self.app, "pass")))
            table.add_row(Text(printable(owner.role)), who, key=owner.role)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def action_edit(self) -> None:
        owners = list(self.panel.state.owners.items())
        table = self.query_one(DataTable)
        if not owners:
            return
        role, current = owners[min(table.cursor_row, len(owners) - 1)]

        def done(name: str | None) -> None:
            if name is not None and name != current:
                self.panel.intent(f"owner {role}", self.panel.control.set_owner(role, name))

        self.app.push_screen(OwnerPrompt(role, current), done)

    def on_data_table_row_selected(self) -> None:
        self.action_edit()
