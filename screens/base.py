"""A detail screen: a title bar, a body, the footer, and escape to go back."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.app import GonogoApp


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    @property
    def panel(self) -> GonogoApp:
        return self.app  # type: ignore[return-value]

    def action_back(self) -> None:
        self.dismiss()

    def on_mount(self) -> None:
        self.refresh_state()

    def refresh_state(self) -> None:  # re-render from self.panel.state
        pass
