"""Pure view-model rules on folded recorded sessions: countdowns, stage labels and
cells, rule states, the header, health rows, braille."""

from __future__ import annotations

import dataclasses

from gonogo.config import Plan, Service
from gonogo.model import CheckResult, Status
from gonogo.rollout.events import CheckRecorded
from gonogo.rollout.state import Phase, RolloutState, StageView, fold
from gonogo.values import SecretRef, Value
from gonogo.verdict import decide
from gonogo.widgets import braille
from gonogo.widgets.activity import recent
from gonogo.widgets.health import layout
from gonogo.widgets.view import (
    ChecklistRun,
    Header,
    fmt_duration,
    fmt_recent,
    fmt_span,
    header,
    health_rows,
    health_title,
    hold_line,
    rule_state_text,
    scrape_state,
    stage_cells,
    stage_label,
    stopped_index,
    verdict_head,
)
from support.panel_fixtures import plan_with, recorded
from support.panel_journals import T0


def folded(name: str) -> RolloutState:
    return fold(recorded(name), plan_with())


def test_durations() -> None:
    assert fmt_duration(754) == "12:34"
    assert fmt_duration(3723) == "1:02:03"
    assert fmt_duration(None) == "--:--"
    assert fmt_duration(-5) == "00:00"
    assert fmt_span(120) == "2m" and fmt_span(90) == "1m30s" and fmt_span(5) == "5s"


def test_long_stage_titles_get_short_labels() -> None:
    def st(i: str, t: str, w: float) -> StageView:
        return StageView(i, t, w, 0.0, 0)

    assert stage_label(st("staging", "Stage A: staging promotion (deploy, smoke)", 0), None) == "Staging"
    assert stage_label(st("canary", "Stage B: canary 5%", 5), 0) == "Canary 5%"
    assert stage_label(st("ramp-25", "Stage C: 25%", 25), 5) == "25%"
    assert stage_label(st("full", "Stage C: 100%", 100), 50) == "100%"
    assert stage_label(st("verify", "Stage D: post-deploy verification", 100), 100) == "Verify"
    assert stage_label(st("canary", "Canary", 5), 0) == "Canary 5%"


def test_stage_bar_marks_done_current_next() -> None:
    cells = stage_cells(folded("holding"))
    assert [c.status for c in cells] == ["done", "done", "current", "next", "next", "next", "next"]
    assert cells[-1].label == "Stable"
    assert all(c.status == "next" for c in stage_cells(folded("idle")))


def test_stage_bar_shows_where_a_rollback_stopped() -> None:
    events = recorded("rolled-back")
    state = fold(events, plan_with())
    assert state.stage_index == -1  # no stage is current once the rollback is done...
    stopped = stopped_index(state)  # ...but the fold remembers where it stopped
    assert stopped == 2
    assert [c.status for c in stage_cells(state, stopped)][:4] == ["done", "done", "stopped", "next"]
    rolling = fold(recorded("runbook-failed"), plan_with())
    assert [c.status for c in stage_cells(rolling, stopped_index(rolling))][2] == "stopped"
    assert stopped_index(folded("holding")) is None


def test_hold_line_counts_down_and_stops_while_paused() -> None:
    state = folded("holding")  # 25% entered 12:34 ago, 15:00 hold
    assert "hold 02:26 left of 15:00" in hold_line(state, T0)
    assert "hold 01:56 left of 15:00" in hold_line(state, T0 + 30)
    # with no metric poll for longer than three intervals the hold stops counting down
    assert hold_line(state, T0 + 600) == hold_line(state, T0 + 3600)
    paused = folded("rollback-proposed")  # paused by the trip, 10:15 into the hold
    assert "hold 04:45 left" in hold_line(paused, T0)
    assert "hold 04:45 left" in hold_line(paused, T0 + 600)
    assert "rollback proposed: R to roll back, p to decline" in hold_line(paused, T0)
    shifting = folded("shifting")
    assert "traffic 5% → 25%" in hold_line(shifting, T0)
    assert "C to confirm" in hold_line(shifting, T0)


def test_rule_states_read_as_the_operator_expects() -> None:
    holding = folded("holding").evaluations
    assert rule_state_text(holding["auth-failures"]) == "breaching 1m of 2m"
    assert rule_state_text(holding["queue-lag"]) == "inconclusive"
    assert rule_state_text(holding["http-5xx"]) == "ok"
    assert rule_state_text(folded("rolled-back").evaluations["http-5xx"]) == "TRIPPED"


