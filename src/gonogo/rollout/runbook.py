"""The rollback runbook's step actions.

``execute(step, host)`` carries out one step and returns ``(ok, detail)``, or
``None`` when the step waits for the operator (a manual step, or a manual traffic
driver). The engine journals the start and the outcome; a failed step is retried or
skipped only by an explicit operator decision (``Engine.runbook_decision``).
Steps must be safe to run again: a crash mid-step re-runs it on resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, TypeAlias

from gonogo.config import Plan, RunbookStep
from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.rollout.events import EventBody, TrafficConfirmed, TrafficFailed, TrafficIntended
from gonogo.rollout.incident import build_incident, post_incident, write_incident
from gonogo.rollout.journal import Event, JournalStore
from gonogo.rollout.state import RolloutState
from gonogo.rollout.traffic import TrafficDriver, run_command

Outcome: TypeAlias = tuple[bool, str] | None
OUTPUT_LIMIT = 1500


class RunbookHost(Protocol):
    """What a step needs from whoever runs the runbook (the engine)."""

    @property
    def plan(self) -> Plan: ...
    @property
    def ctx(self) -> CheckContext: ...
    @property
    def traffic(self) -> TrafficDriver: ...
    @property
    def state(self) -> RolloutState: ...
    @property
    def journal(self) -> JournalStore: ...
    @property
    def session_dir(self) -> Path: ...

    def emit(self, body: EventBody) -> Event: ...

    async def run_checks(self, ids: Iterable[str] | None = None) -> None: ...


async def execute(step: RunbookStep, engine: RunbookHost) -> Outcome:
    try:
        if step.action == "shift_traffic":
            return await _shift(step, engine)
        if step.action == "checks":
            return await _checks(step, engine)
        if step.action == "command":
            return await _command(step, engine)
        if step.action == "incident":
            return await _incident(step, engine)
        return None  # manual: the operator confirms with Engine.confirm_step
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a step that breaks is a failed step, never a crash
        return False, engine.ctx.redactor.excerpt(describe_error(exc), OUTPUT_LIMIT)


async def _shift(step: RunbookStep, engine: RunbookHost) -> Outcome:
    release = engine.plan.release
    target = release.previous or "the previous stable release"
    engine.emit(TrafficIntended(weight=0.0, stage="rollback", purpose="rollback"))
    if engine.traffic.needs_confirmation:
        return None
    shift = await asyncio.wait_for(
        engine.traffic.shift(0.0, "rollback", release.name), step.timeout.seconds
    )
    if not shift.confirmed:
        engine.emit(TrafficFailed(weight=0.0, stage="rollback", error=shift.detail))
        return False, f"traffic not shifted: {shift.detail}"
    engine.emit(TrafficConfirmed(weight=0.0, stage="rollback", detail=shift.detail))
    return True, f"all traffic on {target} (canary 0%)"


async def _checks(step: RunbookStep, engine: RunbookHost) -> Outcome:
    ids = engine.plan.expand(step.checks)
    if not ids:
        return True, "no checks configured"
    await asyncio.wait_for(engine.run_checks(ids), step.timeout.seconds)
    results = engine.state.results
    bad = [i for i in ids if i in results and results[i].required and not results[i].lets_go]
    if bad:
        return False, "failing: " + ", ".join(f"{i} ({results[i].summary})" for i in bad)
    return True, f"{len(ids)} check(s) green"


async def _command(step: RunbookStep, engine: RunbookHost) -> Outcome:
    release = engine.plan.release
    argv = [a.replace("{release}", release.name).replace("{previous}", release.previous)
            for a in step.command]
    return await run_command(argv, engine.ctx, step.timeout, OUTPUT_LIMIT)


async def _incident(step: RunbookStep, engine: RunbookHost) -> Outcome:
    incident = build_incident(engine.plan, engine.journal.read())
    out_dir = engine.session_dir / step.out_dir
    md, js = await asyncio.to_thread(write_incident, incident, out_dir)
    detail = f"incident written: {md} and {js.name}"
    if step.webhook is not None:
        url = await engine.ctx.resolver.value(step.webhook)
        ok, why = await post_incident(engine.ctx, url, incident, step.timeout.seconds)
        if not ok:
            return False, f"{detail}; webhook failed: {why}"
        detail += f"; posted ({why})"
    return True, detail
