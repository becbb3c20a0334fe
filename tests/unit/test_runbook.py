"""The rollback runbook: steps, operator decisions on failure, incidents, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.events import RollbackStarted, RunbookStepFinished, RunbookStepStarted
from gonogo.rollout.journal import FileJournal
from gonogo.rollout.state import Phase
from support.loopback import serve
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan


async def into_canary(engine: Engine) -> None:
    engine.start()
    await engine.run_checks()
    await engine.advance()


def statuses(engine: Engine) -> dict[str, str]:
    return {s.id: s.status for s in engine.state.runbook}


async def test_failed_step_waits_for_an_explicit_decision(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, disable=("sh", "-c", "echo artifact registry down; exit 2"))
    engine = make_engine(plan, tmp_path / "s", Clock())
    await into_canary(engine)
    await engine.rollback("p95 latency doubled")
    s = engine.state
    assert s.phase == Phase.ROLLING_BACK
    assert statuses(engine) == {"shift": "done", "health": "done", "disable": "failed", "incident": "pending"}
    assert s.runbook_waiting is not None and "artifact registry down" in s.runbook_waiting.detail
    assert (tmp_path / "weights.log").read_text().split()[-1] == "0"  # traffic already safe
    with pytest.raises(EngineRefused, match="rollback is in progress"):
        await engine.advance()
    with pytest.raises(EngineRefused, match="needs a reason"):
        await engine.runbook_decision("disable", "retry", " ")
    with pytest.raises(EngineRefused, match="not waiting"):
        await engine.runbook_decision("incident", "skip", "no")
    await engine.runbook_decision("disable", "retry", "registry back?")
    assert statuses(engine)["disable"] == "failed"
    assert next(st for st in engine.state.runbook if st.id == "disable").attempts == 2
    await engine.runbook_decision("disable", "skip", "will disable by hand after the incident call")
    assert statuses(engine) == {"shift": "done", "health": "done", "disable": "skipped", "incident": "done"}
    assert engine.state.phase == Phase.ROLLED_BACK
    decisions = [e for e in engine.journal.read() if e.kind == "runbook_decision"]
    assert [(d.data["decision"], d.actor) for d in decisions] == [("retry", "ada"), ("skip", "ada")]
    await engine.aclose()


async def test_failing_health_checks_fail_the_confirm_step(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace('argv = ["true"]', 'argv = ["sh", "-c", "test ! -e FLAG"]', 1))
    engine = make_engine(plan, tmp_path / "s", Clock())
    await into_canary(engine)
    (tmp_path / "FLAG").write_text("")
    await engine.rollback("manual")
    assert statuses(engine)["health"] == "failed"
    assert "unit" in (engine.state.runbook_waiting.detail if engine.state.runbook_waiting else "")
    (tmp_path / "FLAG").unlink()
    await engine.runbook_decision("health", "retry", "stable pods restarted")
    assert engine.state.phase == Phase.ROLLED_BACK
    await engine.aclose()


async def test_incident_posts_to_the_webhook(tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"id": "INC-42"}, status=201)

    app = web.Application()
    app.router.add_post("/incidents", hook)
    async with serve(app) as base:
        plan = write_plan(tmp_path)
        plan.write_text(plan.read_text().replace(
            'action = "incident"', f'action = "incident"\nwebhook = "{base}/incidents"\nout_dir = "inc"'))
        clock = Clock()
        source = ScriptedSource(HEALTHY)
        engine = make_engine(plan, tmp_path / "s", clock, source)
        await into_canary(engine)
        source.values["failed-writes"] = (1.0, 0.0)
        await poll_for(engine, clock, 15)
        assert engine.state.phase == Phase.ROLLED_BACK
        await engine.aclose()
    assert len(received) == 1
    inc = received[0]
    assert inc["criterion"]["metric"] == "failed-writes" and inc["criterion"]["canary"] == 1.0
    assert inc["trigger"]["kind"] == "criterion" and inc["previous"] == "shop-2.3.7"
    assert (tmp_path / "s" / "inc" / "incident-shop-2.4.0.json").exists()
    finished = [e for e in FileJournal(tmp_path / "s").read() if e.kind == "runbook_step_finished"]
    assert "posted (HTTP 201)" in finished[-1].data["detail"]


async def test_unreachable_webhook_fails_the_step_not_the_engine(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace(
        'action = "incident"', 'action = "incident"\nwebhook = "http://127.0.0.1:9/nothing"'))
    engine = make_engine(plan, tmp_path / "s", Clock())
    await into_canary(engine)
    await engine.rollback("manual")
    waiting = engine.state.runbook_waiting
    assert waiting is not None and waiting.id == "incident" and "webhook failed" in waiting.detail
    assert (tmp_path / "s" / "incidents" / "incident-shop-2.4.0.md").exists()  # the file is still written
    await engine.aclose()


async def test_manual_step_waits_for_confirmation(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace(
        'action = "command"\ncommand = ["true"]', 'action = "manual"'))
    engine = make_engine(plan, tmp_path / "s", Clock())
    await into_canary(engine)
    await engine.rollback("manual")
    assert statuses(engine)["disable"] == "running"
    with pytest.raises(EngineRefused):
        await engine.confirm_step("incident")
    await engine.confirm_step("disable", "feature flag turned off in the console")
    assert engine.state.phase == Phase.ROLLED_BACK
    await engine.aclose()


async def test_resume_mid_runbook_reruns_the_interrupted_step(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock)
    await into_canary(engine)
    # What a crash leaves behind: the rollback started, step 2 started, nothing after.
    engine.emit(RollbackStarted(reason="crash test", trigger="operator"))
    engine.emit(RunbookStepStarted(step="shift", action="shift_traffic"))
    engine.emit(RunbookStepFinished(step="shift", status="done", detail="ok"))
    engine.emit(RunbookStepStarted(step="health", action="checks"))
    await engine.aclose()
    again = make_engine(plan, tmp_path / "s", clock, actor="grace")
    assert statuses(again) == {"shift": "done", "health": "running", "disable": "pending", "incident": "pending"}
    again.start()
    await again.recover()
    assert again.state.phase == Phase.ROLLED_BACK
    assert next(st for st in again.state.runbook if st.id == "health").attempts == 2
    incident = json.loads((tmp_path / "s" / "incidents" / "incident-shop-2.4.0.json").read_text())
    assert incident["trigger"]["reason"] == "crash test"
    await again.aclose()
