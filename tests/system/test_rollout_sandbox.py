"""Acceptance: `gonogo rollout` against the running sandbox fleet.

`healthy` at --speed 120 reaches stable with the full sandbox.toml and no stop
criterion ever trips (at 100 % the ratio rules judge against the baseline measured
at 50 %, and say so); each canary fault trips its own criterion in the first stage
where the fault shows (auth-failures, failed-writes and queue-backlog at the 5 %
canary, canary-regression, which only regresses from 25 %, at 25 %) and rolls back
(exit 3, traffic at 0, an incident naming the criterion with its values). Fault runs
use a copy of sandbox.toml trimmed to the checks the stages and runbook name, with
shorter holds, to keep the module's run time down. With `[canary] source =
"prometheus"` against the fleet's real Prometheus, a healthy rollout reaches stable
and canary-regression rolls back. A real Prometheus that goes away mid-canary makes
the analysis inconclusive (no advance) until it returns.
"""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.journal import FileJournal, read_events
from gonogo.rollout.state import Phase
from gonogo.sandbox.fleet import FleetThread
from gonogo.sandbox.pgcluster import free_port
from support.fleet import SandboxFiles, admin, start_fleet, trimmed
from support.rollout import run_cli
from support.servers import need_server

pytestmark = pytest.mark.timeout(300)
SPEED = 120.0
FAULTS = {
    "canary-regression": "http-5xx",
    "auth-failures": "auth-failures",
    "queue-backlog": "queue-lag",
    "failed-writes": "failed-writes",
}
# The stage each fault is caught in: the first where it shows (sandbox scenarios).
FAULT_STAGE = {"canary-regression": "canary", "auth-failures": "canary", "queue-backlog": "canary",
               "failed-writes": "canary"}
# The module's runs take minutes at --speed 120; under ``--dist loadgroup`` they are
# spread over three workers, each with its own fleet (free ports, its own temp dirs).
HEALTHY, FAULTS_A, FAULTS_B = (pytest.mark.xdist_group(f"rollout_sandbox-{n}") for n in "123")
FAULT_GROUP = {"canary-regression": FAULTS_A, "failed-writes": FAULTS_A,
               "auth-failures": FAULTS_B, "queue-backlog": FAULTS_B}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    thread, files = start_fleet(tmp_path_factory.mktemp("sandbox"), speed=SPEED)
    try:
        yield thread, files
    finally:
        thread.stop()


def reset(thread: FleetThread, scenario: str) -> None:
    assert admin(thread, "POST", "/admin/scenario", {"scenario": scenario}).status_code == 200
    assert admin(thread, "POST", "/admin/weight", {"weight": 0}).status_code == 200


