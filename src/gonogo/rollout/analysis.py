"""Canary analysis: the stop-criteria rules, as pure functions of samples.

A ``Sample`` is one poll of one metric: canary and baseline values (``None`` when
the source had no data) at a time ``t`` (engine clock, seconds). Rule durations
and windows are in *plan time*: real seconds multiplied by the session's speed,
so ``--speed 120`` turns a 5-minute rule into 2.5 real seconds.

Rules (``CanaryMetric.rule``):

- ``ratio_above``: breaching while ``canary > max(factor × baseline, threshold)``;
  ``threshold`` is a noise floor so that 0.02 % against 0.00 % is not a breach.
- ``above``: breaching while ``canary > threshold``.
- ``nonzero``: breaching while ``canary > threshold`` (default 0: any failed write).
- ``rising``: judged over the last ``window`` of samples (at least ``min_samples``).
  The canary is *continuously rising* when all three hold:
  1. the Mann-Kendall trend statistic is significant upwards (Z ≥ 2.326, one-sided
     p ≤ 0.01) — a rank test, so single outliers cannot fake or hide a trend;
  2. at least 60 % of successive differences are non-negative;
  3. the rise over the judged span (Sen's median slope × span) exceeds ``threshold``;
  4. the most recent half of the window is still rising (Mann-Kendall Z ≥ 1.645,
     p ≤ 0.05): a step up that has levelled off is not a backlog growing.
  It trips once the rising samples cover at least ``min(duration, 0.9 × window)``
  (samples are discrete, so a window's samples never quite span the whole window).

The other rules trip when the latest run of breaching samples has lasted at least
``duration``. Gaps with no data do not reset a run (a blind spot must not restart
the clock on a real regression).

*Inconclusive* — no sample yet, the latest poll returned no data, the canary saw
fewer than ``min_requests`` requests in the window, or fewer than ``min_samples``
usable samples in the window — is its own state: it blocks advancing and never
counts as healthy. ``inconclusive_s`` says for how long (the fold measures it over
the whole inconclusive stretch), so the engine can report a stall past
``max_inconclusive`` and apply ``canary.on_inconclusive``.

A sample below ``min_requests`` is not evidence either way (a gap, like no data),
except a positive ``nonzero`` reading: one failed write is one at any traffic.

Baselines: at a weight where the baseline gets no traffic (100 %), the engine records
the baseline measured in the last stage that had baseline traffic, and names that
stage in ``Sample.baseline_from``; the rules judge against it and say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from gonogo.config import Canary, CanaryMetric
from gonogo.values import Duration

EvalState = Literal["ok", "breaching", "tripped", "inconclusive"]
SERIES_POINTS = 40
MK_Z_CRITICAL = 2.326  # one-sided 99 %
MK_Z_RECENT = 1.645  # one-sided 95 %, on the newer half of the window
RISING_MIN_UP_FRACTION = 0.6
RISING_COVERAGE = 0.9  # share of the window the rising samples must span to trip


class Sample(msgspec.Struct, frozen=True):
    """One poll of one metric. A Struct, not a frozen dataclass: a replay builds one per
    metric for each poll in its window (a frozen dataclass's ``__init__`` was half of
    folding a long canary)."""

    t: float
    canary: float | None
    baseline: float | None
    error: str = ""
    requests: float | None = None  # canary requests in the window (None: not counted)
    baseline_from: str = ""  # the stage whose baseline stands in (no baseline traffic now)


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """One canary metric's latest judgement, with the values it judged."""

    metric_id: str
    title: str
    rule: str
    state: EvalState
    canary: float | None
    baseline: float | None
    threshold: float | None
    breach_s: float
    required_s: float
    reason: str
    series: tuple[tuple[float, float | None, float | None], ...] = ()
    stop: bool = True
    unit: str = ""
    inconclusive_s: float = 0.0
    baseline_from: str = ""  # the stage the baseline was measured in, when carried over
    requests: float | None = None  # canary requests in the latest window, when counted

    def to_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric_id,
            "title": self.title,
            "rule": self.rule,
            "state": self.state,
            "canary": self.canary,
            "baseline": self.baseline,
            "threshold": self.threshold,
            "breach_s": round(self.breach_s, 3),
            "required_s": self.required_s,
            "reason": self.reason,
            "unit": self.unit,
            "baseline_from": self.baseline_from,
            "requests": self.requests,
            "series": [list(p) for p in self.series[-12:]],
        }


