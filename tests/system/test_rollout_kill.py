"""SIGKILL the headless driver at many points, resume, and compare with an
uninterrupted run: same state at the point of death, same outcome after resuming.

The process kills itself through a test-only journal store (``support.killing_journal``,
which the CLI opens in place of ``FileJournal``): right after an event is fsync'd
(``after``), just before it is written (``before``), or half-way through writing its
line (``torn``), so every point is exact.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from gonogo.config import load_plan
from gonogo.rollout.journal import EVENTS_FILE, Event, FileJournal, read_events, verify_file
from gonogo.rollout.state import RolloutState, fold
from support.loopback import serve
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan

SPEED = "60"
HEALTHY_POINTS = [
    "after:session_started:1",
    "after:check_result:2",  # initial checks recorded, nothing advanced
    "after:advance_confirmed:1",  # confirmed, no traffic intent yet
    "after:traffic_intended:1",  # mid traffic shift: intended, not confirmed
    "torn:traffic_confirmed:1",  # during a journal write
    "after:stage_entered:1",
    "after:samples:2",  # mid-hold
    "torn:samples:4",
    "after:hold_completed:1",  # exit checks not yet run
    "after:signed_off:1",
    "before:stage_entered:2",
    "after:advance_confirmed:4",  # the advance to stable, not yet marked stable
]
ROLLBACK_POINTS = [
    "after:criterion_tripped:1",  # tripped, rollback not started
    "after:rollback_started:1",
    "after:runbook_step_started:1",  # mid-runbook: traffic step running
    "torn:traffic_confirmed:3",  # the rollback's shift half-written
    "after:runbook_step_finished:2",
    "after:runbook_step_started:4",  # incident step running
]


def project(s: RolloutState) -> dict[str, Any]:
    """What must match: everything but timings and metric samples."""
    return {
        "phase": s.phase, "stage": s.stage_index, "target": s.target_index,
        "intended": s.weight_intended, "confirmed": s.weight_confirmed,
        "runbook": tuple((r.id, r.status) for r in s.runbook), "stopped": s.stop_reason is not None,
        "rollbacks": s.rollbacks, "trip_pending": s.trip_pending,
        "results": sorted((k, str(v.status)) for k, v in s.results.items()),
        "signoffs": sorted(s.signoffs), "owners": dict(s.owners), "forced": s.forced,
    }


def cut(events: list[Event], point: str) -> list[Event]:
    """The reference run's events up to the kill point."""
    when, kind, count = point.split(":")
    seen = 0
    for i, e in enumerate(events):
        if e.kind == kind:
            seen += 1
            if seen == int(count):
                return events[: i + 1] if when == "after" else events[:i]
    raise AssertionError(f"the reference run never reached {point}")


def milestones(events: list[Event]) -> list[tuple[str, Any]]:
    keep = {"stage_entered": "stage", "runbook_step_finished": "step", "rollback_finished": None,
            "release_stable": None}
    return [(e.kind, e.data.get(keep[e.kind]) if keep[e.kind] else None) for e in events if e.kind in keep]


async def rollout(tmp: Path, name: str, regress_at: float | None, kill: str | None = None) -> tuple[int, Path, Path]:
    admin = ScriptedAdmin(regress_at=regress_at)
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp, base, name=f"{name}.toml")
        session = tmp / name
        rc, _, err = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                   "--speed", SPEED, kill_at=kill)
        assert "Traceback" not in err, err
        if kill:
            assert rc == -signal.SIGKILL, f"{kill}: exit {rc}, {err}"
            # Resume against the same (stateful) admin API, as after a real crash.
            rc2, out2, err2 = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                            "--speed", SPEED)
            assert "Traceback" not in err2, err2
            return rc2, plan, session
    return rc, plan, session


async def check_flow(tmp: Path, regress_at: float | None, points: list[str], expected_rc: int) -> None:
    rc, plan_path, ref_session = await rollout(tmp, "reference", regress_at)
    assert rc == expected_rc
    plan = load_plan(plan_path)
    reference = read_events(ref_session)
    final = project(fold(reference, plan))
    limit = asyncio.Semaphore(3)

    async def one(i: int, point: str) -> None:
        async with limit:
            name = f"kill{i}"
            # State at the point of death, as a resume reads it (torn tail set aside).
            admin = ScriptedAdmin(regress_at=regress_at)
            async with serve(admin.app) as base:
                p = write_cli_plan(tmp, base, name=f"{name}.toml")
                # each kill point is its own rehearsal of the release, run side by side: its
                # own state directory, so that one's driver lock does not refuse another
                state = {"GONOGO_STATE_DIR": str(tmp / f"state-{name}")}
                rc, _, err = await run_cli("rollout", "-c", str(p), "--session", str(tmp / name), "--yes", "--auto-signoff",
                                           "--speed", SPEED, kill_at=point, env=state)
                assert rc == -signal.SIGKILL, f"{point}: exit {rc}: {err[-500:]}"
                warnings: list[str] = []
                journal = FileJournal(tmp / name, warn=warnings.append)
                at_death = journal.read()
                journal.close()
                if point.startswith("torn:"):
                    assert warnings and "torn" in warnings[0], point
                assert project(fold(at_death, plan)) == project(fold(cut(reference, point), plan)), point
                rc, out, err = await run_cli("rollout", "-c", str(p), "--session", str(tmp / name), "--yes", "--auto-signoff",
                                             "--speed", SPEED, env=state)
            assert rc == expected_rc, f"{point}: resumed run exited {rc}: {err[-800:]}"
            assert "session resumed" in out
            resumed = read_events(tmp / name)
            assert verify_file(tmp / name / EVENTS_FILE).ok, point
            assert project(fold(resumed, plan)) == final, point
            assert milestones(resumed) == milestones(reference), point

    outcomes = await asyncio.gather(*(one(i, p) for i, p in enumerate(points)), return_exceptions=True)
    failures = [f"{p}: {o}" for p, o in zip(points, outcomes, strict=True) if isinstance(o, BaseException)]
    assert not failures, "\n".join(failures)


@pytest.mark.timeout(240)
async def test_kill_and_resume_during_a_healthy_rollout(tmp_path: Path) -> None:
    await check_flow(tmp_path, None, HEALTHY_POINTS, expected_rc=0)


@pytest.mark.timeout(240)
async def test_kill_and_resume_during_a_rollback(tmp_path: Path) -> None:
    await check_flow(tmp_path, 50, ROLLBACK_POINTS, expected_rc=3)
