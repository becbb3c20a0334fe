"""Stop-criteria rules: pure functions of samples and plan time."""

from __future__ import annotations

import random

from gonogo.config import CanaryMetric
from gonogo.rollout.analysis import Sample, evaluate, mann_kendall_z, seed_stop_criteria
from gonogo.values import Duration


def metric(**kw: object) -> CanaryMetric:
    base: dict[str, object] = {"id": "m", "canary": "q", "baseline": "b", "rule": "ratio_above",
                               "duration": Duration(300.0), "min_samples": 3}
    base.update(kw)
    return CanaryMetric(**base)  # type: ignore[arg-type]


def series(values: list[tuple[float | None, float | None]], step: float = 15.0) -> list[Sample]:
    return [Sample(i * step, c, b) for i, (c, b) in enumerate(values)]


def test_ratio_above_trips_only_after_the_duration() -> None:
    m = metric(factor=2.0)
    healthy = [(0.010, 0.010)] * 5
    bad = [(0.030, 0.010)] * 21  # 20 steps of 15 s = 300 s in breach at the last one
    ev = evaluate(m, series(healthy + bad[:20]))
    assert ev.state == "breaching" and ev.breach_s == 285.0
    assert ev.canary == 0.030 and ev.baseline == 0.010 and ev.threshold == 0.020
    ev = evaluate(m, series(healthy + bad))
    assert ev.state == "tripped" and ev.breach_s == 300.0
    assert "2× baseline = 0.02" in ev.reason


def test_a_dip_resets_the_breach_but_a_gap_does_not() -> None:
    m = metric(factor=2.0)
    dip = series([(0.03, 0.01)] * 10 + [(0.01, 0.01)] + [(0.03, 0.01)] * 5)
    assert evaluate(m, dip).breach_s == 60.0
    gap = series([(0.03, 0.01)] * 10 + [(0.03, None)] + [(0.03, 0.01)] * 5)
    assert evaluate(m, gap).breach_s == 225.0


def test_speed_compresses_the_duration() -> None:
    m = metric(factor=2.0, duration=Duration(300.0))
    # 3 real seconds at x120 is 360 s of plan time.
    ev = evaluate(m, series([(0.05, 0.01)] * 4, step=1.0), speed=120.0)
    assert ev.state == "tripped" and ev.breach_s == 360.0


def test_noise_floor_keeps_tiny_ratios_healthy() -> None:
    m = metric(factor=2.0, threshold=0.001)
    ev = evaluate(m, series([(0.0004, 0.0)] * 30))
    assert ev.state == "ok"


def test_no_data_is_inconclusive_never_ok() -> None:
    m = metric()
    assert evaluate(m, []).state == "inconclusive"
    ev = evaluate(m, [*series([(0.01, 0.01)] * 5), Sample(75.0, None, None, "Prometheus unreachable")])
    assert ev.state == "inconclusive" and "unreachable" in ev.reason
    assert evaluate(m, series([(0.01, 0.01)] * 2)).state == "inconclusive"  # too few samples
    # ratio_above needs the baseline too.
    assert evaluate(m, series([(0.01, 0.01)] * 4 + [(0.01, None)])).state == "inconclusive"
    # and it resumes when data returns
    assert evaluate(m, [*series([(0.01, 0.01)] * 5), Sample(75.0, None, None), Sample(90.0, 0.01, 0.01)]).state == "ok"


def test_inconclusive_time_is_measured() -> None:
    m = metric()
    s = [*series([(0.01, 0.01)] * 3), *(Sample(45.0 + 15 * i, None, None) for i in range(5))]
    assert evaluate(m, s).inconclusive_s == 60.0


def test_above_and_nonzero() -> None:
    auth = metric(rule="above", threshold=0.02, duration=Duration(60.0), baseline="")
    assert evaluate(auth, series([(0.01, None)] * 10)).state == "ok"
    assert evaluate(auth, series([(0.01, None)] * 5 + [(0.05, None)] * 5)).state == "tripped"
    writes = metric(rule="nonzero", duration=Duration(0.0), min_samples=1, baseline="")
    assert evaluate(writes, series([(0.0, 0.0)] * 3)).state == "ok"
    ev = evaluate(writes, series([(0.0, 0.0)] * 3 + [(2.0, 0.0)]))
    assert ev.state == "tripped" and ev.canary == 2.0


def rising_metric() -> CanaryMetric:
    return metric(rule="rising", baseline="", threshold=5.0, window=Duration(600.0),
                  duration=Duration(300.0), min_samples=6)


def test_rising_detects_a_noisy_continuous_rise() -> None:
    rng = random.Random(7)
    values = [(10 + 2.0 * i + rng.uniform(-3, 3), None) for i in range(41)]
    ev = evaluate(rising_metric(), series(values))
    assert ev.state == "tripped", ev.reason
    assert "rising" in ev.reason


def test_rising_is_not_fooled_by_noise_or_a_single_spike() -> None:
    m = rising_metric()
    rng = random.Random(11)
    false_alarms = 0
    for _trial in range(200):
        values = [(20 + rng.gauss(0, 4), None) for _ in range(41)]
        if evaluate(m, series(values)).state in ("breaching", "tripped"):
            false_alarms += 1
    assert false_alarms <= 2
    spike = [(20.0, None)] * 39 + [(500.0, None), (20.0, None)]
    assert evaluate(m, series(spike)).state == "ok"
    # A step up that then stays flat is not "continuously rising".
    step = [(20.0 + rng.uniform(-1, 1), None)] * 20 + [(60.0 + rng.uniform(-1, 1), None) for _ in range(21)]
    assert evaluate(m, series(step)).state == "ok"


def test_rising_needs_enough_samples_and_a_long_enough_span() -> None:
    m = rising_metric()
    assert evaluate(m, series([(float(i), None) for i in range(4)])).state == "inconclusive"
    short = evaluate(m, series([(float(10 * i), None) for i in range(10)]))  # 135 s < 300 s
    assert short.state == "breaching"


def test_rising_trips_when_window_equals_duration() -> None:
    # Samples never span the whole window; a 5m window with a 5m duration must still trip.
    m = metric(rule="rising", baseline="", window=Duration(300.0), duration=Duration(300.0))
    ev = evaluate(m, series([(float(5 * i), None) for i in range(60)], step=5.0))
    assert ev.state == "tripped" and ev.breach_s < 300.0


def test_mann_kendall_signs() -> None:
    assert mann_kendall_z(list(range(20))) > 5
    assert mann_kendall_z(list(range(20, 0, -1))) < -5
    assert mann_kendall_z([1.0] * 10) == 0.0


def test_seed_stop_criteria_encode_the_checklist() -> None:
    by_id = {m.id: m for m in seed_stop_criteria()}
    assert by_id["http-5xx"].rule == "ratio_above" and by_id["http-5xx"].factor == 2.0
    assert by_id["http-5xx"].duration.seconds == 300.0
    assert by_id["auth-failures"].rule == "above" and by_id["auth-failures"].threshold == 0.02
    assert by_id["queue-lag"].rule == "rising"
    assert by_id["failed-writes"].rule == "nonzero"
    assert {m.sandbox for m in by_id.values()} == {
        "http_5xx_ratio", "auth_failure_ratio", "queue_lag", "failed_writes"}
