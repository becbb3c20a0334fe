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