def test_the_header_never_claims_go_once_a_rollback_started() -> None:
    for name, label in (("runbook-failed", "ROLLING BACK from 25%"),
                        ("rolled-back", "ROLLED BACK from 25%")):
        state = folded(name)
        head = header(state, go=True, blocking=[])  # the checklist itself is all green
        assert head.rollout_label == label
        assert not head.go and not head.verdict_shown
        assert "http-5xx" in head.reason
    holding = header(folded("holding"), go=False, blocking=["internal-not-routed"])
    assert holding.verdict_shown and holding.rollout_label == "ROLLING OUT 25%"
    proposed = header(folded("rollback-proposed"), go=True, blocking=[])
    assert proposed.rollout_label == "HELD · ROLLBACK PROPOSED" and proposed.rollout_tone == "fail"
    assert not proposed.go and not proposed.verdict_shown and "http-5xx" in proposed.reason
    stalled = dataclasses.replace(folded("holding"), stalled={"queue-lag": "no data for 40m > 30m"})
    head = header(stalled, go=True, blocking=[])
    assert head.rollout_label == "STALLED at 25%" and head.reason == "queue-lag: no data for 40m > 30m"
    fresh = header(folded("idle"), go=False, blocking=["smoke"], checked=False)
    assert not fresh.checked and fresh.rollout_label == "NOT STARTED"  # the bar: NOT CHECKED


def test_health_rows_from_check_evidence() -> None:
    plan = plan_with()
    health = CheckResult("health-all", "security", "http_health", "h", True, Status.FAIL, "1 down",
                         evidence={"services": {
                             "auth": {"status": 200, "latency_ms": 12.5, "version": "1.4.2"},
                             "qna": {"error": "cannot connect"}}}, finished_at=1.0)
    # the evidence prometheus_targets records: "job instance" -> {"up": ..., "age_s": ...}
    targets = CheckResult("targets", "obs", "prometheus_targets", "t", True, Status.FAIL, "1 down",
                          evidence={"targets": {
                              "auth 10.0.0.1:8080": {"up": 1.0, "age_s": 3.0},
                              "qna 10.0.0.2:8080": {"up": 0.0, "age_s": 3.0},
                              "documents 10.0.0.3:8080": {"up": 1.0, "age_s": 3.0},
                              "documents 10.0.0.4:8080": {"up": 0.0, "age_s": 3.0}}},
                          finished_at=2.0)
    rows = {r.service: r for r in health_rows(plan, {"health-all": health, "targets": targets})}
    assert rows["auth"].health is Status.PASS and rows["auth"].latency_ms == 12.5
    assert rows["auth"].version == "1.4.2" and rows["auth"].scrape == "up"
    assert rows["qna"].health is Status.FAIL and "cannot connect" in rows["qna"].detail
    assert rows["qna"].scrape == "down"
    assert rows["documents"].scrape == "1/2 up"  # one of its two targets is down
    assert rows["transactions"].scrape == ""  # Prometheus scrapes nothing of it: unknown
    assert rows["documents"].health is Status.PENDING  # never checked: not shown as healthy


def test_a_target_belongs_to_a_service_by_job_or_by_address() -> None:
    svc = Service(name="ledger", health_url=Value(literal="http://10.0.0.9:8000/health"),
                  metrics_url=Value(literal="http://10.0.0.9:9100/metrics"))
    assert scrape_state(svc, {"ledger 10.1.1.1:80": {"up": 1.0}}) == "up"  # by job
    assert scrape_state(svc, {"node 10.0.0.9:9100": {"up": 0.0}}) == "down"  # by metrics address
    assert scrape_state(svc, {"node 10.0.0.9:8000": {"up": 1.0}}) == "up"  # by health address
    assert scrape_state(svc, {"node 10.0.0.7:9100": {"up": 1.0}}) == ""  # someone else's
    referenced = Service(name="ledger2", health_url=Value(ref=SecretRef.parse("env:LEDGER_URL")))
    assert scrape_state(referenced, {"node 10.0.0.9:8000": {"up": 1.0}}) == ""  # not resolved here


def test_recent_ages_step_by_ten_seconds_then_minutes() -> None:
    assert [fmt_recent(s) for s in (0, 9.9, 10, 31, 59, 61, 7200)] == [
        "<10s", "<10s", "10s", "30s", "50s", "1m", "2h"]
    assert fmt_recent(None) == ""


def test_the_grid_heading_says_when_it_is_checked_next() -> None:
    assert health_title(30, 18.2, running=False) == "Services · next in 18s · every 30s"
    assert health_title(30, 5, running=True) == "Services · checking…"
    assert health_title(30, None, running=False) == "Services"  # a watcher: the driver re-checks
    assert health_title(0, 5, running=False) == "Services"  # refresh turned off


def _result(check_id: str, status: Status) -> CheckResult:
    return CheckResult(check_id, "g", "command", check_id, True, status, str(status), finished_at=T0)


