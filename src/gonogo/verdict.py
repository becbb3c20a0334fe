"""The go/no-go decision (the seed checklist's final rule): a pure function of the plan and the results.

GO only if every required check of the checklist (gates with scope "checklist")
passes (``warn`` counts as passing with a note; a check the config skips through its
``skip_if`` is the config's explicit decision: listed with its reason, not blocking),
no owner is ``TBD``, and no P0/P1 item is open — whether listed in the config's
``[[issues]]`` or reported by an ``open_incidents`` check. Anything else is NO-GO
with each blocking item named.

Given ``now``, a result older than its check's ``stale_after`` (default
``[settings] stale_after``) is *stale*: it blocks like a check not run, never counts
as passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gonogo.config import TBD, CheckSpec, Plan
from gonogo.model import CheckResult, Status
from gonogo.values import Duration

BLOCKING_SEVERITIES = ("P0", "P1")


@dataclass(frozen=True, slots=True)
class Blocker:
    id: str  # a check id, ``owners.<role>`` or ``issues.<id>``
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    go: bool
    blocking: tuple[Blocker, ...]
    # required checks skipped through their skip_if: not blocking, but said, with why
    skipped: tuple[Blocker, ...] = ()

    @property
    def label(self) -> str:
        return "GO" if self.go else "NO-GO"


def decide(
    plan: Plan,
    results: Mapping[str, CheckResult],
    owners: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Verdict:
    """``owners`` overrides the config's matrix (owners set during a session); with
    ``now``, stale results block (``stale_reason``)."""
    blocking: list[Blocker] = []
    skipped: list[Blocker] = []
    for _, spec in plan.checklist():
        if not spec.required:
            continue
        result = results.get(spec.id)
        if result is None or result.status is Status.PENDING:
            blocking.append(Blocker(spec.id, result.summary if result and result.summary
                                    else "not run yet"))
        elif result.status is Status.SKIPPED and result.skipped_by_config:
            skipped.append(Blocker(spec.id, result.summary))
        elif not result.status.ok:
            blocking.append(Blocker(spec.id, f"{result.status}: {result.summary}"))
        elif now is not None and (why := stale_reason(plan, spec, result, now)) is not None:
            blocking.append(Blocker(spec.id, why))
    for role, name in (plan.owners if owners is None else owners).items():
        if name.strip().upper() == TBD:
            blocking.append(Blocker(f"owners.{role}", f"owner for {role!r} is TBD"))
    for issue in plan.doc.issues:
        if issue.status == "open" and issue.severity in BLOCKING_SEVERITIES:
            blocking.append(Blocker(f"issues.{issue.id}", f"open {issue.severity}: {issue.title}"))
    return Verdict(go=not blocking, blocking=tuple(blocking), skipped=tuple(skipped))


def max_age(plan: Plan, spec: CheckSpec) -> float:
    """Seconds after which ``spec``'s result is stale."""
    return (spec.stale_after or plan.settings.stale_after).seconds


def stale_reason(plan: Plan, spec: CheckSpec, result: CheckResult, now: float) -> str | None:
    """``"stale: result 1h02m old > 1h; re-run it"``, or ``None`` while fresh (a pending
    result, without a finish time, is not stale: it is not a result yet)."""
    if result.finished_at <= 0:
        return None
    age = now - result.finished_at
    limit = max_age(plan, spec)
    if age <= limit:
        return None
    return f"stale: result {Duration(age)} old > {Duration(limit)}; re-run it"
