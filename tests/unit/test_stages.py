"""The stage machine: a pure fold over events, the phase rules, and what blocks an advance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from gonogo.config import load_plan
from gonogo.model import CheckResult, Status
from gonogo.rollout import phases
from gonogo.rollout.events import decode
from gonogo.rollout.journal import GENESIS, Event, make_event
from gonogo.rollout.phases import TRANSITIONS, Phase, preview
from gonogo.rollout.stages import SEED_STAGES, plan_metrics, plan_stages
from gonogo.rollout.state import fold
from gonogo.verdict import decide
from support.rollout import write_plan

FIXTURES = Path(__file__).parents[1] / "fixtures" / "journals"


class Log:
    """Events as a journal records them: a kind and its data (fields left out take
    their defaults, as in a journal written before they existed)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, kind: str, t: float, actor: str = "ada", **data: Any) -> None:
        prev = self.events[-1].hash if self.events else GENESIS
        self.events.append(make_event(len(self.events) + 1, t, actor, decode(kind, data), prev))


def result(check_id: str, status: Status = Status.PASS) -> dict[str, Any]:
    return CheckResult(check_id, "pre", "command", check_id, True, status, "ok").to_dict()


def entered(log: Log, t: float, index: int, stage: str, weight: float) -> None:
    log.add("advance_confirmed", t, from_index=index - 1, to_index=index, forced=False, reason="")
    log.add("traffic_intended", t, weight=weight, stage=stage, purpose="advance")
    log.add("traffic_confirmed", t, weight=weight, stage=stage, detail="ok")
    log.add("stage_entered", t, index=index, stage=stage, weight=weight)


def sampled(log: Log, plan: Any, start: float, end: float, *, every: float = 10.0,
            blind: bool = False) -> None:
    """Metric polls from ``start`` to ``end``: conclusive, or (``blind``) the source down."""
    ids = [m.id for m in plan_metrics(plan)]
    t = start
    while t <= end:
        if blind:
            log.add("samples", t, values={i: None for i in ids}, errors={i: "cannot connect" for i in ids})
        else:
            log.add("samples", t, values={i: [0.001, 0.001] for i in ids}, errors={})
        t += every


def test_seed_plan_is_the_default(tmp_path: Path) -> None:
    p = tmp_path / "bare.toml"
    p.write_text('[release]\nname = "x"\ncommit = "y"\n')
    plan = load_plan(p)
    assert plan_stages(plan) == SEED_STAGES
    assert [s.weight for s in SEED_STAGES] == [0, 5, 25, 50, 100, 100]
    assert SEED_STAGES[1].hold.seconds == 1800  # canary: observe 30 min
    assert plan_metrics(plan) == ()  # no metrics source configured: nothing to judge
    state = fold([], plan)
    assert state.phase == Phase.IDLE and len(state.stages) == 6


def test_hold_runs_in_plan_time_and_pauses_stop_it(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=2.0)
    entered(log, 100.0, 0, "canary", 5)
    sampled(log, plan, 110.0, 160.0)
    s = fold(log.events, plan)
    assert s.phase == Phase.HOLDING and s.weight_confirmed == 5.0
    assert s.hold_elapsed(160.0) == 120.0  # 60 real seconds at x2
    sampled(log, plan, 170.0, 200.0)
    log.add("paused", 200.0, reason="lunch")
    log.add("resumed", 300.0)
    sampled(log, plan, 310.0, 400.0)
    s = fold(log.events, plan)
    assert s.phase == Phase.HOLDING
    assert s.hold_elapsed(400.0) == 400.0  # 200 real seconds held, 100 paused
    assert s.hold_remaining(400.0) == 1800.0 - 400.0
    # A resume at another speed banks what was held so far.
    sampled(log, plan, 410.0, 500.0)
    log.add("session_resumed", 500.0, actor="grace", speed=10.0)
    sampled(log, plan, 501.0, 510.0, every=1.0)
    s = fold(log.events, plan)
    assert s.driver == "grace"
    assert s.hold_elapsed(500.0) == 600.0 and s.hold_elapsed(510.0) == 700.0


