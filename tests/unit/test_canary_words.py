"""How a canary metric is described wherever it is shown (the dashboard, the canary
screen, the CLI's ``waiting:`` lines): values with their unit, the noise floor called a
noise floor, the rule in words, and chart lines that differ without colour."""

from __future__ import annotations

from typing import Any

import pytest

from gonogo.config import CanaryMetric
from gonogo.rollout.analysis import Sample, describe_rule, evaluate, fmt_metric
from gonogo.rollout.status import metrics_text
from gonogo.values import Duration
from gonogo.widgets import braille
from gonogo.widgets.canary import inconclusive_word, state_word, values_texts


def metric(**kw: Any) -> CanaryMetric:
    base: dict[str, Any] = {"id": "http-5xx", "title": "5xx ratio", "canary": "q", "baseline": "b",
                            "rule": "ratio_above", "factor": 2.0, "threshold": 0.01,
                            "duration": Duration(300.0), "min_samples": 1, "unit": "ratio"}
    base.update(kw)
    return CanaryMetric(**base)


def samples(canary: float, baseline: float | None, n: int = 3) -> list[Sample]:
    return [Sample(t=15.0 * i, canary=canary, baseline=baseline) for i in range(n)]


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.0218, "ratio", "2.18%"), (0.0021, "ratio", "0.21%"), (0.0, "ratio", "0%"),
    (0.1208, "s", "121ms"), (2.62, "s", "2.62s"), (1500.0, "ms", "1.5s"), (120.8, "ms", "121ms"),
    (0.0015, "", "0.0015"), (3.0, "", "3"), (12345.6, "", "12346"), (5.0, "req/s", "5 req/s"),
    (None, "ratio", "n/a"), (float("nan"), "ms", "n/a"),
])
def test_values_keep_their_unit(value: float | None, unit: str, text: str) -> None:
    assert fmt_metric(value, unit) == text


def test_a_limit_set_by_the_noise_floor_is_called_a_noise_floor() -> None:
    m = metric()
    quiet = evaluate(m, samples(0.0, 0.0))
    assert quiet.state == "ok"
    assert quiet.reason == "canary 0% vs baseline 0% — under the 1% noise floor"
    loud = evaluate(m, samples(0.02, 0.0))
    assert loud.state == "breaching" and "over the 1% noise floor for 30s of 5m" in loud.reason
    # above the floor, the baseline sets the limit and the reason says how
    judged = evaluate(m, samples(0.03, 0.008))
    assert "vs baseline 0.8% (> 2× baseline = 1.6%)" in judged.reason
    # the CLI's waiting line reads the same reason
    assert "breaching: canary 2% vs baseline 0% — over the 1% noise floor" in \
        metrics_text({"x": quiet, "y": loud})


def test_the_rule_in_words() -> None:
    assert describe_rule(metric()) == "limit max(2× baseline, noise floor 1%) for 5m"
    assert describe_rule(metric(threshold=0.0)) == "limit 2× baseline for 5m"
    assert describe_rule(metric(rule="above", threshold=0.02, duration=Duration(120.0))) == \
        "limit 2% for 2m"
    assert describe_rule(metric(rule="nonzero", threshold=0.0, unit="", duration=Duration(0.0))) == \
        "limit 0 (trips at once)"
    assert describe_rule(metric(rule="rising", threshold=5.0, unit="s", window=Duration(600.0))) == \
        "trips when rising by more than 5s over 10m"
    # a narrow row: the same rule, shorter; the noise floor keeps its name
    assert describe_rule(metric(), short=True) == "≤ max(2× baseline, noise floor 1%), 5m"
    assert describe_rule(metric(rule="nonzero", threshold=0.0, unit="", duration=Duration(0.0)),
                         short=True) == "≤ 0, at once"


def test_dashboard_wordings_from_explicit_to_compact() -> None:
    m = metric()
    assert values_texts(evaluate(m, samples(0.002, 0.0018)), "ratio", m) == (
        "canary 0.2% · baseline 0.18% · noise floor 1%", "0.2% vs 0.18% · noise floor 1%")
    ev = evaluate(m, samples(0.03, 0.008))
    assert values_texts(ev, "ratio", m) == ("canary 3% · baseline 0.8% · limit 1.6%",
                                            "3% vs 0.8% · limit 1.6%")
    assert state_word(ev) == "breaching 30s of 5m"
    rising = metric(rule="rising", threshold=0.0, unit="s", baseline="", min_samples=3)
    assert values_texts(evaluate(rising, samples(2.0, None)), "s", rising)[-1] == "canary 2s · not rising"


@pytest.mark.parametrize(("reason", "word"), [
    ("no data yet", "no data yet"), ("no data: cannot connect to Prometheus", "no data"),
    ("no baseline: the baseline gets no traffic at 100%", "no baseline"),
    ("canary saw 14 requests < 200", "low traffic"), ("3 of 6 samples needed", "3/6 samples"),
    ("canary request count unknown", "traffic unknown"), ("something new", "inconclusive"),
])
def test_inconclusive_has_a_short_word(reason: str, word: str) -> None:
    assert inconclusive_word(reason) == word


def test_line_styles_differ_without_colour() -> None:
    solid, dotted, dashed = (braille.line_sample(s, 4) for s in ("solid", "dotted", "dashed"))
    assert len({solid, dotted, dashed}) == 3
    assert " " not in solid and " " not in dotted and dashed.count(" ") == 2
    # a dotted line has one dot column per cell, a solid one both
    assert all(ord(a) - braille.BRAILLE_BASE in (0x04,) for a in dotted)
    rows = braille.plot([[0.5] * 8, [0.5] * 8], 4, 1, (0.0, 1.0), ("solid", "dotted"))
    assert braille.to_text(rows) == solid  # where they meet, the solid line shows


def test_the_scale_reads_round_numbers() -> None:
    assert braille.value_range([[0.0021, 0.0218], [0.0042]]) == (0.0, 0.025)
    assert braille.value_range([[120.0, 131.0]]) == (0.0, 200.0)
    assert braille.value_range([[0.0, 0.0]]) == (0.0, 1.0)
    assert braille.scale_rows("0%", "2.5%", 3) == ["2.5%┤", "    │", "  0%┤"]
    assert braille.scale_rows("0", "5", 2, width=4) == ["  5┤", "  0┤"]  # the tick included


def test_a_row_whose_value_and_chart_moved_repaints_the_two_not_the_text_between() -> None:
    from rich.segment import Segment
    from textual.strip import Strip

    from gonogo.widgets.lines import changed_spans

    before = Strip([Segment("0.20% vs 0.18% · limit 0.37%   0%┤⠉⠉⠉⠉")])
    after = Strip([Segment("0.21% vs 0.18% · limit 0.37%   0%┤⠉⠉⠉⠙")])
    assert changed_spans(before, after) == [(3, 4), (37, 38)]
    assert changed_spans(before, before) == []
    near = Strip([Segment("0.21% vs 0.19% · limit 0.37%   0%┤⠉⠉⠉⠉")])
    assert changed_spans(before, near) == [(3, 4), (12, 13)]
    assert changed_spans(before, near, gap=10) == [(3, 13)]  # a short gap is sent, not skipped
