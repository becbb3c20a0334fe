"""The journal's vocabulary: one frozen ``msgspec.Struct`` per event kind.

Each class is tagged with the kind string the journal records (``"stage_entered"``),
and its fields are the event's ``data``. A journal line stays what it always was,
``{seq, time, actor, kind, data, prev, hash}``: ``encode`` turns a body into that
``data`` (the tag lives in ``kind``, never inside ``data``) and ``decode`` turns a
recorded ``kind`` and ``data`` back into the body, once, when the line is read.

A field added after journals were written needs a default, so that older journals
still decode. A kind nobody knows, or data of the wrong shape, is a ``BodyError``.

Each class also says how it reads in a log (``describe``) and which of its fields are
free text that may carry a secret (``free_text``); every other field is a value or an
identifier from the plan and is recorded as it is (a secret that happens to be a
common word must not rename a check).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar, cast, get_args

import msgspec

from gonogo.model import CheckResult, Status
from gonogo.rollout.analysis import RuleEvaluation
from gonogo.values import Duration

__all__ = [
    "BaseBody", "EventBody", "BodyError", "KINDS", "kind_of", "encode", "decode", "redact", "plain",
    "CheckResultRecord", "EvaluationRecord",
    "SessionStarted", "SessionResumed", "CheckRecorded", "OwnerSet", "SignedOff",
    "AdvanceConfirmed", "TrafficIntended", "TrafficConfirmed", "TrafficFailed", "StageEntered",
    "HoldCompleted", "Paused", "Resumed", "Samples", "CriterionTripped", "Stalled",
    "RollbackProposed",
    "ProposalDeclined", "GuardFailed", "RollbackStarted", "RunbookStepStarted",
    "RunbookStepFinished", "RunbookDecision",
    "RollbackFinished", "Reconciled", "ReleaseStable", "ChainKeyed", "NotifyFailed", "Note",
    "PauseRequested", "WeightDrifted", "WeightVerified",
]

SUMMARY_LIMIT = 200
LONG_SUMMARY_LIMIT = 240
Pair: TypeAlias = tuple[float | None, float | None]
Point: TypeAlias = tuple[float, float | None, float | None]
S = TypeVar("S", bound=msgspec.Struct)


class BodyError(ValueError):
    """A recorded kind or data that does not decode into an event body."""


def _pct(v: float | None) -> str:
    return "?" if v is None else f"{v:g}%"


def _dur(seconds: float) -> str:
    return str(Duration(seconds))


class BaseBody(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """What every event body has: a one-line description and its free-text fields.
    ``omit_empty`` names fields added later that are left out of ``data`` while empty,
    so that an event which does not use them records exactly what it always did."""

    free_text: ClassVar[frozenset[str]] = frozenset()
    omit_empty: ClassVar[frozenset[str]] = frozenset()

    def describe(self) -> str:
        raise NotImplementedError  # every kind below says how it reads


# Nested records ---------------------------------------------------------------------
class CheckResultRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A check result as the journal records it (``CheckResult.to_dict()``); the runner
    has already redacted it."""

    omit_empty: ClassVar[frozenset[str]] = frozenset({"skip_if"})

    id: str
    status: Status
    gate: str = ""
    title: str = ""
    kind: str = ""
    summary: str = ""
    details: tuple[str, ...] = ()
    evidence: dict[str, Any] = {}
    required: bool = True
    duration_ms: float = 0.0
    attempts: int = 0
    finished_at: float = 0.0
    skip_if: str = ""  # the skip_if reference that skipped it ("" when it ran)

    @classmethod
    def of(cls, result: CheckResult) -> CheckResultRecord:
        return msgspec.convert(plain(result.to_dict()), cls)

    def to_result(self) -> CheckResult:
        return CheckResult(
            check_id=self.id, gate_id=self.gate, kind=self.kind, title=self.title or self.id,
            required=self.required, status=self.status, summary=self.summary,
            details=self.details, evidence=dict(self.evidence), duration_ms=self.duration_ms,
            attempts=self.attempts, finished_at=self.finished_at,
            skip_if=self.skip_if,
        )


class EvaluationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One metric's judgement at rollback time (``RuleEvaluation.to_dict()``)."""

    free_text: ClassVar[frozenset[str]] = frozenset({"title", "reason", "unit"})
    omit_empty: ClassVar[frozenset[str]] = frozenset({"baseline_from", "requests"})

    metric: str
    title: str = ""
    rule: str = ""
    state: str = ""
    canary: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    breach_s: float = 0.0
    required_s: float = 0.0
    reason: str = ""
    unit: str = ""
    baseline_from: str = ""
    requests: float | None = None
    series: tuple[Point, ...] = ()

    @classmethod
    def of(cls, evaluation: RuleEvaluation) -> EvaluationRecord:
        return msgspec.convert(plain(evaluation.to_dict()), cls)


# Session ---------------------------------------------------------------------------
class SessionStarted(BaseBody, tag="session_started", frozen=True, kw_only=True):
    free_text = frozenset({"config"})

    release: str
    commit: str = ""
    config: str = ""
    environment: str = ""
    speed: float = 1.0
    stages: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"session started for {self.release} ({self.commit}), speed x{self.speed:g}"


class SessionResumed(BaseBody, tag="session_resumed", frozen=True, kw_only=True):
    """A driver opened the session again; ``took_over_from``: the one who drove it
    before, when that was someone else (the event's actor is the new driver)."""

    speed: float = 1.0
    took_over_from: str = ""

    def describe(self) -> str:
        taken = f", taking over from {self.took_over_from}" if self.took_over_from else ""
        return f"session resumed, speed x{self.speed:g}{taken}"


# Checklist -------------------------------------------------------------------------
class CheckRecorded(BaseBody, tag="check_result", frozen=True, kw_only=True):
    result: CheckResultRecord

    def describe(self) -> str:
        r = self.result
        return f"check {r.id}: {r.status} - {r.summary}"[:SUMMARY_LIMIT]


class OwnerSet(BaseBody, tag="owner_set", frozen=True, kw_only=True):
    free_text = frozenset({"name"})

    role: str
    name: str

    def describe(self) -> str:
        return f"owner {self.role} = {self.name}"


class SignedOff(BaseBody, tag="signed_off", frozen=True, kw_only=True):
    """A sign-off: the event's actor is the person who signed (not the driver who
    journaled it), ``role`` the owner role they signed for (the check's ``who``). An
    automatic one (``--auto-signoff`` in a rehearsal) names the rule, never a person."""

    free_text = frozenset({"note"})

    check_id: str
    note: str = ""
    role: str = ""
    automatic: bool = False
    rule: str = ""  # what signed an automatic sign-off

    def describe(self) -> str:
        role = f" as {self.role}" if self.role else ""
        if self.automatic:
            head = f"signed off {self.check_id} AUTOMATICALLY ({self.rule or 'rule'}){role}: no person signed"
        else:
            head = f"signed off {self.check_id}{role}"
        return head + (f": {self.note}" if self.note else "")


# Stages and traffic ---------------------------------------------------------------
class AdvanceConfirmed(BaseBody, tag="advance_confirmed", frozen=True, kw_only=True):
    """The driver confirmed an advance; ``to_index == len(stages)`` is the step to stable."""

    free_text = frozenset({"reason"})

    to_index: int
    from_index: int = -1
    from_stage: str | None = None
    to_stage: str = ""
    forced: bool = False
    reason: str = ""

    def describe(self) -> str:
        forced = f" FORCED: {self.reason}" if self.forced else ""
        return f"advance {self.from_stage or 'start'} -> {self.to_stage} confirmed{forced}"


