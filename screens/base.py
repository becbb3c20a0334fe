"""Screen bases: every panel screen re-renders from ``app.state`` in ``refresh_state``;
a detail screen adds a title bar, a body, the footer, and escape to go back."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.app import GonogoApp


class PanelScreen(Screen[None]):
    """A screen of the panel: the app calls ``refresh_state`` after each engine event."""

    @property
    def panel(self) -> GonogoApp:
        return self.app  # type: ignore[return-value]

    def refresh_state(self) -> None:  # re-render from self.panel.state
        pass


class DetailScreen(PanelScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    def action_back(self) -> None:
        self.dismiss()

    def on_mount(self) -> None:
        self.refresh_state()
