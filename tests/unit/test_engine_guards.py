"""Issue 10 on the engine with an injected clock: guards re-run during a stage and act
per ``on_stop``; a declined proposal snoozes; sign-offs are people's, with a role and
a note; intents from another process are journaled under their submitter's name;
stale results never count as passing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.report import to_dict
from gonogo.rollout.engine import ENGINE_ACTOR, Engine, EngineRefused
from gonogo.rollout.intents import Inbox
from gonogo.rollout.state import Phase
from gonogo.widgets.view import fmt_age, health_rows
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan

SIGNOFF = """
[[gates]]
id = "manual"
title = "By hand"
  [[gates.checks]]
  id = "hand-smoke"
  title = "Manual smoke"
  kind = "manual"
  required = false
  who = "release_manager"
"""


def guarded_plan(tmp: Path, *, on_stop: str = "auto", extra: str = "") -> tuple[Path, Path]:
    """The test plan whose ``smoke`` check (canary's exit check, hence a default guard)
    fails while ``flag`` exists."""
    flag = tmp / "smoke-broken"
    path = write_plan(tmp, on_stop=on_stop, extra=extra)
    text = path.read_text()
    head, sep, tail = text.partition('id = "smoke"')
    tail = tail.replace('argv = ["true"]', f'argv = ["sh", "-c", "test ! -e {flag}"]', 1)
    text = head + sep + tail
    text = text.replace('hold = "30m"\nexit_checks = ["smoke"]',
                        'hold = "30m"\nexit_checks = ["smoke"]\nguard_interval = "1m"')
    path.write_text(text)
    return path, flag


async def into_canary(engine: Engine) -> None:
    engine.start(speed=1.0)
    await engine.run_checks()
    assert engine.verdict().go
    await engine.advance()
    assert engine.state.phase == Phase.HOLDING and engine.state.weight_confirmed == 5.0


async def test_a_guard_failing_mid_hold_rolls_back_within_its_interval(tmp_path: Path) -> None:
    plan, flag = guarded_plan(tmp_path)
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource(HEALTHY))
    await into_canary(engine)
    await poll_for(engine, clock, 120)  # two guard runs, all green
    assert engine.state.phase == Phase.HOLDING
    flag.touch()
    broke = clock.now
    await poll_for(engine, clock, 120, until=lambda: engine.state.phase != Phase.HOLDING)
    assert engine.state.phase == Phase.ROLLED_BACK
    assert clock.now - broke <= 60 + 15  # guard_interval + one tick
    events = engine.journal.read()
    guard = next(e for e in events if e.kind == "guard_failed")
    assert guard.actor == ENGINE_ACTOR
    assert guard.data["check"] == "smoke" and guard.data["action"] == "rollback"
    started = next(e for e in events if e.kind == "rollback_started")
    assert started.data["trigger"] == "guard" and started.actor == ENGINE_ACTOR
    assert "guard smoke fail at canary" in started.data["reason"]
    await engine.aclose()


async def test_a_guard_failing_in_propose_mode_asks_and_a_decline_snoozes(tmp_path: Path) -> None:
    plan, flag = guarded_plan(tmp_path, on_stop="propose")
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource(HEALTHY))
    await into_canary(engine)
    flag.touch()
    await poll_for(engine, clock, 90, until=lambda: engine.state.rollback_proposed)
    assert engine.state.phase == Phase.PAUSED and engine.state.rollback_proposed
    assert "guard smoke fail" in (engine.state.stop_reason or "")
    await engine.resume("smoke host is being rebooted, not the release")
    assert engine.state.phase == Phase.HOLDING
    declined = [e for e in engine.journal.read() if e.kind == "proposal_declined"]
    assert declined[-1].data["check"] == "smoke" and declined[-1].data["snooze_s"] == 300.0
    proposals = lambda: sum(e.kind == "rollback_proposed" for e in engine.journal.read())  # noqa: E731
    await poll_for(engine, clock, 240)  # still failing, but snoozed for 5 minutes
    assert proposals() == 1 and engine.state.phase == Phase.HOLDING
    await poll_for(engine, clock, 120, until=lambda: engine.state.rollback_proposed)
    assert proposals() == 2  # the snooze ran out and it still fails
    await engine.aclose()


async def test_a_declined_criterion_comes_back_only_when_the_breach_grows(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path, on_stop="propose"), tmp_path / "s", clock, source)
    await into_canary(engine)
    source.values = {**HEALTHY, "http-5xx": (0.02, 0.002)}
    await poll_for(engine, clock, 600, until=lambda: engine.state.rollback_proposed)
    assert engine.state.rollback_proposed
    start = clock.now
    await engine.resume("known flaky dependency")
    await poll_for(engine, clock, 120)
    assert not engine.state.rollback_proposed  # same breach: snoozed (3 ms later was the bug)
    source.values = {**HEALTHY, "http-5xx": (0.05, 0.002)}  # it grows
    await poll_for(engine, clock, 60, until=lambda: engine.state.rollback_proposed)
    assert engine.state.rollback_proposed and clock.now - start < 300
    await engine.aclose()


async def test_a_guard_at_weight_zero_blocks_instead_of_rolling_back(tmp_path: Path) -> None:
    plan, flag = guarded_plan(tmp_path, extra="""
        [[rollout.stages]]
        id = "late"
        weight = 100
        """)
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource(HEALTHY))
    engine.start(speed=1.0)
    await engine.run_checks()
    flag.touch()
    await engine.run_checks(["smoke"])
    assert not engine.verdict().go  # the checklist blocks the first advance
    with pytest.raises(EngineRefused, match="NO-GO"):
        await engine.advance()
    assert engine.state.rollbacks == 0
    await engine.aclose()


async def test_sign_offs_are_given_by_the_roles_owner_with_a_note(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, extra=SIGNOFF)
    engine = make_engine(plan, tmp_path / "s", Clock(), actor="Grace Hopper")
    engine.start()
    with pytest.raises(EngineRefused, match="needs a note"):
        await engine.sign_off("hand-smoke", "  ")
    with pytest.raises(EngineRefused, match=r"signed by release_manager \(Ada Lovelace\); "
                                            r"Grace Hopper is not Ada Lovelace"):
        await engine.sign_off("hand-smoke", "looked fine")
    event = await engine.record_signoff("hand-smoke", "walked all six journeys", signer="ada lovelace")
    assert event.actor == "ada lovelace" and event.data["role"] == "release_manager"
    assert engine.state.results["hand-smoke"].summary == "signed off by ada lovelace as release_manager"
    with pytest.raises(EngineRefused, match="already signed off by ada lovelace"):
        await engine.record_signoff("hand-smoke", "again", signer="Ada Lovelace")
    await engine.aclose()


async def test_an_automatic_sign_off_is_never_a_persons(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, extra=SIGNOFF)
    engine = make_engine(plan, tmp_path / "s", Clock(), actor="Ada Lovelace")
    engine.start()
    event = await engine.record_signoff("hand-smoke", automatic=True, rule="--auto-signoff")
    assert event.actor == ENGINE_ACTOR and event.data["automatic"] is True
    assert "AUTOMATICALLY (--auto-signoff)" in engine.state.results["hand-smoke"].summary
    await engine.aclose()


async def test_a_pending_sign_off_says_who_must_give_it_and_how(tmp_path: Path) -> None:
    plan_path = write_plan(tmp_path, extra=SIGNOFF)
    text = plan_path.read_text().replace('hold = "30m"\nexit_checks = ["smoke"]',
                                         'hold = "30m"\nexit_checks = ["smoke", "hand-smoke"]')
    plan_path.write_text(text)
    clock = Clock()
    engine = make_engine(plan_path, tmp_path / "s", clock, ScriptedSource(HEALTHY))
    await into_canary(engine)
    await poll_for(engine, clock, 1800)
    pv = engine.advance_preview()
    assert [n.check_id for n in pv.signoffs] == ["hand-smoke"]
    assert "sign-off needed: hand-smoke by release_manager (Ada Lovelace)" in pv.blockers
    result = engine.state.results["hand-smoke"]
    assert "awaiting sign-off by release_manager (Ada Lovelace)" in result.summary
    assert "gonogo signoff hand-smoke --as NAME --note TEXT" in result.summary
    await engine.aclose()


async def test_an_intent_from_another_process_is_journaled_under_its_submitter(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, extra=SIGNOFF)
    session = tmp_path / "s"
    engine = make_engine(plan, session, Clock(), ScriptedSource(HEALTHY), actor="Grace Hopper")
    engine.inbox = Inbox(session)
    engine.start()
    other = Inbox(session)  # the other terminal: `gonogo signoff` writes here
    good = other.submit("signoff", "Ada Lovelace", check_id="hand-smoke", note="journeys ok")
    bad = other.submit("signoff", "Mallory", check_id="hand-smoke", note="trust me")
    (session / "intents" / "junk.intent").write_text("{not json")
    await engine.tick()
    yes, no = other.answer_for(good.id), other.answer_for(bad.id)
    assert yes is not None and yes.applied and yes.seq > 0
    assert no is not None and not no.applied and "Mallory is not Ada Lovelace" in no.detail
    junk = other.answer_for("junk")
    assert junk is not None and not junk.applied and "malformed intent" in junk.detail
    signed = next(e for e in engine.journal.read() if e.kind == "signed_off")
    assert signed.seq == yes.seq and signed.actor == "Ada Lovelace"
    assert signed.data == {"check_id": "hand-smoke", "note": "journeys ok", "role": "release_manager",
                           "automatic": False, "rule": ""}
    assert list((session / "intents").glob("*.intent")) == []  # each taken once
    await engine.aclose()


async def test_a_stale_result_blocks_the_verdict_and_says_why(tmp_path: Path) -> None:
    plan_path = write_plan(tmp_path)
    plan_path.write_text(plan_path.read_text().replace('previous = "shop-2.3.7"',
                                                       'previous = "shop-2.3.7"\n\n[settings]\n'
                                                       'stale_after = "1h"', 1))
    wall = Clock(time.time())
    engine = Engine(load_plan(plan_path), make_engine(plan_path, tmp_path / "s", Clock()).journal,
                    wall_clock=wall, actor="ada")
    engine.start()
    await engine.run_checks()
    assert engine.verdict().go
    wall.advance(3601)
    verdict = engine.verdict()
    assert not verdict.go
    assert {b.id: b.reason for b in verdict.blocking} == {
        "unit": "stale: result 1h1s old > 1h; re-run it",
        "smoke": "stale: result 1h1s old > 1h; re-run it"}
    wall.advance(90)
    report = to_dict(engine.plan, engine.state.results, engine.verdict(), now=wall.now)
    assert {c["id"]: c["age_s"] for g in report["gates"] for c in g["checks"]} == {
        "unit": 3691.0, "smoke": 3691.0}
    assert report["blocking_reasons"]["unit"].startswith("stale: result 1h1m31s old")
    await engine.run_checks()
    assert engine.verdict().go
    rows = health_rows(engine.plan, engine.state.results, wall.now + 420)
    assert all(r.checked == "" for r in rows)  # no http_health in this plan: never checked
    assert [fmt_age(s) for s in (5, 61, 3 * 3600, 2 * 86400)] == ["<1m", "1m", "3h", "2d"]
    await engine.aclose()


async def test_a_costly_guard_runs_at_most_a_fifth_of_the_time(tmp_path: Path) -> None:
    """A guard that takes a second of probes (200 services) is not re-run two seconds
    later at demo speed: the driver's panel keeps four fifths of its time for people."""
    plan, _ = guarded_plan(tmp_path)
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource(HEALTHY))
    engine.start(speed=600.0)  # guard_interval 1m = 0.1 real s: the 2 s floor rules
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 3)
    assert engine._guards_at is not None
    engine._guards_at, engine._guards_cost = clock.now, 0.01  # a cheap run: every 2 s
    clock.now += 2.0
    assert engine.guards_due()
    engine._guards_at, engine._guards_cost = clock.now, 1.0  # a run that took 1 s
    clock.now += 4.0
    assert not engine.guards_due()
    clock.now += 1.0
    assert engine.guards_due()
    await engine.aclose()
