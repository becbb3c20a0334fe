"""Pure view-model rules: countdowns, stage labels, rule states, health rows, braille."""

from __future__ import annotations

from types import SimpleNamespace as NS

from gonogo.model import CheckResult, Status
from gonogo.widgets import braille
from gonogo.widgets.view import (
    fmt_duration,
    fmt_span,
    health_rows,
    hold_line,
    rule_state_text,
    stage_cells,
    stage_label,
)
from tui_fake import T0, Phase, panel_plan, recorded_state


def test_durations() -> None:
    assert fmt_duration(754) == "12:34"
    assert fmt_duration(3723) == "1:02:03"
    assert fmt_duration(None) == "--:--"
    assert fmt_duration(-5) == "00:00"
    assert fmt_span(120) == "2m" and fmt_span(90) == "1m30s" and fmt_span(5) == "5s"


def test_long_stage_titles_get_short_labels() -> None:
    def st(i: str, t: str, w: float) -> NS:
        return NS(id=i, title=t, weight=w)

    assert stage_label(st("staging", "Stage A: staging promotion (deploy, smoke)", 0), None) == "Staging"
    assert stage_label(st("canary", "Stage B: canary 5%", 5), 0) == "Canary 5%"
    assert stage_label(st("ramp-25", "Stage C: 25%", 25), 5) == "25%"
    assert stage_label(st("full", "Stage C: 100%", 100), 50) == "100%"
    assert stage_label(st("verify", "Stage D: post-deploy verification", 100), 100) == "Verify"
    assert stage_label(st("canary", "Canary", 5), 0) == "Canary 5%"


def test_stage_bar_marks_done_current_next() -> None:
    plan = panel_plan()
    cells = stage_cells(recorded_state(plan, stage=2))
    assert [c.status for c in cells] == ["done", "done", "current", "next", "next", "next", "next"]
    assert cells[-1].label == "Stable"
    idle = stage_cells(recorded_state(plan, stage=0, phase=Phase.IDLE))
    assert all(c.status == "next" for c in idle)


def test_hold_line_counts_down_and_stops_while_paused() -> None:
    plan = panel_plan()
    state = recorded_state(plan, stage=2)
    assert "hold 02:26 left of 15:00" in hold_line(state, T0)
    assert "hold 01:26 left of 15:00" in hold_line(state, T0 + 60)
    import dataclasses

    paused = dataclasses.replace(state, phase=Phase.PAUSED, paused_at=T0)
    assert "hold 02:26 left" in hold_line(paused, T0 + 600)
    shifting = dataclasses.replace(state, phase=Phase.SHIFTING, weight_intended=50.0)
    assert "traffic 25% → 50%" in hold_line(shifting, T0)
    assert "C to confirm" in hold_line(shifting, T0)


def test_rule_states_read_like_the_issue() -> None:
    ev = NS(state="breaching", breach_s=120.0, required_s=300.0)
    assert rule_state_text(ev) == "breaching 2m of 5m"
    assert rule_state_text(NS(state="tripped")) == "TRIPPED"
    assert rule_state_text(NS(state="inconclusive")) == "inconclusive"


def test_health_rows_from_check_evidence() -> None:
    plan = panel_plan()
    health = CheckResult("health-all", "security", "http_health", "h", True, Status.FAIL, "1 down",
                         evidence={"services": {
                             "auth": {"status": 200, "latency_ms": 12.5, "version": "1.4.2"},
                             "qna": {"error": "cannot connect"}}}, finished_at=1.0)
    targets = CheckResult("targets", "obs", "prometheus_targets", "t", True, Status.PASS, "ok",
                          evidence={"targets": {"auth": {"health": "up"}, "qna": "down"}},
                          finished_at=2.0)
    rows = {r.service: r for r in health_rows(plan, {"health-all": health, "targets": targets})}
    assert rows["auth"].health is Status.PASS and rows["auth"].latency_ms == 12.5
    assert rows["auth"].version == "1.4.2" and rows["auth"].scrape == "up"
    assert rows["qna"].health is Status.FAIL and "cannot connect" in rows["qna"].detail
    assert rows["qna"].scrape == "down"
    assert rows["documents"].health is Status.PENDING  # never checked: not shown as healthy


def test_braille_plot_draws_rising_series_and_gaps() -> None:
    rows = braille.plot([[0.0, 1.0, 2.0, 3.0]], width=2, height=1, y_range=(0.0, 3.0))
    text = braille.to_text(rows)
    assert len(text) == 2 and text != "  "
    # the lowest value sits on the bottom dot row, the highest on the top one
    first, last = ord(text[0]) - braille.BRAILLE_BASE, ord(text[-1]) - braille.BRAILLE_BASE
    assert first & 0x40 and last & 0x80 | 0x08
    gaps = braille.plot([[None, None, None, None]], width=2, height=1)
    assert braille.to_text(gaps) == "  "  # no data is blank, never a zero line
    owners = braille.plot([[1.0] * 4, [1.0] * 4], width=2, height=1, y_range=(0.0, 2.0))
    assert {who for row in owners for _, who in row} == {0}  # the first series wins the cell


def test_resample_keeps_newest() -> None:
    assert braille.resample([1, 2, 3, 4, 5], 3) == [3, 4, 5]
    assert braille.resample([1, 2], 4) == [1, 1, 2, 2]
