"""A watcher's side of a shared session: ``WatchControl`` is a ``RolloutControl`` that
follows the driver's journal and never writes it.

The panel runs on it unchanged (``gonogo watch``): its state is the fold of the
driver's events, each new one within a poll (0.2 s); what a watcher may do goes to the
driver as an intent — sign off a check they own, add a note, request a pause, propose
a rollback — and is journaled by the driver under the watcher's name. Anything else
(advance, shifts, runbook steps, owners) is refused with who drives and how to take
over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from gonogo.config import Plan, RunbookStep
from gonogo.rollout.engine import EngineRefused
from gonogo.rollout.follow import Follower
from gonogo.rollout.intents import Inbox, IntentInbox, IntentKind, Presence
from gonogo.rollout.journal import Event
from gonogo.rollout.phases import AdvancePreview, preview
from gonogo.rollout.stages import plan_runbook
from gonogo.rollout.state import RolloutState, apply, fold
from gonogo.verdict import Verdict, decide

__all__ = ["WatchControl", "ANSWER_WAIT_S"]

ANSWER_WAIT_S = 10.0
Listener = Callable[[Event, RolloutState], None]


class WatchControl:
    """Read-only: the driver's session as it happens; intents instead of actions."""

    driving = False

    def __init__(self, plan: Plan, follower: Follower, inbox: IntentInbox, *, actor: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan = plan
        self.follower = follower
        self.inbox = inbox
        self.actor = actor
        self.clock = clock
        self._events: list[Event] = follower.read()
        self._state = fold(self._events, plan)
        self._subs: list[Listener] = []
        # a file session hears who watches it (a store's watchers are not listed yet)
        self._presence = Presence(follower.location) if isinstance(inbox, Inbox) else None
        self._beat_at = 0.0
        self.steps: Mapping[str, RunbookStep] = {s.id: s for s in plan_runbook(plan)}

    # Views ------------------------------------------------------------------
    @property
    def state(self) -> RolloutState:
        return self._state

    @property
    def driver(self) -> str:
        return self._state.driver or "nobody yet"

    def verdict(self) -> Verdict:
        return decide(self.plan, self._state.results, self._state.owners, now=time.time())

    def advance_preview(self) -> AdvancePreview:
        return preview(self._state, self.plan, self.clock(), self.verdict())

    def events(self) -> Sequence[Event]:
        return list(self._events)

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    # Following ----------------------------------------------------------------
    def watchers(self) -> list[str]:
        return self._presence.present() if self._presence is not None else []

    async def tick(self) -> None:
        """Pick up what the driver journaled since the last tick (and say we are here)."""
        if self._presence is not None and time.time() - self._beat_at >= 5.0:
            self._beat_at = time.time()
            self._presence.beat(self.actor)
        for event in self.follower.poll():
            self._events.append(event)
            self._state = apply(self._state, event, self.plan)
            for cb in list(self._subs):
                cb(event, self._state)

    async def recover(self) -> None:
        return None  # the driver recovers its own session

    async def aclose(self) -> None:
        if self._presence is not None:
            self._presence.leave()
        self.follower.close()

    # Intents a watcher may submit ----------------------------------------------
    async def _submit(self, kind: IntentKind, *, check_id: str = "", note: str = "") -> None:
        intent = self.inbox.submit(kind, self.actor, check_id=check_id, note=note)
        answer = await asyncio.to_thread(self.inbox.wait, intent.id, ANSWER_WAIT_S)
        if answer is None:
            self.inbox.withdraw(intent.id)
            raise EngineRefused(f"the driver ({self.driver}) did not answer within "
                                f"{ANSWER_WAIT_S:g}s; nothing was recorded")
        if not answer.applied:
            raise EngineRefused(answer.detail)
        await self.tick()

    async def sign_off(self, check_id: str, note: str = "") -> None:
        await self._submit("signoff", check_id=check_id, note=note)

    async def note(self, text: str) -> None:
        await self._submit("note", note=text)

    async def pause(self, reason: str = "") -> None:
        await self._submit("pause", note=reason or f"{self.actor} asks for a pause")

    async def rollback(self, reason: str) -> None:
        await self._submit("rollback", note=reason)

    # What only the driver does ---------------------------------------------------
    def _refuse(self, what: str) -> EngineRefused:
        return EngineRefused(f"you are watching: only the driver ({self.driver}) can {what}; "
                             "ask them, or take over with `gonogo tui` once they stop")

    async def run_checks(self, ids: Iterable[str] | None = None) -> None:
        raise self._refuse("run checks")

    async def advance(self) -> None:
        raise self._refuse("advance")

    async def force_advance(self, reason: str) -> None:
        raise self._refuse("force an advance")

    async def resume(self, reason: str = "") -> None:
        raise self._refuse("resume")

    async def set_owner(self, role: str, name: str) -> None:
        raise self._refuse("change owners")

    async def confirm_traffic(self, note: str = "") -> None:
        raise self._refuse("confirm a traffic shift")

    async def confirm_step(self, step_id: str, note: str = "") -> None:
        raise self._refuse("confirm a runbook step")

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None:
        raise self._refuse("decide on a runbook step")

    async def mark_reconciled(self, item_id: str) -> None:
        raise self._refuse("mark reconciliation done")