def limit_for(metric: CanaryMetric, baseline: float | None) -> float | None:
    """The value the canary must stay at or under (``None``: cannot be judged)."""
    if metric.rule == "ratio_above":
        if baseline is None:
            return None
        return max(metric.factor * baseline, metric.threshold)
    return metric.threshold


def traffic_shortfall(metric: CanaryMetric, s: Sample, min_requests: int) -> str:
    """Why ``s`` had too little canary traffic to judge (``""``: enough, or no minimum)."""
    if min_requests <= 0:
        return ""
    if metric.rule == "nonzero" and s.canary is not None and s.canary > metric.threshold:
        return ""  # a failed write is evidence at any traffic
    if s.requests is None:
        return "canary request count unknown" + (f": {s.error}" if s.error else "")
    if s.requests < min_requests:
        return f"canary saw {s.requests:.0f} requests < {min_requests}"
    return ""


def unusable_reason(metric: CanaryMetric, s: Sample, min_requests: int = 0) -> str:
    """Why ``s`` cannot be judged (``""``: it can)."""
    if s.canary is None or not math.isfinite(s.canary):
        return "no data: " + (s.error or "the query returned no data")
    if metric.rule == "ratio_above" and (s.baseline is None or not math.isfinite(s.baseline)):
        return "no baseline: " + (s.error or "the baseline query returned no data")
    return traffic_shortfall(metric, s, min_requests)


def is_usable(metric: CanaryMetric, s: Sample, min_requests: int = 0) -> bool:
    return not unusable_reason(metric, s, min_requests)


def breaches(metric: CanaryMetric, s: Sample) -> bool:
    limit = limit_for(metric, s.baseline)
    return s.canary is not None and limit is not None and s.canary > limit


def evaluate(metric: CanaryMetric, samples: Sequence[Sample], *, speed: float = 1.0,
             min_requests: int | None = None) -> RuleEvaluation:
    """Judge ``metric`` on its samples (oldest first); ``min_requests`` is the effective
    minimum (``Canary.min_requests_of``), default the metric's own."""
    min_req = (metric.min_requests or 0) if min_requests is None else min_requests
    title = metric.title or metric.id
    series = tuple((s.t, s.canary, s.baseline) for s in samples[-SERIES_POINTS:])

    def result(state: EvalState, reason: str, latest: Sample | None, breach_s: float = 0.0,
               inconclusive_s: float = 0.0, threshold: float | None = None) -> RuleEvaluation:
        return RuleEvaluation(
            metric_id=metric.id, title=title, rule=metric.rule, state=state,
            canary=latest.canary if latest else None,
            baseline=latest.baseline if latest else None,
            threshold=threshold if threshold is not None else (
                limit_for(metric, latest.baseline) if latest else None),
            breach_s=breach_s, required_s=metric.duration.seconds, reason=reason,
            series=series, stop=metric.stop, unit=metric.unit, inconclusive_s=inconclusive_s,
            baseline_from=latest.baseline_from if latest else "",
            requests=latest.requests if latest else None,
        )

    if not samples:
        return result("inconclusive", "no data yet", None)
    latest = samples[-1]
    why = unusable_reason(metric, latest, min_req)
    if why:
        first_bad = latest
        for s in reversed(samples):
            if is_usable(metric, s, min_req):
                break
            first_bad = s
        return result("inconclusive", why, latest, inconclusive_s=(latest.t - first_bad.t) * speed)
    horizon = max(metric.window.seconds, metric.duration.seconds)
    usable = [s for s in samples
              if is_usable(metric, s, min_req) and (latest.t - s.t) * speed <= horizon]
    if len(usable) < metric.min_samples:
        return result("inconclusive", f"{len(usable)} of {metric.min_samples} samples needed",
                      latest, inconclusive_s=(latest.t - samples[0].t) * speed)
    if metric.rule == "rising":
        return _rising(metric, usable, speed, result)
    if not breaches(metric, latest):
        return result("ok", _describe(metric, latest, breaching=False), latest)
    start = latest
    for s in reversed(samples):
        if not is_usable(metric, s, min_req):
            continue  # a gap (or too little traffic to tell) does not reset the run
        if not breaches(metric, s):
            break
        start = s
    breach_s = (latest.t - start.t) * speed
    state: EvalState = "tripped" if breach_s >= metric.duration.seconds else "breaching"
    return result(state, _describe(metric, latest, breaching=True, breach_s=breach_s), latest, breach_s)