class TrafficIntended(BaseBody, tag="traffic_intended", frozen=True, kw_only=True):
    weight: float
    stage: str = ""
    purpose: Literal["advance", "rollback"] = "advance"

    def describe(self) -> str:
        return f"traffic: shifting canary to {_pct(self.weight)} ({self.purpose}, {self.stage})"


class TrafficConfirmed(BaseBody, tag="traffic_confirmed", frozen=True, kw_only=True):
    free_text = frozenset({"detail"})

    weight: float
    stage: str = ""
    detail: str = ""

    def describe(self) -> str:
        return f"traffic: canary at {_pct(self.weight)} confirmed ({self.detail})"[:SUMMARY_LIMIT]


class TrafficFailed(BaseBody, tag="traffic_failed", frozen=True, kw_only=True):
    free_text = frozenset({"error"})

    weight: float
    stage: str = ""
    error: str = ""

    def describe(self) -> str:
        return f"traffic: shift to {_pct(self.weight)} FAILED: {self.error}"[:SUMMARY_LIMIT]


class StageEntered(BaseBody, tag="stage_entered", frozen=True, kw_only=True):
    index: int
    stage: str
    weight: float

    def describe(self) -> str:
        return f"stage {self.stage} entered at {_pct(self.weight)}"


class HoldCompleted(BaseBody, tag="hold_completed", frozen=True, kw_only=True):
    stage: str
    hold_s: float = 0.0

    def describe(self) -> str:
        return f"hold of stage {self.stage} completed"


class Paused(BaseBody, tag="paused", frozen=True, kw_only=True):
    free_text = frozenset({"reason"})

    reason: str = ""

    def describe(self) -> str:
        return "paused" + (f": {self.reason}" if self.reason else "")


class Resumed(BaseBody, tag="resumed", frozen=True, kw_only=True):
    free_text = frozenset({"reason"})

    reason: str = ""

    def describe(self) -> str:
        return "resumed" + (f": {self.reason}" if self.reason else "")


def _spaced(v: float) -> str:
    return f"{v:g} %"


class WeightDrifted(BaseBody, tag="weight_drifted", frozen=True, kw_only=True):
    """The reality check: the traffic driver read back a weight other than the
    journal's, before an advance or on resuming. Nothing was shifted: the rollout is
    held (paused in a stage) until the weight is back or it is rolled back; it is
    never "fixed" by shifting. Journaled by the engine (the rule), not a person."""

    free_text = frozenset({"detail"})

    journal: float  # the weight the journal believes (confirmed)
    actual: float  # the weight read back
    where: str = "router"  # what was read ("gateway" for the sandbox)
    before: Literal["advance", "resume", "hold"] = "advance"
    stage: str = ""  # the stage the journal is in
    to_stage: str = ""  # the advance held back ("" on resume)
    detail: str = ""  # how it was read

    @property
    def message(self) -> str:
        return f"weight drifted: journal {_spaced(self.journal)}, {self.where} {_spaced(self.actual)}"

    def describe(self) -> str:
        held = {"advance": f"the advance to {self.to_stage}", "resume": "the resume",
                "hold": f"the rollout at stage {self.stage}"}[self.before]
        how = f" ({self.detail})" if self.detail else ""
        return f"{self.message}{how}; reality check held {held}: nothing was shifted"[:LONG_SUMMARY_LIMIT]


class WeightVerified(BaseBody, tag="weight_verified", frozen=True, kw_only=True):
    """After a drift: the weight read back is the journal's again (set back by hand);
    the drift no longer holds the rollout. Journaled by the engine."""

    free_text = frozenset({"detail"})

    weight: float
    where: str = "router"
    detail: str = ""

    def describe(self) -> str:
        how = f" ({self.detail})" if self.detail else ""
        return (f"weight verified: {self.where} at {_spaced(self.weight)} as the journal says"
                f"{how}")[:LONG_SUMMARY_LIMIT]


