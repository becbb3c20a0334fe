"""Rollout state: a pure fold over journal events.

``fold(events, plan)`` rebuilds the state from nothing; ``apply(state, event, plan)``
advances it by one event (the engine keeps its state this way). Nothing here reads
a clock: time-dependent views (``hold_elapsed``) take ``now``.

Event kinds and their data (the journal's vocabulary):

=====================  ==========================================================
session_started        release, commit, config, speed, stages
session_resumed        speed
check_result           result (CheckResult.to_dict())
owner_set              role, name
signed_off             check_id, note
advance_confirmed      from_index, to_index, forced, reason (to_index == len: stable)
traffic_intended       weight, stage, purpose ("advance" | "rollback")
traffic_confirmed      weight, stage, detail
traffic_failed         weight, stage, error
stage_entered          index, stage, weight
hold_completed         stage
paused / resumed       reason
samples                values {metric: [canary, baseline] | null}, errors {metric: text}
criterion_tripped      metric, rule, canary, baseline, threshold, breach_s, reason
rollback_proposed      reason, metric
rollback_started       reason, trigger ("operator" | "criterion"), snapshot
runbook_step_started   step
runbook_step_finished  step, status ("done" | "failed"), detail
runbook_decision       step, decision ("retry" | "skip"), reason
rollback_finished      —
reconciled             item
release_stable         —
=====================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gonogo.config import Plan
from gonogo.context import SignOff
from gonogo.model import CheckResult
from gonogo.rollout.analysis import RuleEvaluation, Sample, evaluate
from gonogo.rollout.journal import Event
from gonogo.rollout.stages import plan_metrics, plan_runbook, plan_stages

__all__ = [
    "Phase", "StageView", "RuleEvaluation", "RunbookStepState", "RolloutState", "fold", "apply",
    "initial_state",
]

MAX_SAMPLES = 240


class Phase(enum.StrEnum):
    IDLE = "idle"  # session open, no stage entered yet
    SHIFTING = "shifting"  # a traffic shift is under way (intended, not yet confirmed)
    HOLDING = "holding"  # in a stage, hold timer running
    PAUSED = "paused"  # hold timer stopped (operator, or a proposed rollback)
    READY = "ready"  # hold completed; the advance may still be blocked
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    STABLE = "stable"


@dataclass(frozen=True, slots=True)
class StageView:
    id: str
    title: str
    weight: float
    hold_s: float
    index: int


StepStatus = Literal["pending", "running", "done", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class RunbookStepState:
    id: str
    title: str
    status: StepStatus = "pending"
    detail: str = ""
    at: float | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class RolloutState:
    release: str
    phase: Phase
    stage_index: int  # -1 before the first stage
    stages: tuple[StageView, ...]
    weight_intended: float = 0.0
    weight_confirmed: float = 0.0
    hold_started_at: float | None = None
    hold_paused_s: float = 0.0
    paused_at: float | None = None
    results: Mapping[str, CheckResult] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)
    signoffs: Mapping[str, SignOff] = field(default_factory=dict)
    evaluations: Mapping[str, RuleEvaluation] = field(default_factory=dict)
    runbook: tuple[RunbookStepState, ...] = ()
    stop_reason: str | None = None
    reconciliation: Mapping[str, bool] = field(default_factory=dict)
    driver: str | None = None
    events: int = 0
    last_event_at: float = 0.0
    # Fields beyond the panel contract:
    speed: float = 1.0
    hold_banked_s: float = 0.0  # plan-time elapsed before the last speed change
    resume_phase: Phase | None = None  # the phase a pause returns to
    rollback_proposed: bool = False
    traffic_error: str | None = None
    target_index: int | None = None  # the stage an in-flight shift is heading to
    rollbacks: int = 0
    forced: tuple[str, ...] = ()  # reasons of force-advances, in order
    samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    result_seq: Mapping[str, int] = field(default_factory=dict)  # check id -> event seq
    stage_seq: int = 0  # seq of the current stage's stage_entered event
    trip_pending: bool = False  # a criterion tripped; no rollback started/proposed yet
    last_hash: str = ""

    @property
    def stage(self) -> StageView | None:
        return self.stages[self.stage_index] if 0 <= self.stage_index < len(self.stages) else None

    def hold_elapsed(self, now: float) -> float:
        """Plan-time seconds of the current stage's hold (real time × speed, pauses excluded)."""
        if self.hold_started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        real = max(0.0, end - self.hold_started_at - self.hold_paused_s)
        return self.hold_banked_s + real * self.speed

    def hold_remaining(self, now: float) -> float:
        stage = self.stage
        if stage is None:
            return 0.0
        return max(0.0, stage.hold_s - self.hold_elapsed(now))

    @property
    def runbook_waiting(self) -> RunbookStepState | None:
        """The failed step awaiting an operator's retry/skip decision, if any."""
        for step in self.runbook:
            if step.status == "failed":
                return step
        return None


