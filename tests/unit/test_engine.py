"""The rollout engine end to end with an injected clock: stages, stop criteria,
rollback, owners, resume. Traffic goes through the real ``command`` driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.events import AdvanceConfirmed, CriterionTripped, RollbackStarted
from gonogo.rollout.journal import FileJournal, verify_file
from gonogo.rollout.state import Phase, fold
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan


def weights(tmp: Path) -> list[str]:
    path = tmp / "weights.log"
    return path.read_text().split() if path.exists() else []


async def start(engine: Engine) -> None:
    engine.start(speed=1.0)
    await engine.run_checks()
    assert engine.verdict().go


async def test_healthy_rollout_reaches_stable(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock)
    await start(engine)
    await engine.advance()
    assert engine.state.phase == Phase.HOLDING and engine.state.stage.id == "canary"
    with pytest.raises(EngineRefused, match="hold: 30m of 30m left"):
        await engine.advance()
    await poll_for(engine, clock, 1800)
    assert engine.state.phase == Phase.READY
    assert engine.state.evaluations["http-5xx"].state == "ok"
    await engine.advance()
    await poll_for(engine, clock, 900)
    await engine.advance()
    assert engine.state.stage.id == "full"
    polls = engine._metrics.polls  # type: ignore[union-attr]
    await poll_for(engine, clock, 900)
    assert engine._metrics.polls == polls  # type: ignore[union-attr]  # analysis = false
    await engine.advance()
    assert engine.state.phase == Phase.STABLE
    assert weights(tmp_path) == ["5", "50", "100"]
    events = engine.journal.read()
    advances = [(e.actor, e.body) for e in events if isinstance(e.body, AdvanceConfirmed)]
    assert [b.to_stage for _, b in advances] == ["canary", "half", "full", "stable"]
    assert all(actor == "ada" and not b.forced for actor, b in advances)
    assert not any(isinstance(e.body, CriterionTripped) for e in events)
    await engine.aclose()
    assert verify_file(tmp_path / "s" / "events.jsonl").ok


async def test_force_advance_needs_a_reason_and_is_marked(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock)
    await start(engine)
    await engine.advance()
    with pytest.raises(EngineRefused, match="typed reason"):
        await engine.force_advance("  ")
    await engine.force_advance("hotfix window closing; SRE approved")
    assert engine.state.stage.id == "half"
    assert engine.state.forced == ("hotfix window closing; SRE approved",)
    last = [e for e in engine.journal.read() if isinstance(e.body, AdvanceConfirmed)][-1]
    assert last.body == AdvanceConfirmed(from_index=0, to_index=1, from_stage="canary", to_stage="half",
                                         forced=True, reason="hotfix window closing; SRE approved")
    assert last.actor == "ada"
    await engine.aclose()


async def test_5xx_regression_trips_and_rolls_back_automatically(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 300)
    crossed_at = clock.now + 7.0  # the ratio crosses 2x between two polls
    source.values["http-5xx"] = (0.05, 0.01)
    await poll_for(engine, clock, 1800, until=lambda: engine.state.phase != Phase.HOLDING)
    events = engine.journal.read()
    trip = next(e.body for e in events if isinstance(e.body, CriterionTripped))
    started = next(e for e in events if isinstance(e.body, RollbackStarted))
    assert trip.metric == "http-5xx"
    assert trip.canary == 0.05 and trip.baseline == 0.01
    assert started.time - crossed_at <= 300 + 15  # rule duration + one poll interval
    assert engine.state.phase == Phase.ROLLED_BACK
    assert weights(tmp_path)[-1] == "0"
    assert engine.state.weight_confirmed == 0.0
    assert [s.status for s in engine.state.runbook] == ["done"] * 4
    incident = json.loads((tmp_path / "s" / "incidents" / "incident-shop-2.4.0.json").read_text())
    assert incident["criterion"]["metric"] == "http-5xx"
    assert incident["criterion"]["canary"] == 0.05 and incident["criterion"]["baseline"] == 0.01
    assert incident["metrics_snapshot"]["http-5xx"]["series"]
    assert any(t["kind"] == "rollback_started" for t in incident["timeline"])
    md = (tmp_path / "s" / "incidents" / "incident-shop-2.4.0.md").read_text()
    assert "http-5xx" in md and "canary 0.05" in md and "baseline 0.01" in md
    # Re-rollout waits for reconciliation.
    with pytest.raises(EngineRefused, match="reconciliation not done: ledger"):
        await engine.advance()
    await engine.mark_reconciled("ledger")
    source.values.update(HEALTHY)
    await engine.advance()
    assert engine.state.phase == Phase.HOLDING and engine.state.stage.id == "canary"
    assert engine.state.evaluations == {}
    await engine.aclose()


async def test_propose_mode_pauses_and_asks(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path, on_stop="propose"), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    source.values["failed-writes"] = (3.0, 0.0)
    await poll_for(engine, clock, 15)
    s = engine.state
    assert s.phase == Phase.PAUSED and s.rollback_proposed
    assert "failed-writes" in (s.stop_reason or "")
    assert weights(tmp_path) == ["5"]  # nothing rolled back yet
    with pytest.raises(EngineRefused, match="paused"):
        await engine.advance()
    await engine.rollback("confirmed by the driver: failed writes")
    assert engine.state.phase == Phase.ROLLED_BACK and weights(tmp_path)[-1] == "0"
    await engine.aclose()


async def test_inconclusive_blocks_then_resumes(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 600)
    source.down = True
    await poll_for(engine, clock, 1200)
    ev = engine.state.evaluations["http-5xx"]
    assert ev.state == "inconclusive" and "cannot connect" in ev.reason
    pv = engine.advance_preview()
    # blind time does not count: 1800 s have passed, but only the first 600 had data
    assert 600 <= pv.hold_elapsed_s <= 615 and not pv.can_advance
    assert any("inconclusive" in b for b in pv.blockers)
    assert any("the hold waits while there is no conclusive canary data: 20m" in b for b in pv.blockers)
    assert engine.state.phase == Phase.HOLDING  # held, not rolled back (on_inconclusive = hold)
    source.down = False
    await poll_for(engine, clock, 15 * 3)
    assert engine.state.evaluations["http-5xx"].state == "ok"
    assert engine.state.phase == Phase.HOLDING  # the hold goes on from where the data stopped
    await poll_for(engine, clock, 1200)
    assert engine.state.phase == Phase.READY
    await engine.advance()
    assert engine.state.stage.id == "half"
    await engine.aclose()


async def test_inconclusive_can_be_configured_to_roll_back(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path, on_inconclusive="rollback"), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 120)
    source.down = True
    went_down = clock.now
    await poll_for(engine, clock, 3600, until=lambda: engine.state.phase != Phase.HOLDING)
    trip = next(e.body for e in engine.journal.read() if isinstance(e.body, CriterionTripped))
    # after max_inconclusive (default: the stage's 30-minute hold), not before
    assert trip.reason.startswith("stop criterion http-5xx (5xx ratio): stalled: http-5xx: no data")
    assert 1800 <= clock.now - went_down <= 1800 + 15
    assert engine.state.phase == Phase.ROLLED_BACK
    await engine.aclose()


async def test_traffic_failure_records_intended_and_confirmed(tmp_path: Path) -> None:
    plan_path = write_plan(tmp_path)
    text = plan_path.read_text().replace('command = ["sh", "-c", "echo {weight} >>', 'command = ["sh", "-c", "exit 7; echo {weight} >>')
    plan_path.write_text(text)
    clock = Clock()
    engine = make_engine(plan_path, tmp_path / "s", clock)
    await start(engine)
    await engine.advance()
    s = engine.state
    assert s.phase == Phase.IDLE and s.weight_intended == 5.0 and s.weight_confirmed == 0.0
    assert "sh exited 7" in (s.traffic_error or "")
    kinds = [e.kind for e in engine.journal.read()][-3:]
    assert kinds == ["advance_confirmed", "traffic_intended", "traffic_failed"]
    await engine.aclose()


async def test_manual_driver_waits_for_the_operator(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path, driver="manual"), tmp_path / "s", clock)
    await start(engine)
    await engine.advance()
    assert engine.state.phase == Phase.SHIFTING and engine.state.weight_intended == 5.0
    await poll_for(engine, clock, 60)
    assert engine.state.phase == Phase.SHIFTING  # no hold runs before the weight is confirmed
    await engine.confirm_traffic("set in the load balancer UI")
    assert engine.state.phase == Phase.HOLDING and engine.state.weight_confirmed == 5.0
    await engine.aclose()


async def test_restart_replays_to_the_same_state(tmp_path: Path) -> None:
    clock = Clock()
    plan_path = write_plan(tmp_path)
    engine = make_engine(plan_path, tmp_path / "s", clock)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 450)
    await engine.pause("waiting for the SRE")
    before = engine.state
    await engine.aclose()
    again = make_engine(plan_path, tmp_path / "s", clock, actor="grace")
    assert again.state == before
    again.start(speed=1.0)
    assert again.state.driver == "grace" and again.state.phase == Phase.PAUSED
    clock.advance(3600)
    assert again.state.hold_elapsed(clock.now) == before.hold_elapsed(before.paused_at or 0)
    await again.resume()
    await again.aclose()
    assert fold(FileJournal(tmp_path / "s").read(), load_plan(plan_path)).phase == Phase.HOLDING


async def test_set_owner_is_logged_and_written_back(tmp_path: Path) -> None:
    plan_path = write_plan(tmp_path)
    original = plan_path.read_text()
    plan_path.write_text(original.replace('[owners]', '[owners]\n# who answers for what\nsecurity = "TBD"'))
    clock = Clock()
    engine = make_engine(plan_path, tmp_path / "s", clock)
    engine.start()
    await engine.run_checks()
    assert not engine.verdict().go
    assert any(b.id == "owners.security" for b in engine.verdict().blocking)
    await engine.set_owner("security", "Alan Turing")
    assert engine.verdict().go
    text = plan_path.read_text()
    assert 'security = "Alan Turing"' in text and "# who answers for what" in text
    assert load_plan(plan_path).owners["security"] == "Alan Turing"
    assert engine.journal.read()[-1].kind == "owner_set"
    await engine.aclose()


async def test_operator_rollback_needs_a_reason(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock)
    await start(engine)
    with pytest.raises(EngineRefused, match="no stage entered"):
        await engine.rollback("why not")
    await engine.advance()
    with pytest.raises(EngineRefused, match="needs a reason"):
        await engine.rollback("")
    await engine.rollback("customer reports from support")
    s = engine.state
    assert s.phase == Phase.ROLLED_BACK and s.stop_reason == "customer reports from support"
    started = next(e for e in engine.journal.read() if isinstance(e.body, RollbackStarted))
    assert isinstance(started.body, RollbackStarted)
    assert started.body.trigger == "operator" and started.actor == "ada"
    await engine.aclose()


async def test_a_failing_subscriber_is_logged_and_the_rollout_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock)
    seen: list[str] = []

    def broken(event: object, state: object) -> None:
        raise RuntimeError("widget exploded")

    engine.subscribe(broken)
    engine.subscribe(lambda event, state: seen.append(event.kind))
    with caplog.at_level("ERROR", logger="gonogo.rollout.engine"):
        await start(engine)
        await engine.advance()
    assert engine.state.phase == Phase.HOLDING and weights(tmp_path) == ["5"]
    assert seen[-1] == "stage_entered"  # later subscribers still hear every event
    failures = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(failures) == len(seen)
    assert "stage_entered" in failures[-1].getMessage()
    assert failures[-1].exc_info is not None and "widget exploded" in str(failures[-1].exc_info[1])
    await engine.aclose()


async def test_manual_driver_confirms_the_rollback_shift_too(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path, driver="manual"), tmp_path / "s", clock)
    await start(engine)
    with pytest.raises(EngineRefused, match="no traffic shift is waiting"):
        await engine.confirm_traffic()
    await engine.advance()
    await engine.confirm_traffic("canary weight set in the LB console")
    with pytest.raises(EngineRefused, match="no traffic shift is waiting"):
        await engine.confirm_traffic()  # holding: nothing waits, nothing is recorded
    before = len(engine.journal.read())
    await engine.rollback("support tickets")
    s = engine.state
    assert s.phase == Phase.ROLLING_BACK and s.weight_intended == 0.0 and s.weight_confirmed == 5.0
    assert [st.status for st in s.runbook][:2] == ["running", "pending"]
    await engine.confirm_traffic("LB back on stable")
    s = engine.state
    assert s.phase == Phase.ROLLED_BACK and s.weight_confirmed == 0.0
    kinds = [e.kind for e in engine.journal.read()[before:]]
    assert kinds[:4] == ["rollback_started", "runbook_step_started", "traffic_intended",
                         "traffic_confirmed"]
    await engine.aclose()
