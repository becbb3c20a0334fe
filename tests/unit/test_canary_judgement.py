"""Canary analysis that never waits in silence: no-data vs zero, the baseline at 100 %,
enough canary requests to judge, stalls past ``max_inconclusive`` and what
``on_inconclusive`` then does, dry-run metrics that never block. Pure rules, the fold,
and the engine on an injected clock with a scripted source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gonogo.config import Canary, CanaryMetric, ConfigError, load_plan
from gonogo.rollout.analysis import Sample, evaluate, seed_stop_criteria, stall_limit_s
from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.events import (
    CriterionTripped,
    RollbackProposed,
    Samples,
    Stalled,
    decode,
    encode,
)
from gonogo.rollout.export import describe
from gonogo.rollout.journal import make_event
from gonogo.rollout.metrics import PrometheusSource, SandboxSource
from gonogo.rollout.state import Phase, fold
from gonogo.values import Duration
from support.loopback import serve
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan


def metric(**kw: Any) -> CanaryMetric:
    base: dict[str, Any] = {"id": "m", "canary": "q", "baseline": "b", "rule": "ratio_above",
                            "duration": Duration(300.0), "min_samples": 3}
    base.update(kw)
    return CanaryMetric(**base)


def polls(values: list[tuple[float | None, float | None, float | None]], step: float = 15.0) -> list[Sample]:
    """(canary, baseline, canary requests) per poll."""
    return [Sample(i * step, c, b, requests=n) for i, (c, b, n) in enumerate(values)]


async def start(engine: Engine) -> None:
    engine.start(speed=1.0)
    await engine.run_checks()
    assert engine.verdict().go


# -- enough canary traffic to judge (pure) ------------------------------------------
def test_too_few_canary_requests_is_inconclusive_with_the_count() -> None:
    m = metric(rule="above", threshold=0.02, min_requests=200)
    ev = evaluate(m, polls([(0.0, 0.0, 14.0)] * 5))
    assert ev.state == "inconclusive" and ev.reason == "canary saw 14 requests < 200"
    assert ev.requests == 14.0
    assert evaluate(m, polls([(0.0, 0.0, 250.0)] * 5)).state == "ok"
    unknown = evaluate(m, polls([(0.0, 0.0, None)] * 5))
    assert unknown.state == "inconclusive" and "request count unknown" in unknown.reason
    # the [canary] default applies unless the metric sets its own (0: no minimum)
    assert evaluate(metric(rule="above"), polls([(0.0, 0.0, 3.0)] * 5), min_requests=50).state == "inconclusive"
    assert evaluate(metric(rule="above"), polls([(0.0, 0.0, 3.0)] * 5), min_requests=0).state == "ok"


def test_a_breach_on_too_little_traffic_is_no_evidence_but_a_failed_write_is() -> None:
    m = metric(rule="above", threshold=0.02, min_requests=100, duration=Duration(60.0))
    ev = evaluate(m, polls([(0.07, 0.0, 14.0)] * 10))  # 1 of 14: not a breach to act on
    assert ev.state == "inconclusive" and "14 requests < 100" in ev.reason
    writes = metric(rule="nonzero", min_requests=100, duration=Duration(0.0), min_samples=1)
    assert evaluate(writes, polls([(1.0, 0.0, 9.0)])).state == "tripped"  # one failed write is one
    assert evaluate(writes, polls([(0.0, 0.0, 9.0)])).state == "inconclusive"  # zero of 9 says little
    # a thin stretch inside a breach run is a gap: it neither resets nor extends the run
    run = polls([(0.07, 0.0, 150.0)] * 3 + [(0.07, 0.0, 20.0)] * 2 + [(0.07, 0.0, 150.0)] * 2)
    assert evaluate(m, run).state == "tripped"


def test_stall_limit_defaults_to_the_stage_hold_with_a_floor() -> None:
    m = metric(min_samples=3)
    assert stall_limit_s(Canary(interval=Duration(15.0)), m, 1800.0) == 1800.0
    assert stall_limit_s(Canary(interval=Duration(15.0)), m, 0.0) == 75.0  # (3 + 2) polls
    assert stall_limit_s(Canary(max_inconclusive=Duration(120.0)), m, 1800.0) == 120.0


# -- baselines ------------------------------------------------------------------------
def test_a_carried_baseline_is_judged_and_named() -> None:
    m = metric(factor=2.0, threshold=0.001)
    samples = [Sample(i * 15.0, 0.002, 0.0015, baseline_from="ramp-50") for i in range(4)]
    ev = evaluate(m, samples)
    assert ev.state == "ok" and ev.baseline_from == "ramp-50"
    assert "vs baseline 0.0015 (from ramp-50)" in ev.reason
    assert ev.to_dict()["baseline_from"] == "ramp-50"


def test_the_log_line_shows_a_missing_baseline_and_a_carried_one() -> None:
    polled = Samples(values={"http-5xx": (0.0, None), "queue-lag": None, "auth": (0.01, 0.0)})
    assert describe(make_event(1, 0.0, "ada", polled, "0" * 64)) == (
        "metrics (canary/baseline): http-5xx=0/none, queue-lag=n/a, auth=0.01/0")
    carried = Samples(values={"http-5xx": (0.0, 0.001), "auth": (0.0, None)}, carried={"http-5xx": "ramp-50"})
    assert describe(make_event(1, 0.0, "ada", carried, "0" * 64)) == (
        "metrics (canary/baseline): http-5xx=0/0.001*, auth=0/none (* baseline from ramp-50)")
    # fields unused by an event are not recorded; used ones read back
    assert encode(Samples(values={"a": (1.0, 2.0)})) == {"values": {"a": [1.0, 2.0]}, "errors": {}}
    full = Samples(values={"a": (1.0, 2.0)}, requests={"a": 312.0}, carried={"a": "ramp-50"})
    assert decode("samples", encode(full)) == full


def plan_with_full_analysis(tmp: Path, **kw: Any) -> Path:
    path = write_plan(tmp, **kw)
    text = path.read_text().replace('weight = 100\nhold = "15m"\nanalysis = false', 'weight = 100\nhold = "15m"')
    path.write_text(text)
    return path


async def test_at_100_percent_ratio_rules_use_the_last_baseline_measured_with_traffic(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource({"http-5xx": (0.002, 0.0015), "failed-writes": (0.0, 0.0)})
    engine = make_engine(plan_with_full_analysis(tmp_path), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 1800)
    await engine.advance()
    source.values["http-5xx"] = (0.002, 0.001)  # the last baseline measured at 50 %
    await poll_for(engine, clock, 900)
    source.baseline_traffic = False  # at 100 % the baseline gets no traffic
    await engine.advance()
    assert engine.state.stage is not None and engine.state.stage.id == "full"
    await poll_for(engine, clock, 900)
    ev = engine.state.evaluations["http-5xx"]
    assert ev.state == "ok" and ev.baseline == 0.001 and ev.baseline_from == "half"
    assert engine.state.phase == Phase.READY and not engine.state.stalled
    last = [e for e in engine.journal.read() if isinstance(e.body, Samples)][-1]
    assert last.body.carried == {"http-5xx": "half"} and last.body.values["http-5xx"] == (0.002, 0.001)
    assert "(* baseline from half)" in describe(last)
    # a regression at 100 % is still caught against the carried baseline
    source.values["http-5xx"] = (0.05, None)
    await poll_for(engine, clock, 600, until=lambda: engine.state.phase != Phase.READY)
    trip = next(e.body for e in engine.journal.read() if isinstance(e.body, CriterionTripped))
    assert trip.metric == "http-5xx" and trip.baseline == 0.001 and "(from half)" in trip.reason
    # a resume folds the same judgement from the journal
    assert fold(engine.journal.read(), engine.plan).evaluations == engine.state.evaluations
    await engine.aclose()


async def test_at_100_percent_without_any_earlier_baseline_it_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(plan_with_full_analysis(tmp_path).read_text().replace(
        'weight = 5\nhold = "30m"', 'weight = 100\nhold = "30m"'))
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    source.baseline_traffic = False
    engine = make_engine(path, tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 300)
    ev = engine.state.evaluations["http-5xx"]
    assert ev.state == "inconclusive"
    assert ev.reason == ("no baseline: the baseline gets no traffic at 100% and no earlier stage "
                         "measured it")
    await engine.aclose()


# -- stalls ---------------------------------------------------------------------------
async def test_a_stall_is_journaled_visible_and_cleared_and_hold_keeps_waiting(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 300)
    source.down = True
    await poll_for(engine, clock, 1795)
    assert engine.state.stalled == {}  # not yet: max_inconclusive is the 30-minute hold
    await poll_for(engine, clock, 30)
    stalls = [e for e in engine.journal.read() if isinstance(e.body, Stalled)]
    assert {e.body.metric for e in stalls} == {"http-5xx", "failed-writes"}
    assert describe(stalls[0]).startswith(
        "stalled: http-5xx: no data: cannot connect to metrics source (inconclusive for 30m")
    assert stalls[0].body.action == "hold" and stalls[0].body.stage == "canary"
    assert engine.state.stalled["http-5xx"] == "no data: cannot connect to metrics source"
    assert engine.state.phase == Phase.HOLDING  # hold: keep waiting, visibly
    await poll_for(engine, clock, 600)
    assert len([e for e in engine.journal.read() if isinstance(e.body, Stalled)]) == 2  # once per stall
    source.down = False
    await poll_for(engine, clock, 45)
    assert engine.state.stalled == {}
    assert fold(engine.journal.read(), engine.plan).stalled == {}
    await engine.aclose()


async def test_too_few_requests_stalls_the_hold_with_the_count(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    source.requests = 14.0
    plan = write_plan(tmp_path, extra="")
    plan.write_text(plan.read_text().replace('on_inconclusive = "hold"',
                                             'on_inconclusive = "hold"\nmin_requests = 200\nmax_inconclusive = "10m"'))
    engine = make_engine(plan, tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 900)
    assert engine.state.stalled["http-5xx"] == "canary saw 14 requests < 200"
    pv = engine.advance_preview()
    assert "metric http-5xx inconclusive: canary saw 14 requests < 200" in pv.blockers
    assert pv.hold_elapsed_s < 60  # time without enough traffic to judge is not hold time
    source.requests = 400.0
    await poll_for(engine, clock, 60)
    assert engine.state.stalled == {} and engine.state.evaluations["http-5xx"].state == "ok"
    await engine.aclose()


async def test_on_inconclusive_propose_asks_once_with_the_reason(tmp_path: Path) -> None:
    clock = Clock()
    source = ScriptedSource(HEALTHY)
    engine = make_engine(write_plan(tmp_path, on_inconclusive="propose"), tmp_path / "s", clock, source)
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 120)
    source.down = True
    await poll_for(engine, clock, 3600, until=lambda: engine.state.rollback_proposed)
    s = engine.state
    assert s.phase == Phase.PAUSED and s.rollback_proposed
    assert (s.stop_reason or "").startswith("stalled: http-5xx: no data: cannot connect")
    proposed = [e.body for e in engine.journal.read() if isinstance(e.body, RollbackProposed)]
    assert len(proposed) == 1 and proposed[0].metric == "http-5xx"
    assert not any(isinstance(e.body, CriterionTripped) for e in engine.journal.read())
    await engine.resume("declined: Prometheus is being restarted")
    await poll_for(engine, clock, 300)
    assert engine.state.phase == Phase.HOLDING and "http-5xx" in engine.state.stalled
    assert len([e for e in engine.journal.read() if isinstance(e.body, RollbackProposed)]) == 1
    await engine.aclose()


async def test_dry_run_metrics_never_block_nor_stall(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, extra="""
        [[canary.metrics]]
        id = "latency-p99"
        canary = "q"
        baseline = "b"
        rule = "ratio_above"
        stop = false
    """)
    text = plan.read_text()
    # [[canary.metrics]] must follow [canary]: move the extra metric up before the runbook
    extra = text[text.index('[[canary.metrics]]\nid = "latency-p99"'):]
    text = text.replace(extra, "").replace("[[runbook.steps]]", extra + "\n[[runbook.steps]]", 1)
    plan.write_text(text)
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource(HEALTHY))  # no latency data at all
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 3600)
    assert engine.state.evaluations["latency-p99"].state == "inconclusive"
    assert engine.state.stalled == {}
    assert not any(isinstance(e.body, Stalled) for e in engine.journal.read())
    assert engine.advance_preview().can_advance, engine.advance_preview().blockers
    await engine.advance()
    assert engine.state.stage is not None and engine.state.stage.id == "half"
    await engine.aclose()


async def test_a_pending_inconclusive_stop_metric_still_blocks(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(write_plan(tmp_path), tmp_path / "s", clock, ScriptedSource({"failed-writes": (0.0, 0.0)}))
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 1800)
    with pytest.raises(EngineRefused, match="metric http-5xx inconclusive"):
        await engine.advance()
    await engine.aclose()


# -- config ---------------------------------------------------------------------------
CANARY_PROM = """
[canary]
source = "prometheus"
url = "http://127.0.0.1:9"
{canary_keys}