def initial_state(plan: Plan) -> RolloutState:
    stages = tuple(
        StageView(s.id, s.title or s.id, float(s.weight), s.hold.seconds, i)
        for i, s in enumerate(plan_stages(plan))
    )
    return RolloutState(
        release=plan.release.name,
        phase=Phase.IDLE,
        stage_index=-1,
        stages=stages,
        owners=dict(plan.owners),
        runbook=_fresh_runbook(plan),
        reconciliation={r.id: False for r in plan.runbook.reconciliation},
    )


def _fresh_runbook(plan: Plan) -> tuple[RunbookStepState, ...]:
    return tuple(RunbookStepState(s.id, s.title) for s in plan_runbook(plan))


def fold(events: Iterable[Event], plan: Plan) -> RolloutState:
    state = initial_state(plan)
    for event in events:
        state = apply(state, event, plan)
    return state


def apply(state: RolloutState, event: Event, plan: Plan) -> RolloutState:
    handler = _HANDLERS.get(event.kind)
    changes: dict[str, Any] = handler(state, event, plan) if handler else {}
    changes.update(events=state.events + 1, last_event_at=event.time, last_hash=event.hash)
    return dataclasses.replace(state, **changes)


# Handlers: each returns the fields that change ------------------------------
def _session_started(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"driver": e.actor, "speed": float(e.data.get("speed", 1.0))}


def _session_resumed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    speed = float(e.data.get("speed", s.speed))
    out: dict[str, Any] = {"driver": e.actor, "speed": speed}
    if speed != s.speed and s.hold_started_at is not None:
        # Bank the hold so far at the old speed; continue from here at the new one.
        out.update(hold_banked_s=s.hold_elapsed(e.time), hold_started_at=e.time, hold_paused_s=0.0)
        if s.paused_at is not None:
            out["paused_at"] = e.time
    return out


