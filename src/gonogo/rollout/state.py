"""Rollout state: a pure fold over journal events.

``fold(events, plan)`` rebuilds the state from nothing; ``apply(state, event, plan)``
advances it by one event (the engine keeps its state this way). Nothing here reads
a clock: time-dependent views (``hold_elapsed``) take ``now``. The events and their
fields are the classes of ``gonogo.rollout.events``; the phases and the moves between
them are ``gonogo.rollout.phases``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, assert_never, cast

from gonogo.config import CanaryMetric, Plan
from gonogo.context import SignOff
from gonogo.model import CheckResult
from gonogo.rollout.analysis import RuleEvaluation, Sample, evaluate, traffic_shortfall
from gonogo.rollout.events import (
    AdvanceConfirmed,
    ChainKeyed,
    CheckRecorded,
    CriterionTripped,
    GuardFailed,
    HoldCompleted,
    Note,
    NotifyFailed,
    OwnerSet,
    Paused,
    PauseRequested,
    ProposalDeclined,
    Reconciled,
    ReleaseStable,
    Resumed,
    RollbackFinished,
    RollbackProposed,
    RollbackStarted,
    RunbookDecision,
    RunbookStepFinished,
    RunbookStepStarted,
    Samples,
    SessionResumed,
    SessionStarted,
    SignedOff,
    StageEntered,
    Stalled,
    TrafficConfirmed,
    TrafficFailed,
    TrafficIntended,
    WeightDrifted,
    WeightVerified,
)
from gonogo.rollout.journal import Event
from gonogo.rollout.phases import Phase
from gonogo.rollout.stages import plan_metrics, plan_runbook, plan_stages

__all__ = [
    "Phase", "StageView", "RuleEvaluation", "RunbookStepState", "RolloutState", "fold", "apply",
    "initial_state",
]

MAX_SAMPLES = 240


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
    shift_failures: int = 0  # traffic shifts failed in a row (a confirmed shift resets it)
    target_index: int | None = None  # the stage an in-flight shift is heading to
    rollbacks: int = 0
    stopped_at: int | None = None  # the stage the last rollback took traffic back from
    rollback_trigger: str = ""  # what started the last rollback: operator, criterion, guard
    # Blind time: in a stage under canary analysis the hold accrues only while
    # conclusive data covers it (a frozen source must not let the hold run out).
    hold_needs_data: bool = False
    hold_blind_s: float = 0.0  # real seconds of this hold without conclusive data
    cover_mark: float | None = None  # the last sample (or entry/resume) the hold is judged from
    last_blind: bool = False  # the last sample lacked conclusive data for a stop criterion
    cover_gap_s: float = 2.0  # longest real gap between samples still counted as covered
    forced: tuple[str, ...] = ()  # reasons of force-advances, in order
    samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    result_seq: Mapping[str, int] = field(default_factory=dict)  # check id -> event seq
    stage_seq: int = 0  # seq of the current stage's stage_entered event
    trip_pending: bool = False  # a criterion tripped; no rollback started/proposed yet
    # The open rollback proposal: ("metric:<id>" | "check:<id>", the value it was made on).
    proposal: tuple[str, float | None] | None = None
    # Declined proposals: key -> (real time until which it is not proposed again, value
    # declined); a worse value proposes again at once.
    snoozed: Mapping[str, tuple[float, float | None]] = field(default_factory=dict)
    # Open requests from people who do not drive: (who, reason) of each pause request
    pause_requests: tuple[tuple[str, str], ...] = ()
    # Canary analysis that cannot judge: metric id -> why, for each stop criterion
    # inconclusive past max_inconclusive (a `stalled` event); gone once it is conclusive.
    stalled: Mapping[str, str] = field(default_factory=dict)
    # metric id -> (baseline, stage id): the last baseline measured with baseline traffic,
    # which ratio rules judge against where the baseline gets none (100 %).
    baselines: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    inconclusive_since: Mapping[str, float] = field(default_factory=dict)  # metric -> first poll
    last_hash: str = ""
    # The reality check found the router at another weight than the journal's: the
    # message ("weight drifted: journal 5 %, gateway 0 %"); None once verified again
    # or a rollback starts. While set, the rollout is held (paused in a stage).
    drift: str | None = None

    @property
    def stage(self) -> StageView | None:
        return self.stages[self.stage_index] if 0 <= self.stage_index < len(self.stages) else None

    def hold_elapsed(self, now: float) -> float:
        """Plan-time seconds of the current stage's hold (real time × speed), pauses and
        blind time (no conclusive data under canary analysis) excluded."""
        if self.hold_started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        real = max(0.0, end - self.hold_started_at - self.hold_paused_s - self.hold_blind(now))
        return self.hold_banked_s + real * self.speed

    def hold_blind(self, now: float) -> float:
        """Real seconds of the current hold not covered by conclusive data, up to ``now``."""
        if not self.hold_needs_data or self.hold_started_at is None:
            return 0.0
        blind = self.hold_blind_s
        if self.paused_at is None and self.cover_mark is not None:
            tail = max(0.0, now - self.cover_mark)
            blind += tail if self.last_blind else max(0.0, tail - self.cover_gap_s)
        return blind

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
    """The state after ``events``; the same as ``apply`` one event at a time, with a run
    of consecutive polls folded at once (``_apply_polls``): a long canary is mostly
    polls, and judging every rule after each one made a replay O(polls × window)."""
    state = initial_state(plan)
    polls: list[Event] = []
    for event in events:
        if isinstance(event.body, Samples):
            polls.append(event)
            continue
        if polls:
            state = _apply_polls(state, polls, plan)
            polls = []
        state = apply(state, event, plan)
    return _apply_polls(state, polls, plan) if polls else state


def apply(state: RolloutState, event: Event, plan: Plan) -> RolloutState:
    changes = _changes(state, event, plan)
    changes.update(events=state.events + 1, last_event_at=event.time, last_hash=event.hash)
    return dataclasses.replace(state, **changes)


def _changes(s: RolloutState, e: Event, plan: Plan) -> dict[str, Any]:
    """The fields ``e`` changes."""
    body = e.body
    match body:
        case SessionStarted():
            return {"driver": e.actor, "speed": body.speed}
        case SessionResumed():
            return _session_resumed(s, e, body, plan)
        case CheckRecorded():
            result = body.result.to_result()
            return {"results": {**s.results, result.check_id: result},
                    "result_seq": {**s.result_seq, result.check_id: e.seq}}
        case OwnerSet():
            return {"owners": {**s.owners, body.role: body.name}}
        case SignedOff():
            sign = SignOff(actor=e.actor, at=e.time, note=body.note, role=body.role,
                           automatic=body.automatic, rule=body.rule)
            return {"signoffs": {**s.signoffs, body.check_id: sign}}
        case AdvanceConfirmed():
            return _advance_confirmed(s, body, plan)
        case TrafficIntended():
            return {"weight_intended": body.weight}
        case TrafficConfirmed():
            return {"weight_confirmed": body.weight, "traffic_error": None, "shift_failures": 0}
        case TrafficFailed():
            return _traffic_failed(s, e, body)
        case StageEntered():
            stage = plan_stages(plan)[body.index] if body.index < len(plan_stages(plan)) else None
            return {
                "stalled": {},  # a new stage, a new hold: a stall is reported afresh
                "phase": Phase.HOLDING, "stage_index": body.index, "target_index": None,
                "stage_seq": e.seq, "hold_started_at": e.time, "hold_paused_s": 0.0,
                "hold_banked_s": 0.0, "paused_at": None,
                "hold_needs_data": bool(stage is not None and stage.analysis and plan_metrics(plan)),
                "hold_blind_s": 0.0, "cover_mark": e.time, "last_blind": False,
                "cover_gap_s": _cover_gap(plan, s.speed),
            }
        case HoldCompleted():
            if s.phase == Phase.HOLDING:
                return {"phase": Phase.READY}
            if s.phase == Phase.PAUSED:
                return {"resume_phase": Phase.READY}
            return {}
        case Paused():
            return _paused(s, e)
        case Resumed():
            return _resumed(s, e)
        case Samples():
            return _samples(s, e, body, plan)
        case CriterionTripped():
            return {"stop_reason": body.reason or body.metric, "trip_pending": True}
        case Stalled():
            return {"stalled": {**s.stalled, body.metric: body.reason}}
        case RollbackProposed():
            key = f"metric:{body.metric}" if body.metric else f"check:{body.check}"
            return {**_paused(s, e), "rollback_proposed": True, "stop_reason": body.reason,
                    "trip_pending": False, "proposal": (key, body.value)}
        case ProposalDeclined():
            key = f"metric:{body.metric}" if body.metric else f"check:{body.check}"
            until = e.time + body.snooze_s / max(s.speed, 1e-9)
            return {**_resumed(s, e), "proposal": None,
                    "snoozed": {**s.snoozed, key: (until, body.value)}}
        case GuardFailed():
            if body.action in ("rollback", "propose"):
                return {"stop_reason": f"guard {body.check} {body.status}: {body.summary}"}
            return {}
        case RollbackStarted():
            return {
                "stalled": {},
                "phase": Phase.ROLLING_BACK, "stop_reason": body.reason, "trip_pending": False,
                "stopped_at": s.stage_index if s.stage_index >= 0 else s.stopped_at,
                "rollback_trigger": body.trigger,
                "runbook": _fresh_runbook(plan), "rollbacks": s.rollbacks + 1, "paused_at": None,
                "resume_phase": None, "rollback_proposed": False, "target_index": None,
                "proposal": None, "snoozed": {}, "pause_requests": (), "drift": None,
                "reconciliation": {r.id: False for r in plan.runbook.reconciliation},
            }
        case RunbookStepStarted():
            attempts = next((st.attempts for st in s.runbook if st.id == body.step), 0)
            return {"runbook": _step(s, body.step, status="running", at=e.time, detail="",
                                     attempts=attempts + 1)}
        case RunbookStepFinished():
            return {"runbook": _step(s, body.step, status=body.status, at=e.time, detail=body.detail)}
        case RunbookDecision():
            if body.decision == "skip":
                return {"runbook": _step(s, body.step, status="skipped", at=e.time,
                                         detail=f"skipped by {e.actor}: {body.reason}")}
            return {"runbook": _step(s, body.step, status="pending", at=e.time,
                                     detail=f"retry by {e.actor}: {body.reason}")}
        case RollbackFinished():
            return {"phase": Phase.ROLLED_BACK, "stage_index": -1, "hold_started_at": None}
        case Reconciled():
            return {"reconciliation": {**s.reconciliation, body.item: True}}
        case ReleaseStable():
            return {"phase": Phase.STABLE, "target_index": None, "stalled": {}}
        case WeightDrifted():
            held = _paused(s, e) if s.phase in (Phase.HOLDING, Phase.READY) else {}
            return {**held, "drift": body.message, "stop_reason": body.message}
        case WeightVerified():
            return {"drift": None,
                    "stop_reason": None if s.stop_reason == s.drift else s.stop_reason}
        case ChainKeyed() | NotifyFailed() | Note():
            return {}
        case PauseRequested():
            return {"pause_requests": (*s.pause_requests, (e.actor, body.reason))}
        case _:
            assert_never(body)


def _cover_gap(plan: Plan, speed: float) -> float:
    """Real seconds between two samples that still count as covered: three polls, and
    never less than 2 s (a fast rehearsal polls more often than a poll can answer)."""
    return max(2.0, 3 * plan.canary.interval.seconds / max(speed, 1e-9))


def _session_resumed(s: RolloutState, e: Event, body: SessionResumed, plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {"driver": e.actor, "speed": body.speed,
                           "cover_gap_s": _cover_gap(plan, body.speed)}
    if body.speed != s.speed and s.hold_started_at is not None:
        # Bank the hold so far at the old speed; continue from here at the new one.
        out.update(hold_banked_s=s.hold_elapsed(e.time), hold_started_at=e.time, hold_paused_s=0.0,
                   hold_blind_s=0.0, cover_mark=e.time)
        if s.paused_at is not None:
            out["paused_at"] = e.time
    return out


def _advance_confirmed(s: RolloutState, body: AdvanceConfirmed, plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {"phase": Phase.SHIFTING, "target_index": body.to_index,
                           "traffic_error": None}
    if body.forced:
        out["forced"] = (*s.forced, body.reason)
    if s.phase == Phase.ROLLED_BACK:  # a re-rollout starts from a clean analysis
        out.update(samples={}, evaluations={}, stalled={}, baselines={}, inconclusive_since={},
                   stop_reason=None, stage_index=-1,
                   stopped_at=None, rollback_proposed=False, runbook=_fresh_runbook(plan))
    return out


def _traffic_failed(s: RolloutState, e: Event, body: TrafficFailed) -> dict[str, Any]:
    out: dict[str, Any] = {"traffic_error": body.error, "target_index": None,
                           "shift_failures": s.shift_failures + 1}
    if s.phase == Phase.SHIFTING:  # stay in the stage we were in; the operator may retry
        out["phase"] = Phase.IDLE if s.stage_index < 0 else Phase.HOLDING
        if s.stage_index >= 0 and s.hold_remaining(e.time) <= 0:
            out["phase"] = Phase.READY
    return out


def _paused(s: RolloutState, e: Event) -> dict[str, Any]:
    if s.phase == Phase.PAUSED:
        return {"pause_requests": ()}
    return {"phase": Phase.PAUSED, "paused_at": e.time, "resume_phase": s.phase,
            "pause_requests": ()}


def _resumed(s: RolloutState, e: Event) -> dict[str, Any]:
    if s.phase != Phase.PAUSED:
        return {}
    paused = (e.time - s.paused_at) if s.paused_at is not None else 0.0
    return {
        "phase": s.resume_phase or Phase.HOLDING, "paused_at": None, "resume_phase": None,
        "hold_paused_s": s.hold_paused_s + max(0.0, paused), "rollback_proposed": False,
        "stop_reason": None, "cover_mark": e.time,
    }


def _samples(s: RolloutState, e: Event, body: Samples, plan: Plan) -> dict[str, Any]:
    samples = dict(s.samples)
    evaluations = dict(s.evaluations)
    since = dict(s.inconclusive_since)
    baselines = dict(s.baselines)
    stage = s.stage
    short: list[str] = []  # stop criteria with too little canary traffic to judge
    for metric in plan_metrics(plan):
        canary, baseline = body.values.get(metric.id) or (None, None)
        sample = Sample(e.time, canary, baseline, body.errors.get(metric.id, ""),
                        requests=body.requests.get(metric.id),
                        baseline_from=body.carried.get(metric.id, ""))
        series = (*samples.get(metric.id, ()), sample)[-MAX_SAMPLES:]
        samples[metric.id] = series
        min_requests = plan.canary.min_requests_of(metric)
        ev = evaluate(metric, series, speed=s.speed, min_requests=min_requests)
        if ev.state == "inconclusive":
            first = since.setdefault(metric.id, e.time)
            ev = dataclasses.replace(ev, inconclusive_s=max(0.0, e.time - first) * s.speed)
        else:
            since.pop(metric.id, None)
        evaluations[metric.id] = ev
        if (metric.rule == "ratio_above" and stage is not None and not sample.baseline_from
                and baseline is not None and math.isfinite(baseline)):
            baselines[metric.id] = (baseline, stage.id)
        if metric.stop and traffic_shortfall(metric, sample, min_requests):
            short.append(metric.id)
    out: dict[str, Any] = {
        "samples": samples, "evaluations": evaluations, "inconclusive_since": since,
        "baselines": baselines,
        # a stall lasts while its metric is inconclusive; the reason is the current one
        "stalled": {m: evaluations[m].reason for m in s.stalled
                    if m in evaluations and evaluations[m].state == "inconclusive"},
    }
    if s.hold_needs_data and s.hold_started_at is not None:
        # Blind: the source failed for a stop criterion, answered for none of them (a
        # frozen or unreachable source), or the canary saw too few requests to judge one.
        # One metric without data is its own rule's "inconclusive", which blocks the
        # advance by itself.
        stops = [m.id for m in plan_metrics(plan) if m.stop]
        blind = any(i in body.errors for i in stops) or bool(short) or (
            bool(stops) and all((body.values.get(i) or (None, None))[0] is None for i in stops))
        if s.phase == Phase.HOLDING and s.cover_mark is not None:
            since_mark = max(0.0, e.time - s.cover_mark)
            # Blind on either side: the whole interval is uncovered (when the data went
            # away or came back inside it is unknown); else only a gap longer than a few polls.
            uncovered = since_mark if (blind or s.last_blind) else max(0.0, since_mark - s.cover_gap_s)
            out["hold_blind_s"] = s.hold_blind_s + uncovered
        out.update(cover_mark=e.time, last_blind=blind)
    return out


def _apply_polls(s: RolloutState, polls: list[Event], plan: Plan) -> RolloutState:
    """``apply`` of each poll in turn (``_samples``), without the work a later poll of
    the run undoes: each rule is judged on the run's last poll, and on earlier ones only
    while it is inconclusive there (when its inconclusive spell began is part of the
    state), never on every poll over its whole window. Held to ``apply`` by
    tests/unit/test_fold.py."""
    metrics = plan_metrics(plan)
    samples = dict(s.samples)
    evaluations = dict(s.evaluations)
    since = dict(s.inconclusive_since)
    baselines = dict(s.baselines)
    stage = s.stage
    bodies = [cast(Samples, e.body) for e in polls]
    judge_blind = s.hold_needs_data and s.hold_started_at is not None
    short = [False] * len(polls)  # a stop criterion with too little canary traffic, per poll
    always_inconclusive: set[str] = set()
    for metric in metrics:
        mid = metric.id
        min_requests = plan.canary.min_requests_of(metric)
        prior = samples.get(mid, ())
        built: dict[int, Sample] = {}  # poll index -> its sample, made when needed

        def sample_at(i: int, mid: str = mid, built: dict[int, Sample] = built) -> Sample:
            found = built.get(i)
            if found is None:
                body = bodies[i]
                canary, baseline = body.values.get(mid) or (None, None)
                found = built[i] = Sample(polls[i].time, canary, baseline, body.errors.get(mid, ""),
                                          requests=body.requests.get(mid),
                                          baseline_from=body.carried.get(mid, ""))
            return found

        if metric.rule == "ratio_above" and stage is not None:  # the last one measured wins
            for i in range(len(polls) - 1, -1, -1):
                body = bodies[i]
                baseline = (body.values.get(mid) or (None, None))[1]
                if not body.carried.get(mid, "") and baseline is not None and math.isfinite(baseline):
                    baselines[mid] = (baseline, stage.id)
                    break
        if judge_blind and metric.stop and min_requests > 0:
            for i, body in enumerate(bodies):  # traffic_shortfall, without making the sample
                if short[i]:
                    continue
                canary = (body.values.get(mid) or (None, None))[0]
                if metric.rule == "nonzero" and canary is not None and canary > metric.threshold:
                    continue
                requests = body.requests.get(mid)
                if requests is None or requests < min_requests:
                    short[i] = True

        def series_after(k: int, prior: tuple[Sample, ...] = prior,
                         sample_at: Any = sample_at) -> tuple[Sample, ...]:
            # the series as it stood after poll k: the last MAX_SAMPLES of prior + polls[:k+1]
            first = max(0, k + 1 - MAX_SAMPLES)
            series = (*prior[max(0, len(prior) - (MAX_SAMPLES - (k + 1 - first))):],
                      *(sample_at(i) for i in range(first, k + 1)))
            return series[-MAX_SAMPLES:]

        def judged(k: int, metric: CanaryMetric = metric, min_requests: int = min_requests,
                   series_after: Any = series_after) -> RuleEvaluation:
            return evaluate(metric, series_after(k), speed=s.speed, min_requests=min_requests)

        last = len(polls) - 1
        tail = series_after(last)  # the state's series after the run
        ev = evaluate(metric, tail, speed=s.speed, min_requests=min_requests)
        if ev.state == "inconclusive":
            first = last  # back to where this inconclusive spell began
            while first > 0 and judged(first - 1).state == "inconclusive":
                first -= 1
            began = since.get(mid, polls[0].time) if first == 0 else polls[first].time
            since[mid] = began
            ev = dataclasses.replace(ev, inconclusive_s=max(0.0, polls[-1].time - began) * s.speed)
            if first == 0:
                always_inconclusive.add(mid)
        else:
            since.pop(mid, None)
        evaluations[mid] = ev
        samples[mid] = tail
    out: dict[str, Any] = {
        "samples": samples, "evaluations": evaluations, "inconclusive_since": since,
        "baselines": baselines,
        # a stall lasts while its metric is inconclusive at every poll
        "stalled": {m: evaluations[m].reason for m in s.stalled
                    if m in evaluations and m in always_inconclusive},
    }
    if judge_blind:
        stops = [m.id for m in metrics if m.stop]
        holding = s.phase == Phase.HOLDING
        blind_s, mark, last_blind = s.hold_blind_s, s.cover_mark, s.last_blind
        for i, (e, body) in enumerate(zip(polls, bodies, strict=True)):  # as _samples, poll by poll
            errors, values = body.errors, body.values
            if short[i] or (errors and any(m in errors for m in stops)):
                blind = True
            else:  # blind when the source answered for none of the stop criteria
                blind = bool(stops)
                for m in stops:
                    pair = values.get(m)
                    if pair is not None and pair[0] is not None:
                        blind = False
                        break
            if holding and mark is not None:
                since_mark = max(0.0, e.time - mark)
                uncovered = since_mark if (blind or last_blind) else max(0.0, since_mark - s.cover_gap_s)
                blind_s += uncovered
                out["hold_blind_s"] = blind_s
            mark, last_blind = e.time, blind
        out.update(cover_mark=mark, last_blind=last_blind)
    last_poll = polls[-1]
    out.update(events=s.events + len(polls), last_event_at=last_poll.time, last_hash=last_poll.hash)
    return dataclasses.replace(s, **out)


def _step(s: RolloutState, step_id: str, **changes: Any) -> tuple[RunbookStepState, ...]:
    return tuple(dataclasses.replace(st, **changes) if st.id == step_id else st for st in s.runbook)