@HEALTHY
async def test_healthy_rollout_reaches_stable_without_false_positives(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    reset(thread, "healthy")
    session = tmp_path / "s"
    rc, out, err = await run_cli("rollout", "--config", str(files.config), "--session", str(session),
                                 "--yes", "--auto-signoff", "--speed", str(SPEED), "--actor", "Rosa Diaz", timeout=240)
    assert rc == 0, err[-2000:]
    events = read_events(session)
    assert not [e.data for e in events if e.kind == "criterion_tripped"]
    assert not [e.data for e in events if e.kind == "stalled"]
    assert admin(thread, "GET", "/admin/state").json()["weight"] == 100.0
    # at 100 % the baseline serves nothing: the 5xx rule judges against the 50 % one
    at_full = [e for e in events if e.kind == "samples" and e.data.get("carried")]
    assert at_full and all(e.data["carried"]["http-5xx"] == "ramp-50" for e in at_full)
    assert "(* baseline from ramp-50)" in out
    stages = [s["id"] for s in tomllib.loads(files.config.read_text())["rollout"]["stages"]]
    assert [e.data["stage"] for e in events if e.kind == "stage_entered"] == stages
    # Every judgement of every stop metric during the rollout, replayed from the log.
    plan = load_plan(files.config)
    from gonogo.rollout.state import apply, initial_state

    state, bad = initial_state(plan), []
    for e in events:
        state = apply(state, e, plan)
        if e.kind == "samples":
            bad += [ev.reason for ev in state.evaluations.values() if ev.stop and ev.state == "tripped"]
    assert bad == []
    assert (await run_cli("log", "verify", str(session)))[0] == 0
    for fmt in ("toml", "json"):
        target = tmp_path / f"log.{fmt}"
        assert (await run_cli("log", "export", str(session), "--format", fmt, "--out", str(target)))[0] == 0
        doc: dict[str, Any] = (tomllib.loads if fmt == "toml" else json.loads)(target.read_text())
        transitions = [e for e in doc["events"] if e["kind"] in ("advance_confirmed", "stage_entered",
                                                                  "release_stable")]
        assert [e["data"]["stage"] for e in transitions if e["kind"] == "stage_entered"] == stages
        assert all(e["actor"] == "Rosa Diaz" and e["utc"] and e["time"] > 0 for e in transitions)
        assert transitions[-1]["kind"] == "release_stable"


@pytest.mark.parametrize("scenario", [pytest.param(f, marks=FAULT_GROUP[f]) for f in FAULTS])
async def test_canary_fault_trips_its_criterion_and_rolls_back(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path, scenario: str
) -> None:
    thread, files = fleet
    reset(thread, "healthy")
    # Staging (weight 0, no analysis) soaks long enough for the fleet's window of
    # recent canary traffic (>= 12 real seconds) to forget the previous test's fault.
    plan_path = trimmed(files, tmp_path / "plan.toml", holds={"staging": "42m", "canary": "10m"})
    plan = load_plan(plan_path)
    reset(thread, scenario)
    session = tmp_path / "s"
    rc, out, err = await run_cli("rollout", "--config", str(plan_path), "--session", str(session),
                                 "--yes", "--auto-signoff", "--speed", str(SPEED), timeout=200)
    assert rc == 3, f"{scenario}: exit {rc}\n{out[-3000:]}\n{err[-1500:]}"
    events = read_events(session)
    trips = [e for e in events if e.kind == "criterion_tripped"]
    assert trips and trips[0].data["metric"] == FAULTS[scenario], [t.data["reason"] for t in trips]
    stage = [e.data["stage"] for e in events if e.kind == "stage_entered" and e.seq < trips[0].seq][-1]
    assert stage == FAULT_STAGE[scenario], f"{scenario} tripped at {stage}"
    assert admin(thread, "GET", "/admin/state").json()["weight"] == 0.0
    assert [e.data["weight"] for e in events if e.kind == "traffic_confirmed"][-1] == 0.0
    incident = json.loads(next((session / "incidents").glob("*.json")).read_text())
    crit = incident["criterion"]
    assert crit["metric"] == FAULTS[scenario] and crit["canary"] is not None
    md = next((session / "incidents").glob("*.md")).read_text()
    assert FAULTS[scenario] in md and "canary" in md
    if scenario == "canary-regression":
        metric = next(m for m in plan.canary.metrics if m.id == "http-5xx")
        assert crit["baseline"] is not None
        start = next(e for e in events if e.kind == "rollback_started")
        # From the first poll judged in breach (the rule saw enough samples and requests
        # to judge, and the canary crossed 2x baseline) to the rollback: the rule's
        # duration and a poll, not more.
        from gonogo.rollout.state import apply, initial_state

        state, first_bad = initial_state(plan), None
        for e in events:
            state = apply(state, e, plan)
            if e.seq >= start.seq:
                break
            ev = state.evaluations.get("http-5xx")
            if e.kind == "samples" and ev is not None:
                if ev.state in ("breaching", "tripped"):
                    first_bad = first_bad or e
                elif ev.state == "ok":
                    first_bad = None  # a poll under the limit ends the run (a gap does not)
        assert first_bad is not None
        polls = [e for e in events if e.kind == "samples" and e.seq < first_bad.seq]
        before = polls[-1].time if polls else first_bad.time
        poll_s = max(0.2, plan.canary.interval.seconds / SPEED)
        assert start.time - before <= metric.duration.seconds / SPEED + poll_s + 0.5


@FAULTS_B
async def test_prometheus_unreachable_mid_canary_blocks_until_it_returns(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    from gonogo.sandbox.standins.prometheus import PrometheusServer

    reason = PrometheusServer.missing_reason()
    if reason:
        need_server(f"Prometheus not available: {reason}")
    thread, files = fleet
    reset(thread, "healthy")
    sandbox = tomllib.loads(files.config.read_text())
    gateway = sandbox["integrations"]["gateway"]
    layout_targets = {"api-gateway": [gateway["public_url"].removeprefix("http://").rstrip("/")]}
    port = free_port()
    plan_path = tmp_path / "prom.toml"
    plan_path.write_text(f"""
[release]
name = "{sandbox["release"]["name"]}"
commit = "{sandbox["release"]["commit"]}"

[owners]
release_manager = "Rosa Diaz"

[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "ok"
  title = "ok"
  kind = "command"
  argv = ["true"]

[integrations.prometheus]
url = "http://127.0.0.1:{port}"

[integrations.gateway]
public_url = "{gateway["public_url"]}"
admin_url = "{gateway["admin_url"]}"

[rollout.traffic]
driver = "sandbox"

[[rollout.stages]]
id = "canary"
weight = 5
hold = "0s"

[[rollout.stages]]
id = "full"
weight = 100
hold = "0s"

[canary]
source = "prometheus"
interval = "1s"
step = "1s"

[[canary.metrics]]
id = "gateway-up"
title = "gateway scraped"
canary = 'up{{job="api-gateway"}}'
rule = "above"
threshold = 5
duration = "5m"
min_samples = 2
""")
    plan = load_plan(plan_path)
    engine = Engine(plan, FileJournal(tmp_path / "s"), clock=time.time,
                    actor="Rosa Diaz", session_dir=str(tmp_path / "s"))
    server = PrometheusServer(layout_targets, port=port, scrape_interval="1s")
    server.start()
    try:
        server.wait_for_scrapes()
        engine.start()
        await engine.run_checks()
        await engine.advance()

        async def settle(state: str) -> str:
            for _ in range(40):
                await engine.tick()
                if engine.state.evaluations["gateway-up"].state == state:
                    break
                await asyncio.sleep(0.25)  # waiting on Prometheus's scrapes, not on a hold
            return engine.state.evaluations["gateway-up"].state

        assert await settle("ok") == "ok"
        assert engine.advance_preview().can_advance
        server.stop()
        assert await settle("inconclusive") == "inconclusive"
        ev = engine.state.evaluations["gateway-up"]
        assert "unreachable" in ev.reason.lower() or "connect" in ev.reason.lower(), ev.reason
        with pytest.raises(EngineRefused, match="inconclusive"):
            await engine.advance()
        assert engine.state.phase == Phase.READY  # held, not rolled back
        server = PrometheusServer(layout_targets, port=port, scrape_interval="1s")
        server.start()
        server.wait_for_scrapes()
        assert await settle("ok") == "ok"
        await engine.advance()
        assert engine.state.stage is not None and engine.state.stage.id == "full"
    finally:
        server.stop()
        await engine.aclose()


def prometheus_plan(files: SandboxFiles, out: Path) -> Path:
    """sandbox.toml judged from the fleet's real Prometheus: the same PromQL with 20 s
    windows (Prometheus lives in real time; at --speed 120 a 1-minute window would
    span most of the rollout), the canary and ramp stages only."""
    trimmed(files, out, holds={})
    doc = tomlkit.parse(out.read_text(encoding="utf-8"))
    data = doc.unwrap()
    data["canary"]["source"] = "prometheus"
    data["canary"]["requests"] = data["canary"]["requests"].replace("[1m]", "[20s]")
    for m in data["canary"]["metrics"]:
        for key in ("canary", "baseline"):
            if key in m:
                m[key] = m[key].replace("[1m]", "[20s]")
    holds = {"canary": "10m", "ramp-25": "30m", "ramp-50": "5m", "full": "10m"}
    data["rollout"]["stages"] = [{**st, "hold": holds[st["id"]]} for st in data["rollout"]["stages"]
                                 if st["id"] in holds]
    out.write_text(tomlkit.dumps(data), encoding="utf-8")
    load_plan(out)
    return out


def prom_query(url: str, query: str) -> list[Any]:
    import httpx

    resp = httpx.get(url + "/api/v1/query", params={"query": query}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["data"]["result"])


@HEALTHY
async def test_prometheus_source_healthy_reaches_stable_and_a_regression_rolls_back(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    if any("Prometheus" in note for note in thread.fleet.notes):
        need_server("; ".join(thread.fleet.notes))
    reset(thread, "healthy")
    plan_path = prometheus_plan(files, tmp_path / "prom.toml")
    started = time.monotonic()
    rc, out, err = await run_cli("rollout", "--config", str(plan_path), "--session", str(tmp_path / "ok"),
                                 "--yes", "--speed", str(SPEED), timeout=200)
    healthy_s = time.monotonic() - started
    assert rc == 0, f"exit {rc}\n{out[-3000:]}\n{err[-1500:]}"
    events = read_events(tmp_path / "ok")
    assert [e.data["stage"] for e in events if e.kind == "stage_entered"] == ["canary", "ramp-25", "ramp-50",
                                                                             "full"]
    assert not [e for e in events if e.kind in ("criterion_tripped", "stalled")]
    # the 5xx ratio read 0 (not "no data") while the canary had traffic and no 5xx
    polls = [e.data["values"]["http-5xx"] for e in events if e.kind == "samples"]
    assert polls and all(p is not None and p[0] == 0.0 for p in polls), polls[:5]
    assert any(e.data.get("carried", {}).get("http-5xx") == "ramp-50" for e in events if e.kind == "samples")

    # The PromQL shapes, on the same Prometheus: a ratio whose numerator has no series
    # (no request ever answered 599) is an empty vector; `or vector(0)` reads 0 over a
    # denominator with traffic, and stays empty over one without.
    prom = tomllib.loads(files.config.read_text())["integrations"]["prometheus"]["url"]
    num = 'sum(rate(http_requests_total{track="%s",code="599"}[20s]))'
    den = 'sum(rate(http_requests_total{track="%s"}[20s]))'
    assert prom_query(prom, f"{num % 'canary'} / {den % 'canary'}") == []
    fixed = prom_query(prom, f"({num % 'canary'} or vector(0)) / {den % 'canary'}")
    assert [float(r["value"][1]) for r in fixed] == [0.0]
    assert prom_query(prom, f"({num % 'nobody'} or vector(0)) / {den % 'nobody'}") == []

    reset(thread, "canary-regression")
    rc, out, err = await run_cli("rollout", "--config", str(plan_path), "--session", str(tmp_path / "bad"),
                                 "--yes", "--speed", str(SPEED), timeout=200)
    assert rc == 3, f"exit {rc}\n{out[-3000:]}\n{err[-1500:]}"
    events = read_events(tmp_path / "bad")
    trips = [e for e in events if e.kind == "criterion_tripped"]
    assert trips and trips[0].data["metric"] == "http-5xx", [t.data["reason"] for t in trips]
    stage = [e.data["stage"] for e in events if e.kind == "stage_entered" and e.seq < trips[0].seq][-1]
    # the regression starts with the canary's first traffic; the Prometheus source sees it
    # a scrape or two later, so on a busy machine it may trip early in the next stage
    assert stage in ("canary", "ramp-25"), f"tripped at {stage}"
    assert admin(thread, "GET", "/admin/state").json()["weight"] == 0.0
    print(f"prometheus source at x{SPEED:g}: healthy to stable in {healthy_s:.1f}s; "
          f"canary-regression tripped at {[e.data['stage'] for e in events if e.kind == 'stage_entered'][-1]}")
