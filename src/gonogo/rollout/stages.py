"""The stage machine's plan side: effective stages, metrics and runbook, and what
blocks an advance. Pure: data and a clock in, data out.

The seed's plan (§2) is the default when a config lists no stages: staging (deploy,
smoke, manual smoke sign-off, soak) → canary 5 % (observe 30 min) → 25 % → 50 % →
100 % (hold 15 min each) → post-deploy verification → stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gonogo.config import CanaryMetric, Plan, RunbookStep, Stage
from gonogo.values import Duration

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.state import RolloutState
    from gonogo.verdict import Verdict

SEED_STAGES: tuple[Stage, ...] = (
    Stage(id="staging", title="Staging promotion: deploy, smoke, soak", weight=0,
          hold=Duration(1800.0), analysis=False),
    Stage(id="canary", title="Canary 5%: observe error rate, latency, auth, queue lag",
          weight=5, hold=Duration(1800.0)),
    Stage(id="ramp-25", title="Progressive ramp 25%", weight=25, hold=Duration(900.0)),
    Stage(id="ramp-50", title="Progressive ramp 50%", weight=50, hold=Duration(900.0)),
    Stage(id="full", title="Full production 100%", weight=100, hold=Duration(900.0)),
    Stage(id="verify", title="Post-deploy verification", weight=100, hold=Duration(0.0)),
)

SEED_RUNBOOK: tuple[RunbookStep, ...] = (
    RunbookStep(id="shift-traffic", title="Shift traffic to the previous stable release",
                action="shift_traffic"),
    RunbookStep(id="open-incident", title="Open an incident with timeline and metrics",
                action="incident"),
)


def plan_stages(plan: Plan) -> tuple[Stage, ...]:
    return plan.rollout.stages or SEED_STAGES


def plan_metrics(plan: Plan) -> tuple[CanaryMetric, ...]:
    """The plan's canary metrics; the seed's stop criteria when a source is configured
    but no metric is listed; none without any metrics source."""
    if plan.canary.metrics:
        return plan.canary.metrics
    c = plan.canary
    if c.source == "prometheus" and c.url is None and plan.integrations.prometheus is None:
        return ()
    from gonogo.rollout.analysis import seed_stop_criteria

    return seed_stop_criteria()


def plan_runbook(plan: Plan) -> tuple[RunbookStep, ...]:
    return plan.runbook.steps or SEED_RUNBOOK


@dataclass(frozen=True, slots=True)
class AdvancePreview:
    """What the next advance would do and what stands in its way."""

    from_stage: str | None  # None before the first stage
    to_stage: str | None  # None when the next step is "stable"
    weight_from: float
    weight_to: float
    hold_elapsed_s: float
    hold_required_s: float
    checks_passed: int
    checks_total: int
    blockers: tuple[str, ...]

    @property
    def can_advance(self) -> bool:
        return not self.blockers


def exit_check_ids(plan: Plan, stage: Stage) -> list[str]:
    return plan.expand(stage.exit_checks)


def preview(state: RolloutState, plan: Plan, now: float, verdict: Verdict) -> AdvancePreview:
    """The next advance and every reason it cannot happen now (empty: it can)."""
    from gonogo.rollout.state import Phase

    stages = plan_stages(plan)
    blockers: list[str] = []
    phase = state.phase
    at_start = phase in (Phase.IDLE, Phase.ROLLED_BACK)
    current = None if at_start else stages[state.stage_index]
    nxt_index = 0 if at_start else state.stage_index + 1
    nxt = stages[nxt_index] if nxt_index < len(stages) else None
    checks_passed = checks_total = 0
    if phase == Phase.STABLE:
        blockers.append("the release is already stable")
    elif phase == Phase.ROLLING_BACK:
        blockers.append("a rollback is in progress")
    elif phase == Phase.SHIFTING:
        blockers.append("a traffic shift is in progress")
    elif phase == Phase.PAUSED:
        blockers.append("paused" + (f": {state.stop_reason}" if state.stop_reason else ""))
    if phase == Phase.ROLLED_BACK:
        pending = [k for k, done in state.reconciliation.items() if not done]
        if pending:
            blockers.append("reconciliation not done: " + ", ".join(pending))
    if current is not None:
        remaining = state.hold_remaining(now)
        if remaining > 0:
            blockers.append(f"hold: {Duration(remaining)} of {current.hold} left")
        ids = exit_check_ids(plan, current)
        checks_total = len(ids)
        for cid in ids:
            r = state.results.get(cid)
            fresh = state.result_seq.get(cid, 0) > state.stage_seq
            if r is not None and r.status.ok and fresh:
                checks_passed += 1
            elif r is not None and not fresh:
                blockers.append(f"exit check {cid}: not run in this stage yet")
            else:
                blockers.append(f"exit check {cid}: " + (f"{r.status}" if r else "not run"))
        if current.signoff and current.signoff not in state.signoffs:
            blockers.append(f"sign-off needed: {current.signoff}")
        if current.analysis:
            for m in plan_metrics(plan):
                if m.id not in state.evaluations:
                    blockers.append(f"metric {m.id} inconclusive: no data yet")
            for ev in state.evaluations.values():
                if ev.state == "inconclusive":
                    blockers.append(f"metric {ev.metric_id} inconclusive: {ev.reason}")
                elif ev.state in ("breaching", "tripped") and ev.stop:
                    blockers.append(f"metric {ev.metric_id} {ev.state}: {ev.reason}")
    if not verdict.go:
        blockers.append("verdict NO-GO: " + "; ".join(b.id for b in verdict.blocking[:6]))
    return AdvancePreview(
        from_stage=current.id if current else None,
        to_stage=nxt.id if nxt else None,
        weight_from=state.weight_confirmed,
        weight_to=nxt.weight if nxt else state.weight_confirmed,
        hold_elapsed_s=state.hold_elapsed(now) if current else 0.0,
        hold_required_s=current.hold.seconds if current else 0.0,
        checks_passed=checks_passed,
        checks_total=checks_total,
        blockers=tuple(blockers),
    )
