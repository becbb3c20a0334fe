"""The rollout engine: the only writer of a session's journal.

Every operator intent and every observation becomes a journal event (fsync'd)
before the method returns; ``state`` is the fold of those events, so a restarted
engine on the same journal is in exactly the same state. The clock is injected:
holds and rule durations run in plan time (real seconds × the session's speed).

Subscribers (the panel, the headless CLI) get ``(event, state)`` after each write.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gonogo.config import Plan
from gonogo.context import CheckContext, make_context
from gonogo.model import Status
from gonogo.rollout.journal import Event, JournalStore
from gonogo.rollout.metrics import MetricsSource, make_source
from gonogo.rollout.stages import AdvancePreview, plan_metrics, plan_runbook, plan_stages, preview
from gonogo.rollout.state import Phase, RolloutState, apply, fold
from gonogo.rollout.traffic import TrafficDriver, make_driver
from gonogo.verdict import Verdict, decide

Callback = Callable[[Event, RolloutState], None]
_PLAN_IDS = frozenset({
    "id", "check_id", "step", "stage", "from_stage", "to_stage", "metric", "item", "role",
    "action", "status", "decision", "trigger", "purpose", "release", "rule", "state", "stages",
    "commit", "environment",
})


class EngineRefused(Exception):
    """An intent the engine will not carry out now; the message is for the operator."""


def default_actor(plan: Plan | None = None, override: str | None = None) -> str:
    """--actor, else settings.actor, else user@host."""
    if override and override.strip():
        return override.strip()
    if plan is not None and plan.settings.actor.strip():
        return plan.settings.actor.strip()
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class Engine:
    def __init__(
        self,
        plan: Plan,
        journal: JournalStore,
        *,
        clock: Callable[[], float] = time.time,
        actor: str | None = None,
        traffic: TrafficDriver | None = None,
        metrics: MetricsSource | None = None,
        context_factory: Callable[[], CheckContext] | None = None,
        session_dir: str | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.clock = clock
        self.actor = actor or default_actor(plan)
        self._traffic = traffic
        self._metrics = metrics
        self._context_factory = context_factory or (lambda: make_context(plan))
        self._ctx: CheckContext | None = None
        self.session_dir = Path(session_dir or getattr(journal, "location", "."))
        self.stages = plan_stages(plan)
        self.metrics = plan_metrics(plan)
        self.steps = {s.id: s for s in plan_runbook(plan)}
        self._subs: list[Callback] = []
        self._lock: asyncio.Lock | None = None
        self.state: RolloutState = fold(journal.read(), plan)

    # Plumbing ----------------------------------------------------------
    @property
    def ctx(self) -> CheckContext:
        if self._ctx is None:
            self._ctx = self._context_factory()
        return self._ctx

    @property
    def traffic(self) -> TrafficDriver:
        if self._traffic is None:
            self._traffic = make_driver(self.plan, self.ctx)
        return self._traffic

    @property
    def source(self) -> MetricsSource:
        if self._metrics is None:
            self._metrics = make_source(self.plan, self.ctx)
        return self._metrics

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def emit(self, kind: str, data: dict[str, Any] | None = None) -> Event:
        """Append one event (redacted), fold it in, tell subscribers."""
        clean = self._redact(data or {})
        event = self.journal.append(kind, clean, self.actor, float(self.clock()))
        self.state = apply(self.state, event, self.plan)
        for cb in list(self._subs):
            try:
                cb(event, self.state)
            except Exception:  # a broken view must not stop the rollout
                pass
        return event

    def _redact(self, value: Any, key: str = "") -> Any:
        """Scrub secret values from free text; identifiers from the plan stay intact
        (a secret that happens to be a common word must not rename a check)."""
        if key in _PLAN_IDS or key == "result":  # the runner already redacted results
            return value
        if isinstance(value, dict):
            return {k: self._redact(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact(v, key) for v in value]
        if isinstance(value, str):
            return self.ctx.redactor.text(value)
        return value

    async def aclose(self) -> None:
        if self._metrics is not None:
            await self._metrics.aclose()
        if self._ctx is not None:
            await self._ctx.aclose()
            self._ctx = None
        self.journal.close()

    # Views -------------------------------------------------------------
    def verdict(self) -> Verdict:
        return decide(self.plan, self.state.results, self.state.owners)

    def advance_preview(self) -> AdvancePreview:
        return preview(self.state, self.plan, self.clock(), self.verdict())

    # Session -----------------------------------------------------------
    def start(self, *, speed: float = 1.0) -> Event:
        """Open the session (first run) or record that this driver resumed it."""
        if not speed > 0:
            raise EngineRefused("speed must be greater than 0")
        if self.state.events == 0:
            p = self.plan
            return self.emit("session_started", {
                "release": p.release.name, "commit": p.release.commit, "config": p.source,
                "environment": p.release.environment, "speed": speed,
                "stages": [s.id for s in self.stages],
            })
        return self.emit("session_resumed", {"speed": speed})

    async def recover(self) -> None:
        """Finish what a crash interrupted: an unconfirmed shift, a runbook midway."""
        s = self.state
        stale = [cid for cid in s.signoffs
                 if cid in s.results and s.results[cid].status == Status.PENDING]
        if stale:  # signed off, but the crash came before its check re-ran
            await self.run_checks(stale)
            s = self.state
        if s.trip_pending and s.phase in (Phase.HOLDING, Phase.READY, Phase.PAUSED):
            tripped = next((e for e in reversed(self.journal.read()) if e.kind == "criterion_tripped"), None)
            if tripped is not None:
                async with self._guard():
                    await self._stop(dict(tripped.data), record=False)
            return
        if s.phase == Phase.SHIFTING and s.target_index is not None:
            async with self._guard():
                if s.target_index >= len(self.stages):  # the advance to stable was confirmed
                    self.emit("release_stable", {"release": self.plan.release.name})
                else:
                    await self._shift_into(s.target_index)
        elif s.phase == Phase.ROLLING_BACK and s.runbook_waiting is None:
            await self.continue_rollback()

    # Checks ------------------------------------------------------------
    async def run_checks(self, ids: Iterable[str] | None = None) -> None:
        from gonogo.runner import run_checks, select

        selected = select(self.plan, list(ids) if ids is not None else None)
        ctx = self.ctx
        ctx.signoffs.clear()
        ctx.signoffs.update(self.state.signoffs)
        async for result in run_checks(ctx, selected):
            self.emit("check_result", {"result": result.to_dict()})

    async def sign_off(self, check_id: str, note: str = "") -> None:
        try:
            self.plan.check(check_id)
        except KeyError:
            stage_signoffs = {s.signoff for s in self.stages if s.signoff}
            if check_id not in stage_signoffs:
                raise EngineRefused(f"no check or stage sign-off {check_id!r}") from None
        self.emit("signed_off", {"check_id": check_id, "note": note})
        if any(c.id == check_id for _, c in self.plan.checks()):
            await self.run_checks([check_id])  # the manual check now passes, on the record

    async def set_owner(self, role: str, name: str) -> None:
        role, name = role.strip(), name.strip()
        if not role or not name:
            raise EngineRefused("an owner needs a role and a name (write TBD until known)")
        self.emit("owner_set", {"role": role, "name": name})
        if self.plan.source and Path(self.plan.source).is_file():
            from gonogo.config import set_owner

            try:
                await asyncio.to_thread(set_owner, self.plan.source, role, name)
            except OSError as exc:
                raise EngineRefused(f"owner logged, but {self.plan.source} not updated: {exc.strerror}") from None

    # Stages ------------------------------------------------------------
    async def advance(self) -> None:
        async with self._guard():
            pv = self.advance_preview()
            if not pv.can_advance:
                raise EngineRefused("cannot advance: " + "; ".join(pv.blockers))
            await self._advance(forced=False, reason="")

    async def force_advance(self, reason: str) -> None:
        if not reason.strip():
            raise EngineRefused("a force-advance needs a typed reason")
        async with self._guard():
            if self.state.phase in (Phase.STABLE, Phase.ROLLING_BACK, Phase.SHIFTING):
                raise EngineRefused(f"cannot force-advance while {self.state.phase}")
            await self._advance(forced=True, reason=reason.strip())

    async def _advance(self, *, forced: bool, reason: str) -> None:
        s = self.state
        restart = s.phase in (Phase.IDLE, Phase.ROLLED_BACK)
        to_index = 0 if restart else s.stage_index + 1
        self.emit("advance_confirmed", {
            "from_index": s.stage_index if not restart else -1, "to_index": to_index,
            "from_stage": s.stage.id if s.stage and not restart else None,
            "to_stage": self.stages[to_index].id if to_index < len(self.stages) else "stable",
            "forced": forced, "reason": reason,
        })
        if to_index >= len(self.stages):
            self.emit("release_stable", {"release": self.plan.release.name})
            return
        await self._shift_into(to_index)

    async def _shift_into(self, index: int) -> None:
        stage = self.stages[index]
        self.emit("traffic_intended", {"weight": float(stage.weight), "stage": stage.id, "purpose": "advance"})
        if self.traffic.needs_confirmation:
            return  # the operator confirms with confirm_traffic()
        shift = await self.traffic.shift(float(stage.weight), stage.id, self.plan.release.name)
        if not shift.confirmed:
            self.emit("traffic_failed", {"weight": shift.weight, "stage": stage.id, "error": shift.detail})
            return
        self.emit("traffic_confirmed", {"weight": shift.weight, "stage": stage.id, "detail": shift.detail})
        await self._enter(index)

    async def _enter(self, index: int) -> None:
        stage = self.stages[index]
        self.emit("stage_entered", {"index": index, "stage": stage.id, "weight": float(stage.weight)})
        if stage.entry_checks:
            await self.run_checks(stage.entry_checks)

    async def confirm_traffic(self, note: str = "") -> None:
        """The operator confirms the manually set weight (manual driver)."""
        s = self.state
        stale = [cid for cid in s.signoffs
                 if cid in s.results and s.results[cid].status == Status.PENDING]
        if stale:  # signed off, but the crash came before its check re-ran
            await self.run_checks(stale)
            s = self.state
        if s.trip_pending and s.phase in (Phase.HOLDING, Phase.READY, Phase.PAUSED):
            tripped = next((e for e in reversed(self.journal.read()) if e.kind == "criterion_tripped"), None)
            if tripped is not None:
                async with self._guard():
                    await self._stop(dict(tripped.data), record=False)
            return
        if s.phase == Phase.SHIFTING and s.target_index is not None:
            stage = self.stages[s.target_index]
            self.emit("traffic_confirmed", {"weight": s.weight_intended, "stage": stage.id,
                                            "detail": f"confirmed by {self.actor}" + (f": {note}" if note else "")})
            await self._enter(s.target_index)
            return
        running = next((st for st in s.runbook if st.status == "running"), None)
        if s.phase == Phase.ROLLING_BACK and running is not None:
            self.emit("traffic_confirmed", {"weight": s.weight_intended, "stage": "rollback",
                                            "detail": f"confirmed by {self.actor}"})
            self.emit("runbook_step_finished", {"step": running.id, "status": "done",
                                                "detail": f"confirmed by {self.actor}"})
            await self.continue_rollback()
            return
        raise EngineRefused("no traffic shift is waiting for confirmation")

    async def pause(self, reason: str = "") -> None:
        if self.state.phase not in (Phase.HOLDING, Phase.READY):
            raise EngineRefused(f"nothing to pause while {self.state.phase}")
        self.emit("paused", {"reason": reason})

    async def resume(self, reason: str = "") -> None:
        if self.state.phase != Phase.PAUSED:
            raise EngineRefused("not paused")
        self.emit("resumed", {"reason": reason})

    # Polling -----------------------------------------------------------
    def analysing(self) -> bool:
        s = self.state
        stage = s.stage
        return (
            bool(self.metrics) and stage is not None
            and self.stages[stage.index].analysis
            and s.phase in (Phase.HOLDING, Phase.READY, Phase.PAUSED)
            and not s.rollback_proposed
        )

    async def tick(self) -> None:
        """One poll: metrics and rules, stop criteria, hold timer."""
        if self.analysing():
            readings = await self.source.poll(self.metrics, self.clock())
            async with self._guard():
                if not self.analysing():
                    return
                self.emit("samples", {
                    "values": {k: ([r.canary, r.baseline] if r.canary is not None or r.baseline is not None else None)
                               for k, r in readings.items()},
                    "errors": {k: r.error for k, r in readings.items() if r.error},
                })
                tripped = self._tripped()
                if tripped is not None:
                    await self._stop(tripped)
                    return
        s = self.state
        if s.phase == Phase.HOLDING and s.hold_remaining(self.clock()) <= 0:
            stage = self.stages[s.stage_index]
            self.emit("hold_completed", {"stage": stage.id, "hold_s": stage.hold.seconds})
            if stage.exit_checks:
                await self.run_checks(stage.exit_checks)

    def _tripped(self) -> dict[str, Any] | None:
        rollback_on_blind = self.plan.canary.on_inconclusive == "rollback"
        for ev in self.state.evaluations.values():
            if not ev.stop:
                continue
            blind = (rollback_on_blind and ev.state == "inconclusive"
                     and ev.inconclusive_s >= max(ev.required_s, 1e-9))
            if ev.state == "tripped" or blind:
                why = ev.reason if ev.state == "tripped" else f"inconclusive too long: {ev.reason}"
                return {
                    "metric": ev.metric_id, "title": ev.title, "rule": ev.rule, "state": ev.state,
                    "canary": ev.canary, "baseline": ev.baseline, "threshold": ev.threshold,
                    "breach_s": round(ev.breach_s, 3), "required_s": ev.required_s,
                    "reason": f"stop criterion {ev.metric_id} ({ev.title}): {why}",
                    "series": [list(p) for p in ev.series[-12:]],
                }
        return None

    async def _stop(self, tripped: dict[str, Any], *, record: bool = True) -> None:
        if record:
            self.emit("criterion_tripped", tripped)
        if self.plan.rollout.on_stop == "propose":
            self.emit("rollback_proposed", {"reason": tripped["reason"], "metric": tripped["metric"]})
            return
        await self._rollback(tripped["reason"], trigger="criterion")

    # Rollback ----------------------------------------------------------
    async def rollback(self, reason: str) -> None:
        if not reason.strip():
            raise EngineRefused("a rollback needs a reason")
        async with self._guard():
            if self.state.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
                raise EngineRefused(f"already {self.state.phase}")
            if self.state.phase == Phase.IDLE:
                raise EngineRefused("nothing to roll back: no stage entered yet")
            await self._rollback(reason.strip(), trigger="operator")

    async def _rollback(self, reason: str, *, trigger: str) -> None:
        snapshot = {k: ev.to_dict() for k, ev in self.state.evaluations.items()}
        self.emit("rollback_started", {"reason": reason, "trigger": trigger, "snapshot": snapshot,
                                       "weight": self.state.weight_confirmed})
        await self._run_runbook()

    async def continue_rollback(self) -> None:
        if self.state.phase != Phase.ROLLING_BACK:
            raise EngineRefused("no rollback in progress")
        await self._run_runbook()

    async def _run_runbook(self) -> None:
        from gonogo.rollout.runbook import execute

        for step_state in self.state.runbook:
            if step_state.status in ("done", "skipped"):
                continue
            if step_state.status == "failed":
                return  # waits for runbook_decision
            step = self.steps[step_state.id]
            self.emit("runbook_step_started", {"step": step.id, "action": step.action})
            outcome = await execute(step, self)
            if outcome is None:
                return  # waits for the operator (manual step or manual traffic)
            ok, detail = outcome
            self.emit("runbook_step_finished", {"step": step.id, "status": "done" if ok else "failed",
                                                "detail": detail})
            if not ok:
                return
        self.emit("rollback_finished", {"weight": self.state.weight_confirmed})

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None:
        if decision not in ("retry", "skip"):
            raise EngineRefused("decide 'retry' or 'skip'")
        if not reason.strip():
            raise EngineRefused("a runbook decision needs a reason")
        waiting = self.state.runbook_waiting
        if waiting is None or waiting.id != step_id:
            raise EngineRefused(f"runbook step {step_id!r} is not waiting for a decision")
        self.emit("runbook_decision", {"step": step_id, "decision": decision, "reason": reason.strip()})
        await self._run_runbook()

    async def confirm_step(self, step_id: str, note: str = "") -> None:
        """Confirm a manual runbook step as done."""
        running = next((st for st in self.state.runbook if st.status == "running"), None)
        if running is None or running.id != step_id or self.steps[step_id].action != "manual":
            raise EngineRefused(f"runbook step {step_id!r} is not waiting for confirmation")
        self.emit("runbook_step_finished", {"step": step_id, "status": "done",
                                            "detail": f"confirmed by {self.actor}" + (f": {note}" if note else "")})
        await self._run_runbook()

    async def mark_reconciled(self, item_id: str) -> None:
        if item_id not in self.state.reconciliation:
            known = ", ".join(self.state.reconciliation) or "none configured"
            raise EngineRefused(f"no reconciliation item {item_id!r} (known: {known})")
        self.emit("reconciled", {"item": item_id})
