"""The phase machine in one place: the phases, the moves between them, what each
allows, and what stands in the way of the next advance.

``state.apply`` makes the moves (``TRANSITIONS`` lists every one it can make), the
engine refuses intents with the guards here, and the panel and the headless driver
ask the same questions (``is_active``, ``can_pause``...), so that a rule changes once.
Pure: data and a clock in, data out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from gonogo.config import TBD, Plan
from gonogo.context import SignOff
from gonogo.model import CheckResult
from gonogo.rollout.analysis import RuleEvaluation
from gonogo.rollout.stages import exit_check_ids, manual_role, plan_metrics, plan_stages
from gonogo.values import Duration
from gonogo.verdict import Verdict

__all__ = [
    "Phase", "TRANSITIONS", "ACTIVE_PHASES", "IN_STAGE_PHASES", "START_PHASES", "PAUSABLE_PHASES",
    "is_active", "in_stage", "starts_over", "can_pause", "advance_refusal", "force_advance_refusal",
    "rollback_refusal", "AdvancePreview", "SignoffNeeded", "StageProgress", "preview",
]


class Phase(enum.StrEnum):
    IDLE = "idle"  # session open, no stage entered yet
    SHIFTING = "shifting"  # a traffic shift is under way (intended, not yet confirmed)
    HOLDING = "holding"  # in a stage, hold timer running
    PAUSED = "paused"  # hold timer stopped (operator, or a proposed rollback)
    READY = "ready"  # hold completed; the advance may still be blocked
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    STABLE = "stable"


P = Phase

# Every move the fold makes. An advance always passes through SHIFTING, even the one
# to stable; a pause returns to the phase it interrupted.
TRANSITIONS: Mapping[Phase, frozenset[Phase]] = {
    P.IDLE: frozenset({P.SHIFTING}),
    # confirmed (stage entered, or stable); failed (back where it was); rolled back
    P.SHIFTING: frozenset({P.HOLDING, P.STABLE, P.IDLE, P.READY, P.ROLLING_BACK}),
    P.HOLDING: frozenset({P.READY, P.PAUSED, P.SHIFTING, P.ROLLING_BACK}),
    P.READY: frozenset({P.PAUSED, P.SHIFTING, P.ROLLING_BACK}),
    P.PAUSED: frozenset({P.HOLDING, P.READY, P.SHIFTING, P.ROLLING_BACK}),  # resume; force
    P.ROLLING_BACK: frozenset({P.ROLLED_BACK}),
    P.ROLLED_BACK: frozenset({P.SHIFTING}),  # a re-rollout, once reconciled
    P.STABLE: frozenset({P.ROLLING_BACK}),  # rolling back a release marked stable
}

# The rollout is under way: traffic is moving or a canary is live (quitting asks first).
ACTIVE_PHASES = frozenset({P.SHIFTING, P.HOLDING, P.PAUSED, P.READY, P.ROLLING_BACK})
# In a stage with its traffic confirmed: the canary is analysed, a criterion can stop it.
IN_STAGE_PHASES = frozenset({P.HOLDING, P.READY, P.PAUSED})
# The next advance starts from the first stage.
START_PHASES = frozenset({P.IDLE, P.ROLLED_BACK})
PAUSABLE_PHASES = frozenset({P.HOLDING, P.READY})


def is_active(phase: Phase) -> bool:
    return phase in ACTIVE_PHASES


def in_stage(phase: Phase) -> bool:
    return phase in IN_STAGE_PHASES


def starts_over(phase: Phase) -> bool:
    return phase in START_PHASES


def can_pause(phase: Phase) -> bool:
    return phase in PAUSABLE_PHASES


def advance_refusal(phase: Phase, stop_reason: str | None = None) -> str | None:
    """Why the phase alone rules out an advance (``None``: it does not)."""
    if phase == P.STABLE:
        return "the release is already stable"
    if phase == P.ROLLING_BACK:
        return "a rollback is in progress"
    if phase == P.SHIFTING:
        return "a traffic shift is in progress"
    if phase == P.PAUSED:
        return "paused" + (f": {stop_reason}" if stop_reason else "")
    return None


def force_advance_refusal(phase: Phase) -> str | None:
    """A force-advance overrides holds, checks and pauses, never a move under way."""
    if phase in (P.STABLE, P.ROLLING_BACK, P.SHIFTING):
        return f"cannot force-advance while {phase}"
    return None


def rollback_refusal(phase: Phase) -> str | None:
    if phase in (P.ROLLING_BACK, P.ROLLED_BACK):
        return f"already {phase}"
    if phase == P.IDLE:
        return "nothing to roll back: no stage entered yet"
    return None


# The advance preview ----------------------------------------------------------------
class StageProgress(Protocol):
    """What an advance depends on (``RolloutState`` is one)."""

    @property
    def phase(self) -> Phase: ...
    @property
    def stage_index(self) -> int: ...
    @property
    def stop_reason(self) -> str | None: ...
    @property
    def reconciliation(self) -> Mapping[str, bool]: ...
    @property
    def results(self) -> Mapping[str, CheckResult]: ...
    @property
    def result_seq(self) -> Mapping[str, int]: ...
    @property
    def stage_seq(self) -> int: ...
    @property
    def signoffs(self) -> Mapping[str, SignOff]: ...
    @property
    def owners(self) -> Mapping[str, str]: ...
    @property
    def evaluations(self) -> Mapping[str, RuleEvaluation]: ...
    @property
    def weight_confirmed(self) -> float: ...
    def hold_elapsed(self, now: float) -> float: ...
    def hold_remaining(self, now: float) -> float: ...
    def hold_blind(self, now: float) -> float: ...


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
    signoffs: tuple[SignoffNeeded, ...] = ()  # the sign-offs among the blockers

    @property
    def can_advance(self) -> bool:
        return not self.blockers


@dataclass(frozen=True, slots=True)
class SignoffNeeded:
    """A sign-off the advance waits for, and who must give it."""

    check_id: str
    role: str  # the owner role that signs ("" when any operator may)
    owner: str  # that role's owner, "" when none is named

    @property
    def who(self) -> str:
        if not self.role:
            return "an operator"
        return f"{self.role} ({self.owner})" if self.owner else f"{self.role} (no owner named yet)"

    def blocker(self) -> str:
        return f"sign-off needed: {self.check_id} by {self.who}"


def preview(state: StageProgress, plan: Plan, now: float, verdict: Verdict) -> AdvancePreview:
    """The next advance and every reason it cannot happen now (empty: it can)."""
    stages = plan_stages(plan)
    blockers: list[str] = []
    phase = state.phase
    at_start = starts_over(phase)
    current = None if at_start else stages[state.stage_index]
    nxt_index = 0 if at_start else state.stage_index + 1
    nxt = stages[nxt_index] if nxt_index < len(stages) else None
    checks_passed = checks_total = 0
    signoffs: list[SignoffNeeded] = []
    refusal = advance_refusal(phase, state.stop_reason)
    if refusal is not None:
        blockers.append(refusal)
    if phase == P.ROLLED_BACK:
        pending = [k for k, done in state.reconciliation.items() if not done]
        if pending:
            blockers.append("reconciliation not done: " + ", ".join(pending))
    if current is not None:
        remaining = state.hold_remaining(now)
        if remaining > 0:
            blind = state.hold_blind(now)
            why = (f" (the hold waits while there is no conclusive canary data: {Duration(blind)} "
                   "so far)") if blind >= 1.0 else ""
            blockers.append(f"hold: {Duration(remaining)} of {current.hold} left{why}")
        ids = exit_check_ids(plan, current)
        checks_total = len(ids)
        for cid in ids:
            r = state.results.get(cid)
            fresh = state.result_seq.get(cid, 0) > state.stage_seq
            if r is not None and r.lets_go and fresh:
                checks_passed += 1
            elif _is_manual(plan, cid) and cid not in state.signoffs:
                signoffs.append(_needed(plan, state, cid))
            elif r is not None and not fresh:
                blockers.append(f"exit check {cid}: not run in this stage yet")
            else:
                blockers.append(f"exit check {cid}: " + (f"{r.status}" if r else "not run"))
        if (current.signoff and current.signoff not in state.signoffs
                and all(n.check_id != current.signoff for n in signoffs)):
            signoffs.append(_needed(plan, state, current.signoff))
        blockers.extend(n.blocker() for n in signoffs)
        if current.analysis:  # dry-run metrics (stop = false) are shown, never waited for
            for m in plan_metrics(plan):
                if m.stop and m.id not in state.evaluations:
                    blockers.append(f"metric {m.id} inconclusive: no data yet")
            for ev in state.evaluations.values():
                if not ev.stop:
                    continue
                if ev.state == "inconclusive":
                    blockers.append(f"metric {ev.metric_id} inconclusive: {ev.reason}")
                elif ev.state in ("breaching", "tripped"):
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
        signoffs=tuple(signoffs),
    )


def _is_manual(plan: Plan, check_id: str) -> bool:
    try:
        return plan.check(check_id).kind == "manual"
    except KeyError:
        return False


def _needed(plan: Plan, state: StageProgress, check_id: str) -> SignoffNeeded:
    role = manual_role(plan, check_id)
    owner = state.owners.get(role, "") if role else ""
    return SignoffNeeded(check_id, role, "" if owner.strip().upper() == TBD else owner)