[[canary.metrics]]
id = "http-5xx"
canary = 'q'
baseline = 'b'
rule = "ratio_above"
{metric_keys}
"""


def load_canary(tmp: Path, canary_keys: str = "", metric_keys: str = "") -> Any:
    tmp.mkdir(parents=True, exist_ok=True)
    path = write_plan(tmp)
    text = path.read_text()
    start_at, end_at = text.index("[canary]"), text.index("[[runbook.steps]]")
    path.write_text(text[:start_at] + CANARY_PROM.format(canary_keys=canary_keys, metric_keys=metric_keys)
                    + text[end_at:])
    return load_plan(path)


def test_new_canary_keys_load_and_default(tmp_path: Path) -> None:
    plan = load_canary(tmp_path / "a")
    c, m = plan.canary, plan.canary.metrics[0]
    assert (m.no_data, c.min_requests_of(m), c.max_inconclusive, c.on_inconclusive) == (
        "inconclusive", 0, None, "hold")
    plan = load_canary(tmp_path / "b", 'min_requests = 200\nrequests = "r"\non_inconclusive = "propose"\n'
                                        'max_inconclusive = "20m"', 'no_data = "zero"')
    c, m = plan.canary, plan.canary.metrics[0]
    assert (m.no_data, c.min_requests_of(m), c.requests_query(m)) == ("zero", 200, "r")
    assert c.max_inconclusive == Duration(1200.0) and c.on_inconclusive == "propose"


@pytest.mark.parametrize(("canary_keys", "metric_keys", "key", "says"), [
    ("", 'no_data = "zeros"', "canary.metrics[0].no_data", "zero"),
    ("min_requests = 200", "", "canary.metrics[0].min_requests", "request-count query"),
    ("", "min_requests = -1", "canary.metrics[0].min_requests", ""),
    ('on_inconclusive = "ask"', "", "canary.on_inconclusive", "propose"),
    ('max_inconclusive = "soon"', "", "canary.max_inconclusive", "duration"),
])
def test_bad_canary_keys_name_file_and_key(tmp_path: Path, canary_keys: str, metric_keys: str, key: str,
                                           says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_canary(tmp_path, canary_keys, metric_keys)
    text = str(err.value)
    assert "plan.toml" in text and key in text and says in text, text


def test_the_seed_criteria_read_an_empty_numerator_as_zero() -> None:
    by_id = {m.id: m for m in seed_stop_criteria()}
    assert by_id["http-5xx"].canary.startswith('(sum(rate(http_requests_total{track="canary",code=~"5.."}[5m])) '
                                               "or vector(0)) / ")
    assert by_id["failed-writes"].no_data == "zero"


# -- sources --------------------------------------------------------------------------
class FakeProm:
    """``custom_query_range`` answers per query: a list of values (one series), ``[]``
    for an empty result, or an exception."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def custom_query_range(self, query: str, **_: Any) -> list[dict[str, Any]]:
        self.asked.append(query)
        answer = self.answers[query]
        if isinstance(answer, Exception):
            raise answer
        return [{"metric": {}, "values": [[1.0, str(v)] for v in answer]}] if answer else []


