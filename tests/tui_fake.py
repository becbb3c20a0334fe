"""A recorded rollout for the panel's tests: a fixed state and an engine stand-in
that records intents and moves the state the way the real engine's fold would.

The panel's live wiring is tested against the real engine elsewhere
(test_tui_engine.py); this fake keeps snapshots deterministic (fixed clock,
seeded series, no network).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from gonogo.config import Plan, load_plan
from gonogo.model import CheckResult, Status
from gonogo.verdict import decide

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000.0  # a fixed "now" for every snapshot


class Phase(StrEnum):
    IDLE = "idle"
    SHIFTING = "shifting"
    HOLDING = "holding"
    PAUSED = "paused"
    READY = "ready"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    STABLE = "stable"


@dataclass(frozen=True)
class StageView:
    id: str
    title: str
    weight: float
    hold_s: float
    index: int


@dataclass(frozen=True)
class RuleEvaluation:
    metric_id: str
    title: str
    rule: str
    state: str
    canary: float | None
    baseline: float | None
    threshold: float | None
    breach_s: float
    required_s: float
    reason: str
    series: tuple[tuple[float, float | None, float | None], ...] = ()


@dataclass(frozen=True)
class RunbookStepState:
    id: str
    title: str
    status: str
    detail: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class FakeState:
    release: str
    phase: Phase
    stage_index: int
    stages: tuple[StageView, ...]
    weight_intended: float
    weight_confirmed: float
    hold_started_at: float | None
    hold_paused_s: float
    paused_at: float | None
    results: Mapping[str, CheckResult]
    owners: Mapping[str, str]
    signoffs: Mapping[str, Any]
    evaluations: Mapping[str, RuleEvaluation]
    runbook: tuple[RunbookStepState, ...]
    stop_reason: str | None
    reconciliation: Mapping[str, bool]
    driver: str | None
    events: int
    last_event_at: float

    def hold_elapsed(self, now: float) -> float:
        if self.hold_started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        return max(0.0, end - self.hold_started_at - self.hold_paused_s)

    def hold_remaining(self, now: float) -> float:
        stage = self.stages[self.stage_index]
        return max(0.0, stage.hold_s - self.hold_elapsed(now))


@dataclass(frozen=True)
class FakeEvent:
    seq: int
    time: float
    actor: str
    kind: str
    data: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True)
class Preview:
    from_stage: str
    to_stage: str
    weight_from: float
    weight_to: float
    hold_elapsed_s: float
    hold_required_s: float
    checks_passed: int
    checks_total: int
    blockers: tuple[str, ...]
    can_advance: bool


class EngineRefused(Exception):
    pass


def series(base: float, slope: float, n: int = 40, wobble: float = 0.1) -> list[float]:
    """A seeded, deterministic series (no randomness: a sine wobble)."""
    return [base + slope * i + base * wobble * math.sin(i * 0.9) for i in range(n)]


def seeded_results(plan: Plan, failing: Iterable[str] = ()) -> dict[str, CheckResult]:
    failing = set(failing)
    out = {}
    for i, (gate, spec) in enumerate(plan.checks()):
        status = Status.FAIL if spec.id in failing else Status.PASS
        evidence: dict[str, Any] = {}
        if spec.kind == "http_health":
            evidence = {"services": {
                s.name: {"url": "http://127.0.0.1/health", "status": 200,
                         "latency_ms": 12.0 + 3 * j, "version": "1.4.2"}
                for j, s in enumerate(plan.services)}}
        out[spec.id] = CheckResult(
            check_id=spec.id, gate_id=gate.id, kind=spec.kind, title=spec.title,
            required=spec.required, status=status,
            summary="HTTP 503 from /health" if status is Status.FAIL else "ok",
            details=("auth: HTTP 503",) if status is Status.FAIL else (),
            evidence=evidence, duration_ms=40.0 + 7 * i, attempts=1, finished_at=T0 - 60 + i,
        )
    return out


def canary_evaluations(plan: Plan, tripped: bool = False) -> dict[str, RuleEvaluation]:
    out = {}
    for i, m in enumerate(plan.canary.metrics):
        base = 120.0 * (i + 1) if m.unit == "ms" else 0.004 * (i + 1)
        can = series(base, base * (0.08 if tripped and i == 0 else 0.0))
        bas = series(base, 0.0, wobble=0.05)
        state = "ok"
        breach = 0.0
        if tripped and i == 0:
            state, breach = "tripped", m.duration.seconds
        elif i == 1:
            state, breach = "breaching", 120.0
        elif i == 2:
            can = can[:3] + [None] * 37  # type: ignore[list-item]
            state = "inconclusive"
        thr = (bas[-1] * m.factor) if m.rule == "ratio_above" else (m.threshold or None)
        out[m.id] = RuleEvaluation(
            metric_id=m.id, title=m.title or m.id, rule=m.rule, state=state,
            canary=None if state == "inconclusive" else can[-1], baseline=bas[-1],
            threshold=thr, breach_s=breach, required_s=m.duration.seconds,
            reason="no samples for 3m" if state == "inconclusive" else "",
            series=tuple((T0 - 15 * (40 - k), c, b) for k, (c, b) in enumerate(zip(can, bas, strict=True))),
        )
    return out


def stage_views(plan: Plan) -> tuple[StageView, ...]:
    return tuple(StageView(s.id, s.title or s.id, s.weight, s.hold.seconds, i)
                 for i, s in enumerate(plan.rollout.stages))


def recorded_state(plan: Plan, *, stage: int = 2, phase: Phase = Phase.HOLDING,
                   tripped: bool = False, failing: Iterable[str] = ()) -> FakeState:
    stages = stage_views(plan)
    weight = stages[stage].weight if stages else 0.0
    return FakeState(
        release=plan.release.name, phase=phase, stage_index=stage, stages=stages,
        weight_intended=weight, weight_confirmed=weight,
        hold_started_at=T0 - 754.0, hold_paused_s=0.0, paused_at=None,
        results=seeded_results(plan, failing), owners=dict(plan.owners), signoffs={},
        evaluations=canary_evaluations(plan, tripped), runbook=(), stop_reason=None,
        reconciliation={}, driver="sandbox", events=42, last_event_at=T0 - 5,
    )


class FakeEngine:
    """Engine surface from /work/notes/engine-api.md; records every intent."""

    def __init__(self, plan: Plan, state: FakeState) -> None:
        self.plan = plan
        self.state = state
        self.intents: list[tuple[str, tuple[Any, ...]]] = []
        self.events: list[FakeEvent] = []
        self._subs: list[Callable[[Any, Any], None]] = []
        self.journal = self  # read() below

    def read(self) -> list[FakeEvent]:
        return list(self.events)

    def subscribe(self, callback: Callable[[Any, Any], None]) -> Callable[[], None]:
        self._subs.append(callback)
        return lambda: self._subs.remove(callback)

    def _emit(self, kind: str, data: dict[str, Any], **changes: Any) -> None:
        self.state = replace(self.state, **changes) if changes else self.state
        event = FakeEvent(len(self.events) + 1, T0, "tester", kind, data)
        self.events.append(event)
        for cb in list(self._subs):
            cb(event, self.state)

    def verdict(self) -> Any:
        return decide(self.plan, self.state.results, self.state.owners)

    def advance_preview(self) -> Preview:
        s = self.state
        nxt = min(s.stage_index + 1, len(s.stages) - 1)
        blockers = tuple(f"{b.id}: {b.reason}" for b in self.verdict().blocking)
        passed = sum(1 for r in s.results.values() if r.status.ok)
        return Preview(s.stages[s.stage_index].title, s.stages[nxt].title,
                       s.stages[s.stage_index].weight, s.stages[nxt].weight,
                       s.hold_elapsed(T0), s.stages[s.stage_index].hold_s,
                       passed, len(s.results), blockers, not blockers)

    async def run_checks(self, ids: Iterable[str] | None = None) -> None:
        self.intents.append(("run_checks", (None if ids is None else tuple(ids),)))
        self._emit("checks_started", {"ids": None if ids is None else list(ids)})

    async def advance(self) -> None:
        self.intents.append(("advance", ()))
        if not self.advance_preview().can_advance:
            raise EngineRefused("blocked")
        idx = self.state.stage_index + 1
        self._emit("stage_entered", {"stage": idx}, stage_index=idx,
                   weight_intended=self.state.stages[idx].weight,
                   weight_confirmed=self.state.stages[idx].weight, hold_started_at=T0)

    async def force_advance(self, reason: str) -> None:
        self.intents.append(("force_advance", (reason,)))
        idx = self.state.stage_index + 1
        self._emit("advance_confirmed", {"forced": True, "reason": reason}, stage_index=idx,
                   weight_intended=self.state.stages[idx].weight,
                   weight_confirmed=self.state.stages[idx].weight, hold_started_at=T0)

    async def pause(self) -> None:
        self.intents.append(("pause", ()))
        self._emit("paused", {}, phase=Phase.PAUSED, paused_at=T0)

    async def resume(self) -> None:
        self.intents.append(("resume", ()))
        self._emit("resumed", {}, phase=Phase.HOLDING, paused_at=None)

    async def rollback(self, reason: str) -> None:
        self.intents.append(("rollback", (reason,)))
        steps = tuple(RunbookStepState(s.id, s.title, "pending") for s in self.plan.runbook.steps)
        self._emit("rollback_started", {"reason": reason}, phase=Phase.ROLLING_BACK,
                   stop_reason=reason, runbook=steps)

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None:
        self.intents.append(("runbook_decision", (step_id, decision, reason)))

    async def set_owner(self, role: str, name: str) -> None:
        self.intents.append(("set_owner", (role, name)))
        self._emit("owner_set", {"role": role, "name": name},
                   owners={**self.state.owners, role: name})

    async def sign_off(self, check_id: str, note: str = "") -> None:
        self.intents.append(("sign_off", (check_id, note)))

    async def mark_reconciled(self, item_id: str) -> None:
        self.intents.append(("mark_reconciled", (item_id,)))
        self._emit("reconciled", {"item": item_id},
                   reconciliation={**self.state.reconciliation, item_id: True})

    async def tick(self) -> None:
        self.intents.append(("tick", ()))

    async def confirm_traffic(self, note: str = "") -> None:
        self.intents.append(("confirm_traffic", (note,)))
        self._emit("traffic_confirmed", {"weight": self.state.weight_intended}, phase=Phase.HOLDING,
                   weight_confirmed=self.state.weight_intended)


def panel_plan() -> Plan:
    return load_plan(ROOT / "tests" / "tui_panel.toml")


def demo_plan() -> Plan:
    """The plan the panel tests render: the sandbox config when it exists, else monorepo."""
    for name in ("sample-configs/monorepo.toml", "src/gonogo/data/sandbox.toml"):
        path = ROOT / name
        if path.exists():
            return load_plan(path)
    raise FileNotFoundError("no sample config with a rollout yet")


__all__ = ["FakeEngine", "recorded_state", "demo_plan", "T0", "Phase", "EngineRefused",
           "dataclasses", "field"]
