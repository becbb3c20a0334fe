"""The stage machine's plan side: the effective stages, canary metrics and runbook
of a plan (``phases`` decides what blocks an advance). Pure.

The seed's plan is the default when a config lists no stages: staging (deploy, smoke,
manual smoke sign-off, soak) → canary 5 % (observe 30 min) → 25 % → 50 % → 100 %
(hold 15 min each) → post-deploy verification → stable.
"""

from __future__ import annotations

from gonogo.config import CanaryMetric, Plan, RunbookStep, Stage
from gonogo.rollout.analysis import seed_stop_criteria
from gonogo.values import Duration

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
    return seed_stop_criteria()


def plan_runbook(plan: Plan) -> tuple[RunbookStep, ...]:
    return plan.runbook.steps or SEED_RUNBOOK


def exit_check_ids(plan: Plan, stage: Stage) -> list[str]:
    return plan.expand(stage.exit_checks)


GUARD_KINDS = ("open_incidents", "http_health")  # open P0/P1 incidents, every service's health


def guard_ids(plan: Plan, stage: Stage) -> list[str]:
    """The checks re-run while traffic sits at ``stage``: its own ``guards``, else the
    seed's rollback triggers a check can see (open P0/P1 incidents and every service's
    health, from the checklist) and the stage's exit checks."""
    if stage.guards is not None:
        return plan.expand(stage.guards)
    default = [c.id for _, c in plan.checklist() if c.kind in GUARD_KINDS]
    return list(dict.fromkeys([*default, *exit_check_ids(plan, stage)]))


def manual_role(plan: Plan, check_id: str) -> str:
    """The owner role that signs ``check_id`` (a manual check's ``who``; "" for any
    other check, an unknown id, or a manual check naming no role)."""
    try:
        spec = plan.check(check_id)
    except KeyError:
        return ""
    return str(getattr(spec.params, "who", "") or "") if spec.kind == "manual" else ""


def guard_interval(plan: Plan, stage: Stage) -> Duration:
    return stage.guard_interval or plan.rollout.guard_interval