def prom_source(tmp: Path, canary_keys: str, metric_keys: str, answers: dict[str, Any]) -> PrometheusSource:
    from gonogo.context import make_context

    plan = load_canary(tmp, canary_keys, metric_keys)
    source = PrometheusSource(plan, make_context(plan))
    source._client = FakeProm(answers)
    return source


async def test_prometheus_empty_reads_per_no_data_and_nan_is_never_zero(tmp_path: Path) -> None:
    zero = prom_source(tmp_path / "z", "", 'no_data = "zero"', {"q": [], "b": [float("nan")]})
    r = (await zero.poll(zero.plan.canary.metrics, 0.0))["http-5xx"]
    assert r.canary == 0.0 and r.baseline is None
    strict = prom_source(tmp_path / "s", "", "", {"q": [], "b": [0.01]})
    r = (await strict.poll(strict.plan.canary.metrics, 0.0))["http-5xx"]
    assert r.canary is None and "no data for the canary query" in r.error
    nan = prom_source(tmp_path / "n", "", 'no_data = "zero"', {"q": [float("nan")], "b": [0.01]})
    r = (await nan.poll(nan.plan.canary.metrics, 0.0))["http-5xx"]
    assert r.canary is None and "NaN" in r.error


async def test_prometheus_counts_canary_requests_once_per_poll(tmp_path: Path) -> None:
    source = prom_source(tmp_path, 'min_requests = 200\nrequests = "count"', "", {"q": [0.0], "b": [0.0], "count": []})
    r = (await source.poll(source.plan.canary.metrics, 0.0))["http-5xx"]
    assert r.requests == 0.0  # no series: no requests
    source._client.answers["count"] = [13.7]
    source._last.clear()
    r = (await source.poll(source.plan.canary.metrics, 100.0))["http-5xx"]
    assert r.requests == 13.7 and source._client.asked.count("count") == 2