def test_pending_is_not_failing_while_the_checklist_runs() -> None:
    plan = plan_with(owners={"release_manager": "Ada Lovelace"})  # nobody TBD
    idle = folded("idle")
    required = [c.id for _, c in plan.checklist() if c.required]
    run = ChecklistRun(frozenset(c.id for _, c in plan.checklist()))

    def head(results: dict[str, CheckResult], run: ChecklistRun | None) -> Header:
        state = dataclasses.replace(idle, results=results)
        return verdict_head(state, decide(plan, results, plan.owners), plan, run)

    assert not decide(plan, {}, plan.owners).go  # every required check blocks: none has run
    before = head({}, None)
    assert not before.checked and before.checking is None  # NOT CHECKED
    started = head({}, run)
    assert not started.checked and started.checking == (0, len(run.ids))  # CHECKING 0/N
    # all but one passed: still CHECKING
    results = {cid: _result(cid, Status.PASS) for cid in required[1:]}
    for cid in required[1:]:
        run = run.reported(cid)
    running = head(results, run)
    assert not running.checked and running.checking == (len(required) - 1, len(run.ids))
    # the last one failed: NO-GO at once, naming it, while the run is still open
    results[required[0]] = _result(required[0], Status.FAIL)
    failed = head(results, run.reported(required[0]))
    assert failed.checked and not failed.go and failed.blocking == (required[0],)
    # the run over: the plain verdict
    over = head(results, None)
    assert over.checked and not over.go and over.checking is None
    del results[required[0]]
    assert head(results, None).blocking == (required[0],)  # never reported: blocks once over


def test_a_watcher_reads_the_drivers_first_run_as_checking_not_no_go() -> None:
    """A watcher's panel did not start the run it sees results of: from the first
    result until every automatic check has one it reads CHECKING n/N; a failure that
    arrived is NO-GO at once; the driver's own panel after its run blocks on a gap."""
    plan = plan_with(owners={"release_manager": "Ada", "sre_on_call": "Grace", "db_owner": "Edgar"})
    state = folded("idle")
    auto = [c.id for _, c in plan.checklist() if c.kind != "manual"]
    results = {cid: _result(cid, Status.PASS) for cid in auto[1:]}

    def head(results: dict[str, CheckResult], *, following: bool) -> Header:
        now = dataclasses.replace(state, results=dict(results))
        return verdict_head(now, decide(plan, results, plan.owners), plan, following=following)

    watching = head(results, following=True)
    total = len(plan_ids(plan))  # the manual checks count as done: a run does not wait for them
    assert not watching.checked and watching.checking == (total - 1, total)
    assert head(results, following=False).checked  # the driver: a gap after its run blocks
    results[auto[0]] = _result(auto[0], Status.FAIL)
    failed = head(results, following=True)
    assert failed.checked and failed.blocking == (auto[0],)


def plan_ids(plan: Plan) -> list[str]:
    return [c.id for _, c in plan.checklist()]


def test_an_owner_still_tbd_is_decided_before_any_check_reports() -> None:
    plan = plan_with()  # db_owner = "TBD"
    run = ChecklistRun(frozenset(c.id for _, c in plan.checklist()))
    head = verdict_head(folded("idle"), decide(plan, {}, plan.owners), plan, run)
    assert head.checked and not head.go and head.blocking == ("owners.db_owner",)
    assert head.checking == (0, len(run.ids))


def test_the_grid_keeps_health_latency_and_age_at_80_columns() -> None:
    # the dashboard's right-hand column at 120x40 and at 200x50: the wide set plus scrape
    names, widths, gap = layout(56, 16)
    assert names == ("service", "health", "latency", "checked", "scrape") and gap == 2
    assert widths[1] >= len("✔ HTTP 200") and sum(widths) + gap * (len(widths) - 1) <= 56
    # 80x24: the short set, every header whole
    names, widths, gap = layout(36, 16)
    assert names == ("service", "health", "lat", "age") and gap == 1
    assert all(len(n) <= w for n, w in zip(names, widths, strict=True))
    assert sum(widths) + gap * (len(widths) - 1) <= 36 and widths[1] >= len("✔ 200")
    names, widths, gap = layout(80, 16)
    assert names[-1] == "version" and gap == 2


def test_recent_activity_shows_a_check_that_reported_the_same_again_once() -> None:
    events = recorded("holding")  # health-all re-checked every minute of the hold
    checks = [e.body.result.id for e in events[-30:] if isinstance(e.body, CheckRecorded)]
    assert checks.count("health-all") > 5
    shown = recent(events, 12)
    ids = [e.body.result.id for e in shown if isinstance(e.body, CheckRecorded)]
    assert ids.count("health-all") == 1  # at its latest
    assert shown[-1] == events[-1]  # the newest event is always there
    # what the re-checks used to push out of view
    assert {"stage_entered", "traffic_confirmed", "advance_confirmed"} <= {e.kind for e in shown}


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


def test_staging_reads_as_staging_not_as_a_rollout_at_zero() -> None:
    canary = folded("ready")  # ready at 5%
    staging = dataclasses.replace(canary, phase=Phase.HOLDING, stage_index=0,
                                  weight_confirmed=0.0, weight_intended=0.0)
    assert header(staging, True, []).rollout_label == "STAGING"
    assert header(canary, True, []).rollout_label == "ROLLING OUT 5%"
