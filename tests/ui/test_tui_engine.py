"""The panel driving the real engine and journal (offline plan, injected clock)."""

from __future__ import annotations

from pathlib import Path

from gonogo.screens.confirm import QuitConfirm
from gonogo.screens.runbook import RunbookScreen

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from gonogo.rollout.state import Phase
from gonogo.widgets.verdict import VerdictBar
from support.panel_fixtures import open_engine, screen_text, settle, type_text
from support.panel_journals import T0, healthy, regression
from support.rollout import Clock, ScriptedSource

PLAN = Path(__file__).parents[1] / "fixtures" / "tui_engine.toml"


def open_session(session: Path, clock: Clock) -> tuple[GonogoApp, Engine]:
    plan = load_plan(PLAN)
    engine = Engine(plan, FileJournal(session), clock=clock, actor="tester",
                         session_dir=str(session))
    engine.start(speed=1.0)
    app = GonogoApp(plan, engine, clock=clock, live=False, session_dir=str(session))
    return app, engine


async def test_quit_mid_rollout_then_resume_shows_the_same_stage_and_hold(tmp_path: Path) -> None:
    clock = Clock(T0)
    session = tmp_path / "session"
    app, engine = open_session(session, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        assert "✔ GO" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert "start → staging" in screen_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        clock.now += 600  # ten minutes into the 30 minute hold
        app.screen.refresh_state()
        await pilot.pause()
        before = screen_text(app)
        assert "▶ Staging" in before and "hold 20:00 left of 30:00" in before
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm)
        await pilot.press("y")
        await pilot.pause()
    stage, remaining = engine.state.stage_index, engine.state.hold_remaining(clock())
    assert (session / "events.jsonl").exists()

    resumed, engine2 = open_session(session, clock)
    assert engine2.state.stage_index == stage == 0
    assert engine2.state.hold_remaining(clock()) == remaining == 1200.0
    async with resumed.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        after = screen_text(resumed)
        assert "▶ Staging" in after and "hold 20:00 left of 30:00" in after
        assert "traffic 0%" in after
        await pilot.press("l")
        await pilot.pause()
        log = screen_text(resumed)
        assert "session_started" in log and "session_resumed" in log and "stage_entered" in log


async def test_rollback_through_the_panel_runs_the_runbook(tmp_path: Path) -> None:
    clock = Clock(T0)
    app, engine = open_session(tmp_path / "s", clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("a", "y")
        await settle(app, pilot)
        await pilot.press("R")
        await pilot.pause()
        await type_text(pilot, "panel-test-1.0")
        await pilot.press("enter")
        await type_text(pilot, "bad")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RunbookScreen)
        text = screen_text(app)
        assert "2/2 steps complete" in text
        assert "✔ done" in text and "stop reason: bad" in text
    assert engine.state.phase is Phase.ROLLED_BACK
    kinds = [e.kind for e in engine.journal.read()]
    assert kinds.count("runbook_step_finished") == 2 and kinds[-1] == "rollback_finished"


async def test_a_refusal_is_shown_not_raised(tmp_path: Path) -> None:
    app, engine = open_session(tmp_path / "s", Clock(T0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")  # nothing to pause while idle
        await settle(app, pilot)
        shown = [n.message for n in app._notifications]
        assert any("nothing to pause" in m for m in shown), shown
        assert app.is_running


async def test_after_an_automatic_rollback_the_header_does_not_read_go(tmp_path: Path) -> None:
    """A 5xx regression at the canary trips its stop criterion; the engine rolls back
    on its own (runbook: shift back, confirm health, open an incident). The checklist
    is still all green, so the verdict is GO, but the header must say what happened."""
    clock = Clock(T0)
    source = ScriptedSource(healthy(T0))
    app, engine = open_engine("ready", tmp_path / "s", clock=clock, source=source)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert screen_text(app).splitlines()[0].lstrip().startswith("✔ GO")
        bad = regression(clock.now)
        while engine.state.phase is not Phase.ROLLED_BACK:
            assert clock.now < T0 + 3600, "the stop criterion never tripped"
            clock.now += 15
            source.values = bad(clock.now)
            await engine.tick()
        await settle(app, pilot)
        assert app.verdict.go  # the checklist alone would say GO
        await pilot.press("escape")  # the runbook opened by itself; back to the dashboard
        await pilot.pause()
        rows = app.screen.query_one(VerdictBar).size.height  # the stop reason wraps
        lines = screen_text(app).splitlines()
        head, lines = " ".join(lines[:rows]), lines[rows:]
        assert "✘ ROLLED BACK from Canary 5%" in head and "stop criterion http-5xx" in head
        assert "GO" not in head.replace("NO-GO", "")
        assert "✘ Canary 5%" in lines[0]  # where the rollout stopped
        assert "ROLLED BACK" in lines[1] and "traffic 0%" in lines[1]
        assert "reconcile before re-rollout: data-writes" in lines[1]
