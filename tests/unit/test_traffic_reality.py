"""The reality check (issue 11): before each advance and on every resume the engine
reads the weight the router really has; a weight changed behind the driver's back
is journaled as a drift and stops the rollout before anything is shifted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aiohttp import web

from gonogo.config import ConfigError, load_plan
from gonogo.context import make_context
from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.events import TrafficIntended, WeightDrifted, WeightVerified
from gonogo.rollout.journal import verify_file
from gonogo.rollout.state import Phase, fold
from gonogo.rollout.traffic import Shift, WeightReading, make_driver, parse_weight
from support.loopback import serve
from support.rollout import Clock, make_engine, poll_for, write_plan

TOKEN = "s3cr3t-router-read-token"


class Router:
    """A traffic driver over a router whose weight the test can change behind its back."""

    name = "scripted"
    needs_confirmation = False

    def __init__(self) -> None:
        self.real = 0.0
        self.shifts: list[float] = []
        self.reads = 0
        self.broken = ""

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        self.shifts.append(weight)
        self.real = weight
        return Shift(True, weight, f"router at {weight:g}%")

    async def read(self, stage: str, release: str) -> WeightReading | None:
        self.reads += 1
        if self.broken:
            return WeightReading(None, self.broken, "gateway")
        return WeightReading(self.real, f"read {self.real:g}", "gateway")


async def at_canary_ready(tmp: Path) -> tuple[Engine, Router, Clock]:
    clock, router = Clock(), Router()
    engine = make_engine(write_plan(tmp), tmp / "s", clock, traffic=router)
    engine.start()
    await engine.run_checks()
    await engine.advance()
    assert engine.state.stage is not None and engine.state.stage.id == "canary"
    await poll_for(engine, clock, 1800)
    assert engine.state.phase == Phase.READY and engine.advance_preview().can_advance
    return engine, router, clock


async def test_a_weight_changed_behind_the_drivers_back_stops_the_next_advance(tmp_path: Path) -> None:
    engine, router, clock = await at_canary_ready(tmp_path)
    assert router.shifts == [5.0]
    router.real = 0.0  # someone (another driver, a hand on the router) set it to 0
    seq = engine.state.events
    with pytest.raises(EngineRefused, match=r"weight drifted: journal 5 %, gateway 0 %: nothing was shifted"):
        await engine.advance()
    assert router.shifts == [5.0]  # the 50 % shift never happened
    new = engine.journal.read()[seq:]
    assert [e.kind for e in new] == ["weight_drifted"]  # the one event holds the rollout
    drift = new[0]
    assert isinstance(drift.body, WeightDrifted) and drift.actor == "gonogo"  # the rule, no person
    assert (drift.body.journal, drift.body.actual, drift.body.to_stage) == (5.0, 0.0, "half")
    assert not any(isinstance(e.body, TrafficIntended) and e.body.weight == 50.0 for e in new)
    s = engine.state
    assert s.phase == Phase.PAUSED and s.weight_confirmed == 5.0  # the journal still says 5
    assert s.drift == s.stop_reason == "weight drifted: journal 5 %, gateway 0 %"
    # Held: neither an advance nor a force-advance acts on the stale belief.
    with pytest.raises(EngineRefused, match="paused: weight drifted"):
        await engine.advance()
    with pytest.raises(EngineRefused, match="weight drifted"):
        await engine.force_advance("the canary looks fine")
    with pytest.raises(EngineRefused, match="weight drifted"):
        await engine.resume("carry on")
    assert router.shifts == [5.0]
    # Set back by hand: the resume verifies it, and the rollout goes on.
    router.real = 5.0
    await engine.resume("gateway set back to 5 % by Grace")
    kinds = [e.kind for e in engine.journal.read()[-2:]]
    assert kinds == ["weight_verified", "resumed"]
    assert engine.state.drift is None and engine.state.stop_reason is None
    await engine.advance()
    assert router.shifts == [5.0, 50.0] and engine.state.stage is not None
    assert engine.state.stage.id == "half"
    await engine.aclose()
    assert verify_file(tmp_path / "s" / "events.jsonl").ok


async def test_a_router_set_to_zero_mid_hold_is_caught_while_holding(tmp_path: Path) -> None:
    clock, router = Clock(), Router()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, traffic=router)
    engine.start()
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 300)
    assert router.reads >= 10 and engine.state.phase == Phase.HOLDING  # read each interval
    router.real = 0.0  # the canary gets no traffic: without the check, a hold without data
    await poll_for(engine, clock, 15)
    drifts = [e for e in engine.journal.read() if isinstance(e.body, WeightDrifted)]
    assert len(drifts) == 1 and drifts[0].body.before == "hold" and drifts[0].actor == "gonogo"
    assert drifts[0].body.describe().startswith("weight drifted: journal 5 %, gateway 0 % (read 0); "
                                                "reality check held the rollout at stage canary")
    s = engine.state
    assert s.phase == Phase.PAUSED and s.drift == "weight drifted: journal 5 %, gateway 0 %"
    reads = router.reads
    await poll_for(engine, clock, 1800)  # held: no hold runs out, no repeated drift, no shift
    assert engine.state.phase == Phase.PAUSED and router.reads == reads and router.shifts == [5.0]
    assert sum(isinstance(e.body, WeightDrifted) for e in engine.journal.read()) == 1
    await engine.aclose()


async def test_a_drift_is_detected_on_resume_and_the_fold_replays_it(tmp_path: Path) -> None:
    engine, router, clock = await at_canary_ready(tmp_path)
    await engine.aclose()  # the driver stops (a dropped SSH connection)
    router.real = 25.0
    again = make_engine(write_plan(tmp_path), tmp_path / "s", clock, traffic=router)
    again.start()
    with pytest.raises(EngineRefused, match="weight drifted: journal 5 %, gateway 25 %"):
        await again.recover()
    last = again.journal.read()[-1]
    assert isinstance(last.body, WeightDrifted) and last.body.before == "resume"
    assert again.state.phase == Phase.PAUSED and router.shifts == [5.0]
    assert fold(again.journal.read(), again.plan) == again.state
    await again.aclose()
    # Restarted after the weight was set back: verified, and the drift's hold ends.
    router.real = 5.0
    third = make_engine(write_plan(tmp_path), tmp_path / "s", clock, traffic=router)
    third.start()
    await third.recover()
    tail = third.journal.read()[-2:]
    assert [e.kind for e in tail] == ["weight_verified", "resumed"]
    assert all(e.actor == "gonogo" for e in tail)
    assert third.state.phase == Phase.READY and third.state.drift is None
    await third.aclose()


async def test_an_unreadable_weight_is_a_failed_shift_and_nothing_moves(tmp_path: Path) -> None:
    engine, router, _ = await at_canary_ready(tmp_path)
    router.broken = "cannot connect to http://127.0.0.1:9/admin/state"
    await engine.advance()
    s = engine.state
    assert router.shifts == [5.0] and s.phase == Phase.READY and s.shift_failures == 1
    assert "could not read the current weight from the gateway" in (s.traffic_error or "")
    with pytest.raises(EngineRefused, match="not resuming on an unverified weight"):
        await engine.recover()
    router.broken = ""
    await engine.advance()
    assert router.shifts == [5.0, 50.0]
    await engine.aclose()


async def test_a_failed_shift_that_landed_anyway_is_not_a_drift(tmp_path: Path) -> None:
    engine, router, _ = await at_canary_ready(tmp_path)

    async def lost_answer(weight: float, stage: str, release: str) -> Shift:
        router.real = weight  # the router applied it, but the answer timed out
        return Shift(False, weight, "timed out waiting for the router")

    real_shift = router.shift
    router.shift = lost_answer  # type: ignore[method-assign]
    await engine.advance()
    assert engine.state.traffic_error and router.real == 50.0
    router.shift = real_shift  # type: ignore[method-assign]
    await engine.advance()  # 50 % is the intended weight: the retry goes ahead
    assert router.shifts == [5.0, 50.0] and engine.state.drift is None
    await engine.aclose()


async def test_before_the_first_shift_and_with_a_manual_driver_nothing_is_read(tmp_path: Path) -> None:
    clock, router = Clock(), Router()
    router.real = 100.0  # left there by the previous release: this session believes nothing yet
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, traffic=router)
    engine.start()
    await engine.run_checks()
    await engine.advance()
    assert router.reads == 0 and router.shifts == [5.0]
    await engine.aclose()
    plan = load_plan(write_plan(tmp_path, driver="manual", name="manual.toml"))
    ctx = make_context(plan)
    assert await make_driver(plan, ctx).read("canary", "r") is None
    await ctx.aclose()


async def test_command_driver_get_reads_what_the_router_holds(tmp_path: Path) -> None:
    state = tmp_path / "router-weight"
    plan_path = write_plan(tmp_path)
    text = plan_path.read_text().replace(
        f'command = ["sh", "-c", "echo {{weight}} >> {tmp_path / "weights.log"}"]',
        f'command = ["sh", "-c", "echo {{weight}} > {state}"]\n'
        f'get = ["sh", "-c", "cat {state}; echo %"]')
    assert "get = " in text
    plan_path.write_text(text)
    clock = Clock()
    engine = make_engine(plan_path, tmp_path / "s", clock)
    engine.start()
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 1800)
    state.write_text("0\n")  # kubectl annotate by hand, behind gonogo's back
    with pytest.raises(EngineRefused, match="weight drifted: journal 5 %, router 0 %"):
        await engine.advance()
    assert state.read_text() == "0\n"  # not "fixed" by shifting
    drift = engine.journal.read()[-1].body
    assert isinstance(drift, WeightDrifted) and "sh printed 0" in drift.detail
    await engine.aclose()


async def test_command_driver_get_failures_are_reported(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, extra=""))
    for get, expected in (
        (["sh", "-c", "echo 'no such ingress' >&2; exit 3"], "sh exited 3: no such ingress"),
        (["sh", "-c", "echo annotated"], "sh printed 'annotated' is not a weight"),
        (["sh", "-c", "echo 250"], "not a weight between 0 and 100"),
        (["/nonexistent/kubectl"], "cannot start /nonexistent/kubectl"),
    ):
        import msgspec

        traffic = msgspec.structs.replace(plan.rollout.traffic, get=tuple(get))
        doc = msgspec.structs.replace(plan.doc, rollout=msgspec.structs.replace(plan.rollout, traffic=traffic))
        p = msgspec.structs.replace(plan, doc=doc)
        ctx = make_context(p)
        reading = await make_driver(p, ctx).read("canary", "r")
        assert reading is not None and reading.weight is None and expected in reading.detail, reading
        await ctx.aclose()


async def test_http_driver_get_url_reads_a_json_field_with_the_token(tmp_path: Path) -> None:
    seen: list[str] = []
    weight = {"value": 5}

    async def state(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"spec": {"routes": [{"weight": 95}, {"weight": weight["value"]}]}})

    async def hook(request: web.Request) -> web.Response:
        weight["value"] = (await request.json())["weight"]
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/routes", state)
    app.router.add_post("/canary", hook)
    async with serve(app) as base:
        plan_path = write_plan(tmp_path)
        text = plan_path.read_text()
        start, end = text.index("[rollout.traffic]"), text.index("[[rollout.stages]]")
        plan_path.write_text(text[:start] + f"""[rollout.traffic]