def _describe(metric: CanaryMetric, s: Sample, *, breaching: bool, breach_s: float = 0.0) -> str:
    """What the latest sample was judged against, in the panel's and the CLI's words:
    ``canary 0.2% vs baseline 0.18% (<= 2× baseline = 0.36%)``, and when the noise floor
    is the limit, ``canary 0% vs baseline 0% — under the 1% noise floor``."""
    c = fmt_metric(s.canary, metric.unit)
    if metric.rule == "ratio_above":
        limit = limit_for(metric, s.baseline)
        carried = f" (from {s.baseline_from})" if s.baseline_from else ""
        text = f"canary {c} vs baseline {fmt_metric(s.baseline, metric.unit)}{carried}"
        if floor_governs(metric, s.baseline):
            text += (f" — {'over' if breaching else 'under'} the "
                     f"{fmt_metric(metric.threshold, metric.unit)} noise floor")
        else:
            text += (f" ({'>' if breaching else '<='} {metric.factor:g}× baseline = "
                     f"{fmt_metric(limit, metric.unit)})")
    else:
        text = f"canary {c} {'>' if breaching else '<='} {fmt_metric(metric.threshold, metric.unit)}"
    if breaching:
        text += f" for {Duration(breach_s)} of {metric.duration}"
    return text


def floor_governs(metric: CanaryMetric, baseline: float | None) -> bool:
    """A ``ratio_above`` limit set by the noise floor (``threshold``), not by the baseline."""
    return (metric.rule == "ratio_above" and metric.threshold > 0 and baseline is not None
            and metric.factor * baseline < metric.threshold)


def describe_rule(metric: CanaryMetric, short: bool = False) -> str:
    """The rule in words: ``limit max(2× baseline, noise floor 1%) for 5m``; ``short``:
    ``≤ max(2× baseline, noise floor 1%), 5m`` (a narrow row)."""
    unit, dur = metric.unit, metric.duration
    if short:
        lasting = f", {dur}" if dur.seconds > 0 else ", at once"
    else:
        lasting = f" for {dur}" if dur.seconds > 0 else " (trips at once)"
    lead = "≤ " if short else "limit "
    if metric.rule == "ratio_above":
        limit = f"{metric.factor:g}× baseline"
        if metric.threshold > 0:
            limit = f"max({limit}, noise floor {fmt_metric(metric.threshold, unit)})"
        return f"{lead}{limit}{lasting}"
    if metric.rule == "rising":
        least = f" by more than {fmt_metric(metric.threshold, unit)}" if metric.threshold > 0 else ""
        return (f"rising{least} over {metric.window}" if short
                else f"trips when rising{least} over {metric.window}")
    return f"{lead}{fmt_metric(metric.threshold, unit)}{lasting}"


def fmt_metric(v: float | None, unit: str = "", missing: str = "n/a") -> str:
    """A metric's value with its unit, to three significant digits: ``ratio`` as a
    percentage (0.0218 -> ``2.18%``), seconds under one as ``ms`` (0.1208 ->
    ``121ms``), ``ms`` from a thousand as ``s``; ``missing`` for no value."""
    if v is None or not math.isfinite(v):
        return missing
    if unit == "ratio":
        v, unit = v * 100, "%"
    elif unit == "s" and 0 < abs(v) < 1:
        v, unit = v * 1000, "ms"
    elif unit == "ms" and abs(v) >= 1000:
        v, unit = v / 1000, "s"
    text = _significant(v)
    if not unit:
        return text
    return f"{text}{unit}" if len(unit) <= 2 else f"{text} {unit}"