def test_blind_time_does_not_count_toward_a_hold(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    entered(log, 100.0, 0, "canary", 5)
    sampled(log, plan, 115.0, 400.0, every=15.0)  # 300 s with data
    sampled(log, plan, 415.0, 1000.0, every=15.0, blind=True)  # the source frozen for 10 min
    s = fold(log.events, plan)
    assert s.hold_elapsed(1000.0) == 300.0
    assert s.hold_blind(1000.0) == 600.0
    # the time after the last blind poll is blind too, however long nobody polls
    assert s.hold_elapsed(5000.0) == 300.0
    pv = preview(s, plan, 1000.0, decide(plan, {}))
    assert any("no conclusive canary data: 10m" in b for b in pv.blockers)
    # data returns: the hold goes on from 300 s, not from the wall clock
    sampled(log, plan, 1015.0, 1315.0, every=15.0)
    s = fold(log.events, plan)
    assert s.hold_elapsed(1315.0) == 600.0  # 300 + 300 (the poll that saw data return was blind)
    # a poller that hangs (no samples at all) stops the hold after three polls' worth
    assert s.hold_elapsed(1315.0 + 45.0) == 645.0 and s.hold_elapsed(1315.0 + 600.0) == 645.0


def test_a_stage_without_analysis_holds_on_the_clock(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, extra="""
        [[rollout.stages]]
        id = "soak"
        weight = 0
        hold = "10m"
        analysis = false
    """))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    index = [s.id for s in plan_stages(plan)].index("soak")
    entered(log, 100.0, index, "soak", 0)
    assert fold(log.events, plan).hold_elapsed(400.0) == 300.0