async def test_sandbox_source_reads_the_canary_request_count(tmp_path: Path) -> None:
    from gonogo.context import make_context

    async def metrics(request: web.Request) -> web.Response:
        return web.json_response({"metrics": {"http_5xx_ratio": {"canary": 0.0, "baseline": None}},
                                  "samples": {"canary": 14, "baseline": 280}})

    app = web.Application()
    app.router.add_get("/admin/metrics", metrics)
    async with serve(app) as base:
        path = write_plan(tmp_path)
        path.write_text(path.read_text().replace("http://127.0.0.1:9/unused", base))
        plan = load_plan(path)
        ctx = make_context(plan)
        try:
            r = (await SandboxSource(plan, ctx).poll([metric(id="http-5xx", sandbox="http_5xx_ratio")], 0.0))
        finally:
            await ctx.aclose()
    assert r["http-5xx"].canary == 0.0 and r["http-5xx"].baseline is None and r["http-5xx"].requests == 14.0


# -- the sandbox's canary load --------------------------------------------------------
def test_the_sandbox_tops_the_canary_up_only_while_its_share_is_small() -> None:
    from types import SimpleNamespace

    from gonogo.sandbox.traffic import TrafficGenerator

    state = SimpleNamespace(weight=0.0)
    fleet = SimpleNamespace(state=state, layout=SimpleNamespace(gateway=SimpleNamespace(url="http://x")))
    gen = TrafficGenerator(fleet, rate=15.0, canary_floor=8.0)  # type: ignore[arg-type]
    loads = {}
    for w in (0.0, 5.0, 25.0, 60.0, 100.0):
        state.weight = w
        loads[w] = gen.canary_load()
    assert loads == {0.0: 0.0, 5.0: 7.25, 25.0: 4.25, 60.0: 0.0, 100.0: 0.0}
    state.weight = 5.0
    pinned = sum(gen._pinned(7.25) for _ in range(2225))  # 100 s of 22.25 requests/s
    assert abs(pinned - 725) <= 1  # the extra load, evenly spread: 0.75 + 7.25 = 8 canary requests/s


async def test_a_compressed_rehearsal_does_not_stall_on_polls_it_did_not_make(tmp_path: Path) -> None:
    """At a high --speed one real poll spans minutes of plan time: a metric waiting for
    its third sample is not stalled until it had min_samples + 2 polls to become
    conclusive."""
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace('hold = "30m"', 'hold = "1m"', 1))
    clock = Clock()
    engine = make_engine(plan, tmp_path / "s", clock, ScriptedSource({"failed-writes": (0.0, 0.0)}))
    await start(engine)
    await engine.advance()
    await poll_for(engine, clock, 4 * 120, step=120)  # 4 polls, 2 minutes of plan time apart
    assert engine.state.evaluations["http-5xx"].inconclusive_s >= 360
    assert engine.state.stalled == {}
    await poll_for(engine, clock, 120, step=120)  # the fifth try
    assert "http-5xx" in engine.state.stalled
    await engine.aclose()
