"""Typed messages between the engine wiring and the widgets.

Engine callbacks arrive as ``StateChanged``; a burst (metric ticks, a check run
streaming results) collapses to the newest because a newer state supersedes an
older one (``can_replace``). Widgets ask for things with intent messages; only
the app talks to the engine.
"""

from __future__ import annotations

from textual.message import Message

from gonogo.rollout.journal import Event
from gonogo.rollout.state import RolloutState


class StateChanged(Message):
    """The engine's fold moved on; carries the whole new state (immutable)."""

    def __init__(self, state: RolloutState, event: Event | None = None) -> None:
        super().__init__()
        self.state = state
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StateChanged)


class IntentFailed(Message):
    """The engine refused or failed an operator intent; shown, never raised."""

    def __init__(self, intent: str, reason: str) -> None:
        super().__init__()
        self.intent = intent
        self.reason = reason


class CheckSelected(Message):
    """A check row was chosen (enter): open its detail screen."""

    def __init__(self, check_id: str) -> None:
        super().__init__()
        self.check_id = check_id
