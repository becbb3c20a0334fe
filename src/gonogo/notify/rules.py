"""From journal events to notifications: one table, ``RULES``.

Each journal event kind that people away from the terminal need to hear about has one
entry: the notification event it becomes (one of ``config.NOTIFY_EVENTS``), its severity,
whether it is a *condition* that lasts until a later event ends it (a tripped criterion
lasts until the rollback has finished) or a moment, and which earlier conditions it
ends. Most entries need nothing else: the notification's summary is the event's own
one-line description and its details are the event's fields. An entry whose message
needs the state or the plan (the incident path, who has to sign off) names a builder.

Adding a kind is one entry, e.g. ``GuardFailed: Rule("guard_failed", "critical",
"Guard failed", lasting=True, key=("guard",))`` plus its name in
``config.NotifyEvent``.

Pure: an event, the state after it and the plan in; notifications and ends out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonogo.config import Plan, Severity
from gonogo.rollout.events import (
    AdvanceConfirmed,
    BaseBody,
    CheckRecorded,
    CriterionTripped,
    GuardFailed,
    HoldCompleted,
    ProposalDeclined,
    ReleaseStable,
    Resumed,
    RollbackFinished,
    RollbackProposed,
    RollbackStarted,
    SignedOff,
    StageEntered,
    WeightDrifted,
    WeightVerified,
    encode,
)
from gonogo.rollout.incident import incident_files
from gonogo.rollout.journal import Event
from gonogo.rollout.stages import plan_metrics, plan_runbook, plan_stages
from gonogo.rollout.state import RolloutState, StageView
from gonogo.values import format_duration

__all__ = ["Notification", "End", "Rule", "Where", "RULES", "ALL", "RANK", "effects", "notification"]

RANK: Mapping[str, int] = {"info": 0, "warning": 1, "critical": 2}
ALL = "*"  # ``End(ALL)``: every active condition ends
# Fields too bulky (or too internal) for a message: the series is in the incident.
_LEFT_OUT = frozenset({"series", "snapshot"})


@dataclass(frozen=True, slots=True)
class Notification:
    """What a target is told: values from the journal and the plan, never a secret."""

    event: str  # config.NOTIFY_EVENTS, or "notify_test"
    severity: Severity
    title: str
    summary: str
    release: str
    environment: str = ""
    commit: str = ""
    stage: str = ""
    weight: float | None = None
    at: float = 0.0
    seq: int = 0
    actor: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    key: tuple[tuple[str, str], ...] = ()  # what tells two conditions of one event apart
    lasting: bool = False

    @property
    def identity(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return self.event, self.stage, self.key


@dataclass(frozen=True, slots=True)
class End:
    """Active conditions of ``event`` (``ALL``: of every event) end now; ``match``
    narrows it to those whose key has these items."""

    event: str
    match: tuple[tuple[str, str], ...] = ()

    def ends(self, n: Notification) -> bool:
        return (self.event in (ALL, n.event)) and all(item in n.key for item in self.match)


Effect = Notification | End
Builder = Callable[["Rule", Event, RolloutState, "Where"], Iterable[Effect]]


@dataclass(frozen=True, slots=True)
class Where:
    """The session the events come from: its plan and directory (incidents live there)."""

    plan: Plan
    session_dir: Path


@dataclass(frozen=True, slots=True)
class Rule:
    event: str | None  # the notification it becomes; None: it only ends others
    severity: Severity = "info"
    title: str = ""
    lasting: bool = False
    ends: tuple[str, ...] = ()  # conditions this event ends (before its own notification)
    key: tuple[str, ...] = ()  # body fields telling two conditions apart (metric, check)
    build: Builder | None = None  # default: one notification from the body


def effects(event: Event, state: RolloutState, where: Where) -> list[Effect]:
    """What ``event`` (already folded into ``state``) means for the people notified."""
    rule = RULES.get(type(event.body))
    if rule is None:
        return []
    out: list[Effect] = [End(e) for e in rule.ends]
    if rule.build is not None:
        out.extend(rule.build(rule, event, state, where))
    elif rule.event is not None:
        out.append(notification(rule, event, state, where.plan))
    return out


def _stage(state: RolloutState) -> StageView | None:
    """The stage an event is about: the current one, or the one a rollback left."""
    if state.stage is not None:
        return state.stage
    if state.stopped_at is not None and 0 <= state.stopped_at < len(state.stages):
        return state.stages[state.stopped_at]
    return None


def notification(rule: Rule, event: Event, state: RolloutState, plan: Plan, *,
                 summary: str | None = None, details: Mapping[str, Any] | None = None,
                 key: Mapping[str, str] | None = None, event_name: str | None = None,
                 title: str | None = None, severity: Severity | None = None,
                 lasting: bool | None = None) -> Notification:
    """The notification ``rule`` makes of ``event``; the keywords override its defaults."""
    body: BaseBody = event.body
    data = {k: v for k, v in encode(body).items() if k not in _LEFT_OUT}
    if key is None:
        key = {k: str(data.get(k, "")) for k in rule.key}
    stage = _stage(state)
    return Notification(
        event=event_name or rule.event or "",
        severity=severity or rule.severity,
        title=title or rule.title,
        summary=body.describe() if summary is None else summary,
        release=plan.release.name,
        environment=plan.release.environment,
        commit=plan.release.commit,
        stage=stage.id if stage is not None else "",
        weight=state.weight_confirmed,
        at=event.time,
        seq=event.seq,
        actor=event.actor,
        details=data if details is None else details,
        key=tuple(sorted(key.items())),
        lasting=rule.lasting if lasting is None else lasting,
    )


def _num(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.4g}{unit}"


# Builders: events whose message needs the state or the plan ------------------------
def _stage_entered(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, StageEntered)
    stage = plan_stages(plan)[body.index] if body.index < len(plan_stages(plan)) else None
    hold = stage.hold.seconds if stage is not None else 0.0
    yield notification(rule, event, state, plan, summary=(
        f"{plan.release.name} entered stage {body.stage} ({body.weight:g}% of traffic)"
        + (f", hold {format_duration(hold)}" if hold else "")), details={
        "stage": body.stage, "index": body.index, "weight": body.weight, "hold_s": hold,
        "title": stage.title if stage is not None else "",
        "analysis": bool(stage is not None and stage.analysis and plan_metrics(plan)),
    })


def _hold_completed(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, HoldCompleted)
    stages = plan_stages(plan)
    index = next((i for i, s in enumerate(stages) if s.id == body.stage), -1)
    nxt = stages[index + 1] if 0 <= index < len(stages) - 1 else None
    then = f"{nxt.id} ({nxt.weight:g}%)" if nxt is not None else "stable"
    yield notification(rule, event, state, plan, summary=(
        f"stage {body.stage} held {format_duration(body.hold_s)}; next: {then}"), details={
        "stage": body.stage, "hold_s": body.hold_s, "next_stage": nxt.id if nxt else "stable",
    })
    stage = stages[index] if index >= 0 else None
    if stage is not None and stage.signoff and stage.signoff not in state.signoffs:
        yield _signoff(event, state, plan, stage.signoff, f"to advance from stage {stage.id}")


def _signoff(event: Event, state: RolloutState, plan: Plan, check_id: str, why: str) -> Notification:
    """A sign-off someone has to give: the check, the role and the person it names."""
    title, who, instructions = check_id, "", ""
    try:
        spec = plan.check(check_id)
        title = spec.title
        who = str(getattr(spec.params, "who", "") or "")
        instructions = str(getattr(spec.params, "instructions", "") or "")
    except KeyError:
        pass
    role = who if who in plan.owners else ""
    person = plan.owners.get(who, "") if role else who
    named = " ".join(p for p in (role, person) if p) or "an operator"
    return notification(SIGNOFF_RULE, event, state, plan, summary=(
        f"sign-off {check_id} ({title}) needed from {named} {why}"), details={
        "check": check_id, "title": title, "role": role, "person": person,
        "instructions": instructions, "why": why,
    }, key={"check": check_id})


def _check_recorded(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, CheckRecorded)
    r = body.result
    if r.kind != "manual":
        return
    if r.status.ok:
        yield End("signoff_requested", (("check", r.id),))
    elif r.status == "pending" and r.required and _in_checklist(plan, r.id):
        yield _signoff(event, state, plan, r.id, "before the release can go (the checklist is NO-GO)")


def _in_checklist(plan: Plan, check_id: str) -> bool:
    return any(c.id == check_id for _, c in plan.checklist())


def _signed_off(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    body = event.body
    assert isinstance(body, SignedOff)
    yield End("signoff_requested", (("check", body.check_id),))


def _criterion_tripped(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, CriterionTripped)
    metric = next((m for m in plan_metrics(plan) if m.id == body.metric), None)
    unit = metric.unit if metric is not None else ""
    yield notification(rule, event, state, plan, summary=(
        f"{body.metric} ({body.title or body.rule}): canary {_num(body.canary, unit)} vs "
        f"baseline {_num(body.baseline, unit)}, threshold {_num(body.threshold, unit)}, in breach "
        f"for {format_duration(body.breach_s)} (trips after {format_duration(body.required_s)})"),
        details={
            "metric": body.metric, "title": body.title, "rule": body.rule, "state": body.state,
            "canary": body.canary, "baseline": body.baseline, "threshold": body.threshold,
            "unit": unit, "breach_s": body.breach_s, "required_s": body.required_s,
            "reason": body.reason, "on_stop": plan.rollout.on_stop,
        })


def _rollback_started(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, RollbackStarted)
    stage = _stage(state)
    origin = f"from stage {stage.id} ({_num(body.weight)}%) " if stage is not None else ""
    target = plan.release.previous or "the previous stable release"
    yield notification(rule, event, state, plan, summary=(
        f"rolling back {plan.release.name} {origin}to {target} ({body.trigger}): {body.reason}"),
        details={"reason": body.reason, "trigger": body.trigger, "weight": body.weight,
                 "previous": plan.release.previous,
                 "steps": [s.id for s in plan_runbook(plan)]})


def _rollback_finished(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    body = event.body
    assert isinstance(body, RollbackFinished)
    steps = {s.id: s for s in plan_runbook(plan)}
    incident: dict[str, str] | None = None
    for st in state.runbook:
        step = steps.get(st.id)
        if step is not None and step.action == "incident" and st.status == "done":
            md, js = incident_files(where.session_dir / step.out_dir, plan.release.name)
            incident = {"markdown": str(md), "json": str(js)}
    skipped = [st.id for st in state.runbook if st.status == "skipped"]
    summary = (f"{plan.release.name} rolled back: canary traffic at {_num(body.weight)}%"
               + (f"; incident {incident['markdown']}" if incident else "")
               + (f"; steps skipped: {', '.join(skipped)}" if skipped else ""))
    pending = [r for r, done in state.reconciliation.items() if not done]
    yield notification(rule, event, state, plan, summary=summary, details={
        "weight": body.weight, "reason": state.stop_reason or "", "incident": incident,
        "runbook": [{"step": st.id, "status": st.status} for st in state.runbook],
        "reconciliation": pending, "previous": plan.release.previous,
    })


def _release_stable(rule: Rule, event: Event, state: RolloutState, where: Where) -> Iterable[Effect]:
    plan = where.plan
    stages = plan_stages(plan)
    yield notification(rule, event, state, plan, summary=(
        f"{plan.release.name} is stable at {state.weight_confirmed:g}% after "
        f"{len(stages)} stage{'s' if len(stages) != 1 else ''}"),
        details={"stages": [s.id for s in stages], "forced": list(state.forced)})


SIGNOFF_RULE = Rule("signoff_requested", "warning", "Sign-off requested", lasting=True)

# The one table. ``ends`` lists conditions the event closes before its own notification.
RULES: Mapping[type[BaseBody], Rule] = {
    StageEntered: Rule("stage_entered", "info", "Stage entered", lasting=True,
                       ends=("stage_entered", "hold_completed"), build=_stage_entered),
    HoldCompleted: Rule("hold_completed", "info", "Hold completed", lasting=True,
                        build=_hold_completed),
    AdvanceConfirmed: Rule(None, ends=("hold_completed",)),
    CheckRecorded: Rule(None, build=_check_recorded),
    SignedOff: Rule(None, build=_signed_off),
    CriterionTripped: Rule("criterion_tripped", "critical", "Stop criterion tripped",
                           lasting=True, key=("metric",), build=_criterion_tripped),
    RollbackProposed: Rule("rollback_proposed", "critical", "Rollback proposed", lasting=True),
    Resumed: Rule(None, ends=("rollback_proposed",)),
    ProposalDeclined: Rule(None, ends=("rollback_proposed",)),  # the driver declined it
    GuardFailed: Rule("guard_failed", "critical", "Guard failed", lasting=True, key=("check",)),
    RollbackStarted: Rule("rollback_started", "critical", "Rollback started", lasting=True,
                          ends=("stage_entered", "hold_completed", "rollback_proposed",
                                "signoff_requested"), build=_rollback_started),
    RollbackFinished: Rule("rollback_finished", "warning", "Rollback finished", ends=(ALL,),
                           build=_rollback_finished),
    ReleaseStable: Rule("release_stable", "info", "Release stable", ends=(ALL,),
                        build=_release_stable),
    # the reality check: the router is not at the journal's weight; the rollout is held
    WeightDrifted: Rule("weight_drifted", "critical", "Weight drifted", lasting=True),
    WeightVerified: Rule(None, ends=("weight_drifted",)),
}
