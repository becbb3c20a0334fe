"""A ``RolloutControl`` double for the panel's tests: the real fold of a recorded
journal, and a list of the intents the panel asked for.

It does not simulate the engine: an intent is recorded and changes nothing. Views
come from the same pure functions the engine calls (``fold``/``apply``,
``decide``, ``preview``). ``play`` delivers further *recorded* events through the
subscribe path, the way the live engine would (replay feeds the live path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from gonogo.config import Plan, RunbookStep
from gonogo.rollout.control import RolloutControl, StateListener
from gonogo.rollout.journal import Event
from gonogo.rollout.phases import AdvancePreview, preview
from gonogo.rollout.stages import plan_runbook
from gonogo.rollout.state import RolloutState, apply, fold
from gonogo.verdict import Verdict, decide

Intent = tuple[str, tuple[Any, ...]]


class ControlDouble:
    def __init__(self, plan: Plan, events: Sequence[Event], *, now: Callable[[], float],
                 state: RolloutState | None = None) -> None:
        """``state``: ``fold(events, plan)`` when the caller already has it."""
        self.actor = "ada"
        self.driving = True
        self.watching: list[str] = []
        self.plan = plan
        self.now = now
        self._events = list(events)
        self._state = state if state is not None else fold(self._events, plan)
        self._steps = {s.id: s for s in plan_runbook(plan)}
        self._listeners: list[StateListener] = []
        self.intents: list[Intent] = []

    # views ------------------------------------------------------------------
    @property
    def state(self) -> RolloutState:
        return self._state

    @property
    def steps(self) -> Mapping[str, RunbookStep]:
        return self._steps

    def watchers(self) -> list[str]:
        return list(self.watching)

    def verdict(self) -> Verdict:
        return decide(self.plan, self._state.results, self._state.owners, now=self.now())

    def advance_preview(self) -> AdvancePreview:
        return preview(self._state, self.plan, self.now(), self.verdict())

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def subscribe(self, callback: StateListener) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def play(self, events: Iterable[Event]) -> None:
        """Deliver recorded events as the engine would: fold each, tell the listeners."""
        for event in events:
            self._events.append(event)
            self._state = apply(self._state, event, self.plan)
            for listener in list(self._listeners):
                listener(event, self._state)

    def asked(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every ``name`` intent, in order."""
        return [args for intent, args in self.intents if intent == name]

    # intents: recorded, nothing else ------------------------------------------
    async def run_checks(self, ids: Iterable[str] | None = None) -> None:
        self.intents.append(("run_checks", (None if ids is None else tuple(ids),)))

    async def advance(self) -> None:
        self.intents.append(("advance", ()))

    async def force_advance(self, reason: str) -> None:
        self.intents.append(("force_advance", (reason,)))

    async def pause(self, reason: str = "") -> None:
        self.intents.append(("pause", (reason,)))

    async def resume(self, reason: str = "") -> None:
        self.intents.append(("resume", (reason,)))

    async def rollback(self, reason: str) -> None:
        self.intents.append(("rollback", (reason,)))

    async def sign_off(self, check_id: str, note: str = "") -> None:
        self.intents.append(("sign_off", (check_id, note)))

    async def set_owner(self, role: str, name: str) -> None:
        self.intents.append(("set_owner", (role, name)))

    async def confirm_traffic(self, note: str = "") -> None:
        self.intents.append(("confirm_traffic", (note,)))

    async def confirm_step(self, step_id: str, note: str = "") -> None:
        self.intents.append(("confirm_step", (step_id, note)))

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None:
        self.intents.append(("runbook_decision", (step_id, decision, reason)))

    async def mark_reconciled(self, item_id: str) -> None:
        self.intents.append(("mark_reconciled", (item_id,)))

    async def tick(self) -> None:
        self.intents.append(("tick", ()))

    async def recover(self) -> None:
        self.intents.append(("recover", ()))

    async def aclose(self) -> None:
        self.intents.append(("aclose", ()))


def _typed(double: ControlDouble) -> RolloutControl:
    return double  # mypy: the double implements the protocol