# Canary analysis -------------------------------------------------------------------
class Samples(BaseBody, tag="samples", frozen=True, kw_only=True):
    """One poll: ``values[metric] = (canary, baseline)``, ``None`` when the source had no
    data for the metric, with the reason in ``errors``. ``requests[metric]``: the canary
    requests in the evaluation window, for metrics with a ``min_requests``.
    ``carried[metric]``: the stage whose baseline stands in for one with no traffic
    now (at 100 %), the value itself being in ``values``."""

    free_text = frozenset({"errors"})
    omit_empty = frozenset({"requests", "carried"})

    values: dict[str, Pair | None] = {}
    errors: dict[str, str] = {}
    requests: dict[str, float] = {}
    carried: dict[str, str] = {}

    def describe(self) -> str:
        def value(v: float | None) -> str:
            return "none" if v is None else format(v, ".4g")

        def one(metric: str, pair: Pair | None) -> str:
            if pair is None:
                return f"{metric}=n/a"
            mark = "*" if metric in self.carried else ""
            return f"{metric}={value(pair[0])}/{value(pair[1])}{mark}"

        shown = ", ".join(one(m, v) for m, v in self.values.items())
        if self.carried:
            shown += f" (* baseline from {', '.join(sorted(set(self.carried.values())))})"
        return f"metrics (canary/baseline): {shown}"[:LONG_SUMMARY_LIMIT]


class CriterionTripped(BaseBody, tag="criterion_tripped", frozen=True, kw_only=True):
    free_text = frozenset({"title", "reason"})

    metric: str
    title: str = ""
    rule: str = ""
    state: str = ""
    canary: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    breach_s: float = 0.0
    required_s: float = 0.0
    reason: str = ""
    series: tuple[Point, ...] = ()

    def describe(self) -> str:
        # the reason words the values with their unit (2.18%, not 0.02179702612…)
        return f"STOP {self.metric}: {self.reason}"[:LONG_SUMMARY_LIMIT]


class Stalled(BaseBody, tag="stalled", frozen=True, kw_only=True):
    """A stop criterion inconclusive for longer than ``[canary] max_inconclusive`` (default:
    the stage's hold): the rollout says what it waits for, then ``on_inconclusive``
    (``action``) decides. The fold lists it in ``RolloutState.stalled`` until the metric
    is conclusive again."""

    free_text = frozenset({"reason"})

    metric: str
    reason: str = ""
    stage: str = ""
    inconclusive_s: float = 0.0
    limit_s: float = 0.0
    action: Literal["hold", "propose", "rollback"] = "hold"

    def describe(self) -> str:
        then = {"hold": "holding", "propose": "proposing a rollback",
                "rollback": "rolling back"}[self.action]
        return (f"stalled: {self.metric}: {self.reason} (inconclusive for "
                f"{Duration(self.inconclusive_s)}, max {Duration(self.limit_s)}; {then})"
                )[:LONG_SUMMARY_LIMIT]


# Rollback --------------------------------------------------------------------------
class RollbackProposed(BaseBody, tag="rollback_proposed", frozen=True, kw_only=True):
    free_text = frozenset({"reason"})

    reason: str = ""
    metric: str = ""  # the stop criterion, or "" for a guard (``check``)
    check: str = ""  # the guard or exit check that failed
    value: float | None = None  # the canary value the criterion tripped on

    def describe(self) -> str:
        return f"rollback proposed: {self.reason}"


class ProposalDeclined(BaseBody, tag="proposal_declined", frozen=True, kw_only=True):
    """The driver declined a proposed rollback; the same proposal stays quiet for
    ``snooze_s`` (plan time) unless what triggered it gets worse than ``value``."""

    free_text = frozenset({"reason"})

    reason: str = ""
    metric: str = ""
    check: str = ""
    value: float | None = None  # the canary value the proposal was made on
    snooze_s: float = 0.0

    def describe(self) -> str:
        what = self.metric or self.check or "proposal"
        return (f"rollback declined ({what}): {self.reason}; not proposed again for "
                f"{_dur(self.snooze_s)} unless it gets worse")


