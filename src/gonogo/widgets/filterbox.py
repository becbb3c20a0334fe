"""A filter box that keeps every key typed into it, in order, however fast.

Textual's ``Input`` inserts a printable key as soon as the key reaches it, but runs
its editing keys (backspace, delete, ctrl+w, the arrows...) through bindings, which
the app checks only after the key has bubbled up through the screen's message queue.
A screen busy with the previous keystroke's ``Changed`` (re-filtering a list), or
simply a burst of keys from the terminal, lets the characters typed after a backspace
arrive first: typing ``stall``, two backspaces and ``ge`` left ``stall``.
``FilterBox`` runs its own editing bindings when the key arrives, in typing order.

Escape empties the box and says so (``FilterBox.Cleared``), so the screen can hand the
focus back to what the box filters.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterBox(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", id="clear_filter"),
    ]

    class Cleared(Message):
        """Escape emptied the box."""

    def action_clear(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # Input._on_key inserts it, next in the MRO
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        if bindings:
            event.stop()
            event.prevent_default()  # handled: not again through the app's bindings
            await self.run_action(bindings[0].action)
