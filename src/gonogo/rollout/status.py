"""What a rollout is waiting for, in one line: the headless driver prints it and the
panel shows it. Pure: state, preview and a clock in, text out.

``Wait.key`` changes only when *what* is awaited changes (a phase, a stage, a metric's
state, a sign-off given), not when a countdown ticks, so a driver can print the line
when it changes and otherwise once a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gonogo.rollout.analysis import RuleEvaluation
from gonogo.rollout.phases import AdvancePreview, Phase
from gonogo.rollout.state import RolloutState
from gonogo.values import Duration

__all__ = ["Wait", "waiting_for", "metrics_text"]


@dataclass(frozen=True, slots=True)
class Wait:
    key: tuple[object, ...]
    text: str


def metrics_text(evaluations: Mapping[str, RuleEvaluation]) -> str:
    """``metrics: 3 ok; auth-failures inconclusive (canary saw 14 requests < 200)``."""
    if not evaluations:
        return "metrics: no data yet"
    ok = [e for e in evaluations.values() if e.state == "ok"]
    other = [e for e in evaluations.values() if e.state != "ok"]
    parts = [f"{len(ok)} ok"] if ok else []
    for ev in other:
        dry = "" if ev.stop else " (dry-run)"
        parts.append(f"{ev.metric_id} {ev.state}{dry}: {ev.reason}")
    return "metrics: " + "; ".join(parts)


def waiting_for(state: RolloutState, preview: AdvancePreview, now: float) -> Wait:
    """The rollout's position and everything the next step waits for."""
    phase = state.phase
    stage = state.stage
    where = f"{stage.id} {state.weight_confirmed:g}%" if stage is not None else "not started"
    parts = [f"{where} · {phase.value.replace('_', ' ')}"]
    if stage is not None and phase in (Phase.HOLDING, Phase.PAUSED):
        parts.append(f"hold {Duration(state.hold_remaining(now))} left of {Duration(stage.hold_s)}")
    if stage is not None and state.evaluations:
        parts.append(metrics_text(state.evaluations))
    others = [b for b in preview.blockers if not b.startswith(("hold:", "metric "))]
    for need in preview.signoffs:
        others = [b for b in others if b != need.blocker()]
        others.append(f"sign-off of {need.check_id} by {need.who} (s on the check in the panel, or "
                      f"gonogo signoff {need.check_id} --as NAME --note TEXT)")
    for who, reason in state.pause_requests:
        parts.append(f"PAUSE REQUESTED by {who}" + (f": {reason}" if reason else ""))
    if others:
        parts.append("waiting for: " + "; ".join(others))
    elif preview.can_advance and phase in (Phase.HOLDING, Phase.READY):
        parts.append(f"ready to advance to {preview.to_stage or 'stable'}")
    key = (
        phase, state.stage_index, state.rollback_proposed, state.pause_requests,
        tuple(sorted((m, e.state) for m, e in state.evaluations.items())),
        tuple(n.check_id for n in preview.signoffs),
        tuple(b.split(":", 1)[0] for b in preview.blockers if not b.startswith("hold:")),
    )
    return Wait(key, " · ".join(parts))