class GuardFailed(BaseBody, tag="guard_failed", frozen=True, kw_only=True):
    """A guard (a check re-run while traffic sits at a stage) or an exit check failed
    with canary traffic live; ``action`` is what ``rollout.on_stop`` made of it."""

    free_text = frozenset({"summary"})

    check: str
    stage: str = ""
    status: str = ""
    summary: str = ""
    action: Literal["rollback", "propose", "none", "snoozed"] = "none"

    def describe(self) -> str:
        return (f"GUARD {self.check} {self.status} at stage {self.stage}: {self.summary} "
                f"-> {self.action}")[:LONG_SUMMARY_LIMIT]


class RollbackStarted(BaseBody, tag="rollback_started", frozen=True, kw_only=True):
    free_text = frozenset({"reason"})

    reason: str = ""
    trigger: Literal["operator", "criterion", "guard"] = "operator"
    snapshot: dict[str, EvaluationRecord] = {}
    weight: float | None = None  # the canary weight confirmed when it started

    def describe(self) -> str:
        return f"ROLLBACK started ({self.trigger}): {self.reason}"[:LONG_SUMMARY_LIMIT]


class RunbookStepStarted(BaseBody, tag="runbook_step_started", frozen=True, kw_only=True):
    step: str
    action: str = ""

    def describe(self) -> str:
        return f"runbook {self.step}: started"


class RunbookStepFinished(BaseBody, tag="runbook_step_finished", frozen=True, kw_only=True):
    free_text = frozenset({"detail"})

    step: str
    status: Literal["done", "failed"]
    detail: str = ""

    def describe(self) -> str:
        return f"runbook {self.step}: {self.status} - {self.detail}"[:LONG_SUMMARY_LIMIT]


class RunbookDecision(BaseBody, tag="runbook_decision", frozen=True, kw_only=True):
    free_text = frozenset({"reason"})

    step: str
    decision: Literal["retry", "skip"]
    reason: str = ""

    def describe(self) -> str:
        return f"runbook {self.step}: operator decided {self.decision} ({self.reason})"


class RollbackFinished(BaseBody, tag="rollback_finished", frozen=True, kw_only=True):
    weight: float | None = None

    def describe(self) -> str:
        return "rollback finished: canary traffic at " + _pct(self.weight)


class Reconciled(BaseBody, tag="reconciled", frozen=True, kw_only=True):
    item: str

    def describe(self) -> str:
        return f"reconciliation {self.item} marked done"


class ReleaseStable(BaseBody, tag="release_stable", frozen=True, kw_only=True):
    release: str = ""

    def describe(self) -> str:
        return f"release {self.release} marked STABLE"


class Note(BaseBody, tag="note", frozen=True, kw_only=True):
    """A note someone added to the session (the event's actor is its author)."""

    free_text = frozenset({"text"})

    text: str

    def describe(self) -> str:
        return f"note: {self.text}"[:LONG_SUMMARY_LIMIT]


class PauseRequested(BaseBody, tag="pause_requested", frozen=True, kw_only=True):
    """Someone other than the driver asks for a pause (the actor); the driver decides."""

    free_text = frozenset({"reason"})

    reason: str = ""

    def describe(self) -> str:
        return "PAUSE REQUESTED" + (f": {self.reason}" if self.reason else "")


class ChainKeyed(BaseBody, tag="chain_keyed", frozen=True, kw_only=True):
    """The session's hash chain is an HMAC under a key; the reference says where the
    key lives (``env:``/``file:``/``vault:``), never what it is."""

    key_ref: str
    algorithm: str = "hmac-sha256"

    def describe(self) -> str:
        return f"journal chain keyed ({self.algorithm}, key {self.key_ref})"