def test_preview_names_every_blocker_until_clear(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    for cid in ("unit", "smoke"):
        log.add("check_result", 1.0, result=result(cid))
    entered(log, 10.0, 0, "canary", 5)
    s = fold(log.events, plan)
    pv = preview(s, plan, 20.0, decide(plan, s.results, s.owners))
    assert "exit check smoke: not run in this stage yet" in pv.blockers  # a result from before is stale
    log.add("check_result", 15.0, result=result("smoke", Status.FAIL))
    s = fold(log.events, plan)
    pv = preview(s, plan, 20.0, decide(plan, s.results, s.owners))
    text = " | ".join(pv.blockers)
    assert not pv.can_advance
    assert "hold:" in text and "exit check smoke: fail" in text and "NO-GO" in text
    assert "metric http-5xx inconclusive" in text  # no samples yet: never healthy
    assert (pv.from_stage, pv.to_stage, pv.weight_to) == ("canary", "half", 50.0)
    log.add("check_result", 30.0, result=result("smoke"))
    for i in range(119):  # polls cover the whole 30-minute hold (blind time would not count)
        log.add("samples", 40.0 + 15 * i, values={"http-5xx": [0.01, 0.01], "failed-writes": [0, 0]})
    s = fold(log.events, plan)
    assert s.evaluations["http-5xx"].state == "ok"
    pv = preview(s, plan, 10.0 + 1800.0, decide(plan, s.results, s.owners))
    assert pv.can_advance, pv.blockers
    assert pv.checks_passed == pv.checks_total == 1


def test_tbd_owner_blocks_go(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    for cid in ("unit", "smoke"):
        log.add("check_result", 1.0, result=result(cid))
    log.add("owner_set", 2.0, role="security", name="TBD")
    s = fold(log.events, plan)
    pv = preview(s, plan, 3.0, decide(plan, s.results, s.owners))
    assert any("owners.security" in b for b in pv.blockers)
    log.add("owner_set", 4.0, role="security", name="Alan Turing")
    s = fold(log.events, plan)
    assert preview(s, plan, 5.0, decide(plan, s.results, s.owners)).can_advance


def test_rollback_then_reconciliation_gates_a_re_rollout(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    for cid in ("unit", "smoke"):
        log.add("check_result", 1.0, result=result(cid))
    entered(log, 10.0, 0, "canary", 5)
    log.add("rollback_started", 20.0, reason="5xx", trigger="criterion", snapshot={})
    s = fold(log.events, plan)
    assert s.phase == Phase.ROLLING_BACK and [st.status for st in s.runbook] == ["pending"] * 4
    for step in ("shift", "health", "disable", "incident"):
        log.add("runbook_step_started", 21.0, step=step)
        log.add("runbook_step_finished", 22.0, step=step, status="done", detail="")
    log.add("rollback_finished", 23.0)
    s = fold(log.events, plan)
    assert s.phase == Phase.ROLLED_BACK and s.reconciliation == {"ledger": False}
    pv = preview(s, plan, 30.0, decide(plan, s.results, s.owners))
    assert "reconciliation not done: ledger" in pv.blockers
    log.add("reconciled", 31.0, item="ledger")
    s = fold(log.events, plan)
    pv = preview(s, plan, 32.0, decide(plan, s.results, s.owners))
    assert pv.can_advance and pv.to_stage == "canary"


def test_fold_is_deterministic(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    log = Log()
    log.add("session_started", 0.0, release=plan.release.name, speed=1.0)
    entered(log, 2.0, 0, "canary", 5)
    a, b = fold(log.events, plan), fold(list(log.events), plan)
    assert a == b and a.events == 5
    plan2 = msgspec.structs.replace(plan)
    assert fold(log.events, plan2) == a


# -- the phase rules ------------------------------------------------------------------
def _phase_moves(events: list[Event], plan: Any) -> set[tuple[Phase, Phase]]:
    from gonogo.rollout.state import apply, initial_state

    state, moves = initial_state(plan), set()
    for e in events:
        after = apply(state, e, plan)
        if after.phase != state.phase:
            moves.add((state.phase, after.phase))
        state = after
    return moves


def test_every_move_of_the_recorded_rollouts_is_in_the_transition_table() -> None:
    from gonogo.rollout.journal import read_events

    seen: set[tuple[Phase, Phase]] = set()
    for name in ("v1-stable", "v1-rollback"):
        plan = load_plan(FIXTURES / name / "plan.toml")
        seen |= _phase_moves(read_events(FIXTURES / name), plan)
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert seen <= allowed, seen - allowed
    # The recordings exercise the main road and the rollback road.
    assert {(Phase.IDLE, Phase.SHIFTING), (Phase.SHIFTING, Phase.IDLE),
            (Phase.SHIFTING, Phase.HOLDING), (Phase.HOLDING, Phase.PAUSED),
            (Phase.PAUSED, Phase.HOLDING), (Phase.HOLDING, Phase.READY),
            (Phase.READY, Phase.SHIFTING), (Phase.SHIFTING, Phase.STABLE),
            (Phase.PAUSED, Phase.ROLLING_BACK),
            (Phase.ROLLING_BACK, Phase.ROLLED_BACK)} <= seen


def test_transition_table_covers_every_phase_and_ends_only_where_it_should() -> None:
    assert set(TRANSITIONS) == set(Phase)
    assert TRANSITIONS[Phase.ROLLING_BACK] == {Phase.ROLLED_BACK}  # a rollback runs to its end
    assert TRANSITIONS[Phase.ROLLED_BACK] == {Phase.SHIFTING}  # only a re-rollout leaves it
    assert all(Phase.STABLE not in TRANSITIONS[p] for p in Phase if p != Phase.SHIFTING)


@pytest.mark.parametrize(
    ("phase", "active", "pausable", "in_stage", "starts_over", "advance", "force", "rollback"),
    [
        # phase            active pause  stage  start  advance-refusal                   force ok  rollback ok
        (Phase.IDLE,         False, False, False, True,  None,                            True,  False),
        (Phase.SHIFTING,     True,  False, False, False, "a traffic shift is in progress", False, True),
        (Phase.HOLDING,      True,  True,  True,  False, None,                            True,  True),
        (Phase.READY,        True,  True,  True,  False, None,                            True,  True),
        (Phase.PAUSED,       True,  False, True,  False, "paused: 5xx",                   True,  True),
        (Phase.ROLLING_BACK, True,  False, False, False, "a rollback is in progress",     False, False),
        (Phase.ROLLED_BACK,  False, False, False, True,  None,                            True,  False),
        (Phase.STABLE,       False, False, False, False, "the release is already stable", False, True),
    ],
)
def test_what_each_phase_allows(phase: Phase, active: bool, pausable: bool, in_stage: bool,
                                starts_over: bool, advance: str | None, force: bool,
                                rollback: bool) -> None:
    assert phases.is_active(phase) is active
    assert phases.can_pause(phase) is pausable
    assert phases.in_stage(phase) is in_stage
    assert phases.starts_over(phase) is starts_over
    assert phases.advance_refusal(phase, "5xx") == advance
    assert (phases.force_advance_refusal(phase) is None) is force
    assert (phases.rollback_refusal(phase) is None) is rollback
