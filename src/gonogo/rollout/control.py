"""The surface the panel drives a rollout through: ``RolloutControl``.

The panel (``gonogo.app``) depends on this protocol only, never on the engine's
internals: it reads the folded ``RolloutState``, the checklist ``Verdict``, the
``AdvancePreview`` and the session's events, subscribes to changes, and submits
intents as coroutines. ``gonogo.rollout.engine.Engine`` is the implementation;
the panel's tests use a double that folds a recorded journal and records intents.

An intent the engine will not carry out raises ``EngineRefused`` (its message is
for the operator); anything else raised is a failure of the step itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from gonogo.config import RunbookStep
from gonogo.rollout.engine import EngineRefused
from gonogo.rollout.journal import Event
from gonogo.rollout.phases import AdvancePreview
from gonogo.rollout.state import RolloutState
from gonogo.verdict import Verdict

__all__ = ["RolloutControl", "StateListener", "EngineRefused"]

StateListener = Callable[[Event, RolloutState], None]
"""Called after every journalled event with the event and the state folded up to it."""


class RolloutControl(Protocol):
    """What the panel reads from, and asks of, the rollout engine."""

    # Views ----------------------------------------------------------------
    @property
    def actor(self) -> str:
        """Who this panel acts as: the name its intents are journaled under."""
        ...

    @property
    def driving(self) -> bool:
        """``False`` for a watcher: only intents (sign-off, pause request, rollback
        proposal, note) go through, and the driver journals them."""
        ...

    @property
    def state(self) -> RolloutState:
        """The fold of every event so far (immutable; replaced on each event)."""
        ...

    @property
    def steps(self) -> Mapping[str, RunbookStep]:
        """The rollback runbook's steps by id (their ``action`` says who completes them)."""
        ...

    def watchers(self) -> Sequence[str]:
        """Who is watching this session now (as far as it can tell)."""
        ...

    def verdict(self) -> Verdict:
        """The checklist's go/no-go verdict for the current results and owners."""
        ...

    def advance_preview(self) -> AdvancePreview:
        """What the next advance would do and everything that blocks it now."""
        ...

    def events(self) -> Sequence[Event]:
        """Every event of the session so far, oldest first (the session log's history)."""
        ...

    def subscribe(self, callback: StateListener) -> Callable[[], None]:
        """Call ``callback`` after each new event; returns the unsubscribe function."""
        ...

    # Intents (each journals what it did, or raises EngineRefused) -----------
    async def run_checks(self, ids: Iterable[str] | None = None) -> None: ...

    async def advance(self) -> None: ...

    async def force_advance(self, reason: str) -> None: ...

    async def pause(self, reason: str = "") -> None: ...

    async def resume(self, reason: str = "") -> None: ...

    async def rollback(self, reason: str) -> None: ...

    async def sign_off(self, check_id: str, note: str = "") -> None: ...

    async def set_owner(self, role: str, name: str) -> None: ...

    async def confirm_traffic(self, note: str = "") -> None: ...

    async def confirm_step(self, step_id: str, note: str = "") -> None: ...

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None: ...

    async def mark_reconciled(self, item_id: str) -> None: ...

    async def tick(self) -> None:
        """One poll: metrics and stop criteria, the hold timer."""
        ...

    async def recover(self) -> None:
        """Finish what a crash interrupted (an unconfirmed shift, a runbook midway)."""
        ...

    async def aclose(self) -> None:
        """Release clients and the journal."""
        ...