# Notifications -----------------------------------------------------------------------
class NotifyFailed(BaseBody, tag="notify_failed", frozen=True, kw_only=True):
    """A notification that could not be delivered (``gonogo.notify``): the target by
    its name from the config, never its URL. Changes nothing in the rollout's state."""

    free_text = frozenset({"error"})

    target: str
    target_kind: str = ""
    event: str = ""  # the notification event (stage_entered, criterion_tripped...)
    attempts: int = 0
    error: str = ""

    def describe(self) -> str:
        tries = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}" if self.attempts else ""
        return (f"notification {self.event or '?'} to {self.target} NOT DELIVERED{tries}: "
                f"{self.error}")[:LONG_SUMMARY_LIMIT]


EventBody: TypeAlias = (
    SessionStarted | SessionResumed | CheckRecorded | OwnerSet | SignedOff | AdvanceConfirmed
    | TrafficIntended | TrafficConfirmed | TrafficFailed | StageEntered | HoldCompleted | Paused
    | Resumed | Samples | CriterionTripped | Stalled | RollbackProposed | ProposalDeclined | GuardFailed
    | RollbackStarted
    | RunbookStepStarted | RunbookStepFinished | RunbookDecision | RollbackFinished | Reconciled
    | ReleaseStable | ChainKeyed | NotifyFailed | Note | PauseRequested | WeightDrifted
    | WeightVerified
)

KINDS: Mapping[str, type[EventBody]] = {
    cast(str, cls.__struct_config__.tag): cls for cls in get_args(EventBody)
}
_KIND_OF: Mapping[type[BaseBody], str] = {cls: kind for kind, cls in KINDS.items()}


def kind_of(body: BaseBody) -> str:
    """The kind string ``body`` is recorded under (its tag)."""
    return _KIND_OF[type(body)]


# Encoding --------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """JSON-safe data as it will read back: tuples become lists, non-finite floats
    ``None``, anything else its text (a journal write must never fail on a value)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _omit_empty(struct: msgspec.Struct, data: Any) -> None:
    """Drop ``struct``'s empty ``omit_empty`` fields from its builtins ``data``, and those
    of the records it holds."""
    if not isinstance(data, dict):
        return
    for name in getattr(struct, "omit_empty", ()):
        if name in data and data[name] in (None, "", {}, []):
            del data[name]
    for name in struct.__struct_fields__:
        value, sub = getattr(struct, name), data.get(name)
        if isinstance(value, msgspec.Struct):
            _omit_empty(value, sub)
        elif isinstance(value, dict) and isinstance(sub, dict):
            for k, v in value.items():
                if isinstance(v, msgspec.Struct):
                    _omit_empty(v, sub.get(str(k)))


def encode(body: BaseBody) -> dict[str, Any]:
    """The ``data`` a journal line records for ``body`` (its fields, without the tag)."""
    data = msgspec.to_builtins(body, enc_hook=str)
    data.pop("kind", None)
    _omit_empty(body, data)
    return cast(dict[str, Any], plain(data))


def decode(kind: str, data: Any) -> EventBody:
    """The body recorded as ``kind`` with ``data``; ``BodyError`` says what is wrong."""
    cls = KINDS.get(kind)
    if cls is None:
        raise BodyError(f"unknown event kind {kind!r}")
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        raise BodyError(f"{kind}: {exc}") from None


# Redaction -------------------------------------------------------------------------
def _scrub(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {k: _scrub(v, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, text) for v in value)
    return value


def _redact_any(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, msgspec.Struct):
        return redact(value, text)
    if isinstance(value, dict):
        return {k: _redact_any(v, text) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_redact_any(v, text) for v in value)
    return value


def redact(struct: S, text: Callable[[str], str]) -> S:
    """``struct`` with ``text`` applied to every string in its free-text fields, and in
    those of the records it holds; identifiers and numbers stay as they are."""
    free: frozenset[str] = getattr(struct, "free_text", frozenset())
    changes: dict[str, Any] = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        new = _scrub(value, text) if name in free else _redact_any(value, text)
        if new is not value:
            changes[name] = new
    return msgspec.structs.replace(struct, **changes) if changes else struct