def _check_result(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    result = CheckResult.from_dict(e.data["result"])
    return {"results": {**s.results, result.check_id: result},
            "result_seq": {**s.result_seq, result.check_id: e.seq}}


def _owner_set(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"owners": {**s.owners, e.data["role"]: e.data["name"]}}


def _signed_off(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    sign = SignOff(actor=e.actor, at=e.time, note=str(e.data.get("note", "")))
    return {"signoffs": {**s.signoffs, e.data["check_id"]: sign}}


def _advance_confirmed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    to = int(e.data["to_index"])
    out: dict[str, Any] = {"phase": Phase.SHIFTING, "target_index": to, "traffic_error": None}
    if e.data.get("forced"):
        out["forced"] = (*s.forced, str(e.data.get("reason", "")))
    if s.phase == Phase.ROLLED_BACK:  # a re-rollout starts from a clean analysis
        out.update(samples={}, evaluations={}, stop_reason=None, stage_index=-1,
                   rollback_proposed=False, runbook=_fresh_runbook(plan))
    return out


def _traffic_intended(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"weight_intended": float(e.data["weight"])}


def _traffic_confirmed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"weight_confirmed": float(e.data["weight"]), "traffic_error": None}


def _traffic_failed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {"traffic_error": str(e.data.get("error", "")), "target_index": None}
    if s.phase == Phase.SHIFTING:  # stay in the stage we were in; the operator may retry
        out["phase"] = Phase.IDLE if s.stage_index < 0 else Phase.HOLDING
        if s.stage_index >= 0 and s.hold_remaining(e.time) <= 0:
            out["phase"] = Phase.READY
    return out


def _stage_entered(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {
        "phase": Phase.HOLDING, "stage_index": int(e.data["index"]), "target_index": None,
        "stage_seq": e.seq,
        "hold_started_at": e.time, "hold_paused_s": 0.0, "hold_banked_s": 0.0, "paused_at": None,
    }


def _hold_completed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    if s.phase == Phase.HOLDING:
        return {"phase": Phase.READY}
    if s.phase == Phase.PAUSED:
        return {"resume_phase": Phase.READY}
    return {}


def _paused(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    if s.phase == Phase.PAUSED:
        return {}
    return {"phase": Phase.PAUSED, "paused_at": e.time, "resume_phase": s.phase}


def _resumed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    if s.phase != Phase.PAUSED:
        return {}
    paused = (e.time - s.paused_at) if s.paused_at is not None else 0.0
    return {
        "phase": s.resume_phase or Phase.HOLDING, "paused_at": None, "resume_phase": None,
        "hold_paused_s": s.hold_paused_s + max(0.0, paused), "rollback_proposed": False,
        "stop_reason": None,
    }


def _samples(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    values: Mapping[str, Any] = e.data.get("values", {})
    errors: Mapping[str, str] = e.data.get("errors", {})
    samples = dict(s.samples)
    evaluations = dict(s.evaluations)
    for metric in plan_metrics(plan):
        pair = values.get(metric.id)
        canary, baseline = (pair[0], pair[1]) if isinstance(pair, list) else (None, None)
        sample = Sample(e.time, canary, baseline, errors.get(metric.id, ""))
        series = (*samples.get(metric.id, ()), sample)[-MAX_SAMPLES:]
        samples[metric.id] = series
        evaluations[metric.id] = evaluate(metric, series, speed=s.speed)
    return {"samples": samples, "evaluations": evaluations}


def _criterion_tripped(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"stop_reason": str(e.data.get("reason", e.data.get("metric", "stop criterion"))),
            "trip_pending": True}


def _rollback_proposed(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    out = _paused(s, e, plan)
    out.update(rollback_proposed=True, stop_reason=str(e.data.get("reason", "")), trip_pending=False)
    return out


def _rollback_started(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {
        "phase": Phase.ROLLING_BACK, "stop_reason": str(e.data.get("reason", "")), "trip_pending": False,
        "runbook": _fresh_runbook(plan), "rollbacks": s.rollbacks + 1, "paused_at": None,
        "resume_phase": None, "rollback_proposed": False, "target_index": None,
        "reconciliation": {r.id: False for r in plan.runbook.reconciliation},
    }


def _step(s: RolloutState, step_id: str, **changes: Any) -> tuple[RunbookStepState, ...]:
    return tuple(dataclasses.replace(st, **changes) if st.id == step_id else st for st in s.runbook)


def _runbook_step_started(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    step = e.data["step"]
    attempts = next((st.attempts for st in s.runbook if st.id == step), 0)
    return {"runbook": _step(s, step, status="running", at=e.time, detail="", attempts=attempts + 1)}


def _runbook_step_finished(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    status = "done" if e.data.get("status") == "done" else "failed"
    return {"runbook": _step(s, e.data["step"], status=status, at=e.time,
                             detail=str(e.data.get("detail", "")))}


def _runbook_decision(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    why = str(e.data.get("reason", ""))
    if e.data.get("decision") == "skip":
        return {"runbook": _step(s, e.data["step"], status="skipped", at=e.time,
                                 detail=f"skipped by {e.actor}: {why}")}
    return {"runbook": _step(s, e.data["step"], status="pending", at=e.time,
                             detail=f"retry by {e.actor}: {why}")}


def _rollback_finished(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"phase": Phase.ROLLED_BACK, "stage_index": -1, "hold_started_at": None}


def _reconciled(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"reconciliation": {**s.reconciliation, e.data["item"]: True}}


def _release_stable(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    return {"phase": Phase.STABLE, "target_index": None}


_HANDLERS = {
    "session_started": _session_started,
    "session_resumed": _session_resumed,
    "check_result": _check_result,
    "owner_set": _owner_set,
    "signed_off": _signed_off,
    "advance_confirmed": _advance_confirmed,
    "traffic_intended": _traffic_intended,
    "traffic_confirmed": _traffic_confirmed,
    "traffic_failed": _traffic_failed,
    "stage_entered": _stage_entered,
    "hold_completed": _hold_completed,
    "paused": _paused,
    "resumed": _resumed,
    "samples": _samples,
    "criterion_tripped": _criterion_tripped,
    "rollback_proposed": _rollback_proposed,
    "rollback_started": _rollback_started,
    "runbook_step_started": _runbook_step_started,
    "runbook_step_finished": _runbook_step_finished,
    "runbook_decision": _runbook_decision,
    "rollback_finished": _rollback_finished,
    "reconciled": _reconciled,
    "release_stable": _release_stable,
}
KINDS = frozenset(_HANDLERS)