def _significant(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant digits, never in exponent form, no trailing zeros."""
    if v == 0:
        return "0"
    decimals = max(0, min(9, digits - 1 - math.floor(math.log10(abs(v)))))
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def stall_limit_s(canary: Canary, metric: CanaryMetric, stage_hold_s: float) -> float:
    """Plan seconds ``metric`` may stay inconclusive before the rollout reports it stalled:
    ``[canary] max_inconclusive``, else the stage's hold, never shorter than the
    ``min_samples`` + 2 polls a metric needs to become conclusive at all."""
    if canary.max_inconclusive is not None:
        return canary.max_inconclusive.seconds
    return max(stage_hold_s, (metric.min_samples + 2) * canary.interval.seconds)


def mann_kendall_z(values: Sequence[float]) -> float:
    """The Mann-Kendall trend statistic Z (positive: rising), with the tie correction."""
    n = len(values)
    if n < 3:
        return 0.0
    s = 0
    for i in range(n - 1):
        vi = values[i]
        for j in range(i + 1, n):
            d = values[j] - vi
            s += (d > 0) - (d < 0)
    ties: dict[float, int] = {}
    for v in values:
        ties[v] = ties.get(v, 0) + 1
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties.values())) / 18
    if var <= 0:
        return 0.0
    if s > 0:
        return (s - 1) / math.sqrt(var)
    if s < 0:
        return (s + 1) / math.sqrt(var)
    return 0.0


def sen_slope(ts: Sequence[float], values: Sequence[float]) -> float:
    """Median of pairwise slopes: robust to outliers."""
    slopes = sorted(
        (values[j] - values[i]) / (ts[j] - ts[i])
        for i in range(len(ts) - 1)
        for j in range(i + 1, len(ts))
        if ts[j] != ts[i]
    )
    if not slopes:
        return 0.0
    mid = len(slopes) // 2
    return slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2


def _rising(
    metric: CanaryMetric, usable: list[Sample], speed: float, result: Callable[..., RuleEvaluation]
) -> RuleEvaluation:
    window = [s for s in usable if (usable[-1].t - s.t) * speed <= metric.window.seconds]
    latest = window[-1]
    if len(window) < metric.min_samples:
        return result("inconclusive", f"{len(window)} of {metric.min_samples} samples needed",
                      latest, threshold=metric.threshold)
    # usable samples all have a canary value; the filter only tells the type checker
    values = [s.canary for s in window if s.canary is not None]
    ts = [s.t * speed for s in window if s.canary is not None]
    z = mann_kendall_z(values)
    deltas = [b - a for a, b in zip(values, values[1:], strict=False)]
    up = sum(1 for d in deltas if d >= 0) / len(deltas)
    span = ts[-1] - ts[0]
    rise = sen_slope(ts, values) * span
    recent = values[len(values) // 2:]
    still = len(recent) < 3 or mann_kendall_z(recent) >= MK_Z_RECENT
    rising = (z >= MK_Z_CRITICAL and up >= RISING_MIN_UP_FRACTION and rise > metric.threshold
              and still)
    detail = f"rise {fmt_metric(rise, metric.unit)} over {Duration(span)} (trend z={z:.2f}, {up:.0%} steps up)"
    if z >= MK_Z_CRITICAL and not still:
        detail += ", levelled off"
    if not rising:
        return result("ok", f"not rising: {detail}", latest, threshold=metric.threshold)
    needed = min(metric.duration.seconds, RISING_COVERAGE * metric.window.seconds)
    state: EvalState = "tripped" if span >= needed else "breaching"
    return result(state, f"rising: {detail}", latest, breach_s=span, threshold=metric.threshold)


def seed_stop_criteria() -> tuple[CanaryMetric, ...]:
    """The seed's stop criteria for the canary stage, used when a plan lists no canary metrics."""
    req = 'http_requests_total{track="%s"}'

    def rate(sel: str) -> str:
        return f"sum(rate({sel}[5m]))"

    def ratio(track: str, cond: str) -> str:
        # An empty numerator over a denominator with traffic is 0 (no 5xx yet), not "no
        # data"; an empty denominator (no traffic) stays empty: inconclusive.
        num = req.replace('"}', f'",{cond}}}') % track
        return f"({rate(num)} or vector(0)) / {rate(req % track)}"

    return (
        CanaryMetric(
            id="http-5xx", title="5xx ratio vs baseline", rule="ratio_above", factor=2.0,
            threshold=0.001, duration=Duration(300.0), unit="",
            canary=ratio("canary", 'code=~"5.."'), baseline=ratio("baseline", 'code=~"5.."'),
            sandbox="http_5xx_ratio",
        ),
        CanaryMetric(
            id="auth-failures", title="authentication failures", rule="above", threshold=0.02,
            duration=Duration(60.0), canary='(sum(rate(auth_failures_total{track="canary"}[5m])) or '
            'vector(0)) / sum(rate(auth_attempts_total{track="canary"}[5m]))', sandbox="auth_failure_ratio",
        ),
        CanaryMetric(
            id="queue-lag", title="worker queue lag", rule="rising", threshold=5.0,
            window=Duration(600.0), duration=Duration(300.0), min_samples=6,
            canary='max(worker_queue_lag{track="canary"})', sandbox="queue_lag",
        ),
        CanaryMetric(
            id="failed-writes", title="failed writes / corruption", rule="nonzero",
            duration=Duration(0.0), min_samples=1, no_data="zero",
            canary='sum(increase(failed_writes_total{track="canary"}[5m]))', sandbox="failed_writes",
        ),
    )