driver = "http"
url = "{base}/canary"
token = "env:ROUTER_TOKEN"
get_url = "{base}/routes?token=ignored"
get_field = "spec.routes.1.weight"

""" + text[end:])
        plan = load_plan(plan_path)
        ctx = make_context(plan, environ={"ROUTER_TOKEN": TOKEN})
        reading = await make_driver(plan, ctx).read("canary", "r")
        assert reading is not None and reading.weight == 5.0 and reading.where == "router"
        assert reading.detail == f"GET {base}/routes: spec.routes.1.weight 5"  # no query shown
        assert seen == [f"Bearer {TOKEN}"]
        await ctx.aclose()
        clock = Clock()
        engine = make_engine(plan, tmp_path / "s", clock)
        engine._context_factory = lambda: make_context(plan, environ={"ROUTER_TOKEN": TOKEN})
        engine.start()
        await engine.run_checks()
        await engine.advance()
        await poll_for(engine, clock, 1800)
        weight["value"] = 12
        with pytest.raises(EngineRefused, match="journal 5 %, router 12 %"):
            await engine.advance()
        assert weight["value"] == 12
        await engine.aclose()


def test_parse_weight_accepts_numbers_and_percent_text_only() -> None:
    assert parse_weight(5) == 5.0 and parse_weight(" 12.5% \n") == 12.5 and parse_weight("0") == 0.0
    for bad in (True, None, "five", "", "nan", 101, -1, [5]):
        with pytest.raises(ValueError):
            parse_weight(bad)


def test_get_keys_belong_to_their_driver(tmp_path: Path) -> None:
    plan_path = write_plan(tmp_path, driver="sandbox")
    text = plan_path.read_text().replace('[rollout.traffic]\n', '[rollout.traffic]\nget_url = "http://x/state"\n'
                                                                 f'get = ["{sys.executable}"]\n')
    plan_path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_plan(plan_path)
    rendered = info.value.render()
    assert "rollout.traffic.get_url: only the http driver reads the weight from get_url; the sandbox " \
           "driver reads GET /admin/state on its admin address by itself" in rendered
    assert "rollout.traffic.get: only the command driver reads the weight with an argv" in rendered


async def test_the_journal_never_holds_the_read_token(tmp_path: Path) -> None:
    engine, router, _ = await at_canary_ready(tmp_path)
    engine.ctx.redactor.add(TOKEN)
    router.real = 50.0
    router_read = router.read

    async def chatty(stage: str, release: str) -> WeightReading | None:
        reading = await router_read(stage, release)
        assert reading is not None
        return WeightReading(reading.weight, f"GET http://gw/state?token={TOKEN}", reading.where)

    router.read = chatty  # type: ignore[method-assign]
    with pytest.raises(EngineRefused):
        await engine.advance()
    await engine.aclose()
    text = (tmp_path / "s" / "events.jsonl").read_text()
    assert TOKEN not in text and "weight_drifted" in text
    assert isinstance(engine.journal.read()[-1].body, WeightDrifted)
    assert not any(isinstance(e.body, WeightVerified) for e in engine.journal.read())


def test_judge_is_pure_and_names_what_it_read(tmp_path: Path) -> None:
    from gonogo.rollout.reality import believes, judge
    from gonogo.rollout.stages import plan_stages
    from gonogo.rollout.state import initial_state

    plan = load_plan(write_plan(tmp_path))
    stages = plan_stages(plan)
    fresh = initial_state(plan)
    assert not believes(fresh)
    import dataclasses

    at5 = dataclasses.replace(fresh, phase=Phase.READY, stage_index=0, weight_confirmed=5.0,
                              weight_intended=5.0)
    assert judge(at5, WeightReading(5.4, "read", "gateway"), stages, "advance", 1).events == ()
    out = judge(at5, WeightReading(6.0, "read", "gateway"), stages, "advance", 1)
    assert not out.go_on and out.refusal.startswith("weight drifted: journal 5 %, gateway 6 %")
    assert [type(b).__name__ for b in out.events] == ["WeightDrifted"]
    blind = judge(at5, WeightReading(None, "HTTP 502", "gateway"), stages, "hold")
    assert blind.go_on and blind.events == ()  # the next advance reads again
    resume = judge(at5, WeightReading(None, "HTTP 502", "gateway"), stages, "resume")
    assert not resume.go_on and "not resuming on an unverified weight" in resume.refusal
    shifting = dataclasses.replace(at5, phase=Phase.SHIFTING, target_index=1, weight_intended=50.0)
    assert judge(shifting, WeightReading(50.0, "read"), stages, "resume").go_on  # it landed
    abandoned = judge(shifting, WeightReading(0.0, "read"), stages, "resume")
    assert [type(b).__name__ for b in abandoned.events] == ["TrafficFailed", "WeightDrifted"]


async def test_a_drift_is_a_critical_notification_until_verified(tmp_path: Path) -> None:
    from gonogo.notify.rules import End, Notification, Where, effects

    engine, router, clock = await at_canary_ready(tmp_path)
    router.real = 0.0
    with pytest.raises(EngineRefused):
        await engine.advance()
    where = Where(engine.plan, tmp_path / "s")
    drift = engine.journal.read()[-1]
    notes = [n for n in effects(drift, engine.state, where) if isinstance(n, Notification)]
    assert [(n.event, n.severity, n.lasting) for n in notes] == [("weight_drifted", "critical", True)]
    assert notes[0].summary.startswith("weight drifted: journal 5 %, gateway 0 %")
    router.real = 5.0
    await engine.resume("set back")
    verified = engine.journal.read()[-2]
    assert verified.kind == "weight_verified"
    ends = [e for e in effects(verified, engine.state, where) if isinstance(e, End)]
    assert [e.event for e in ends] == ["weight_drifted"]
    await engine.aclose()
