"""The panel shows a notification that could not be delivered: journaled as
``notify_failed`` by the real notifier, shown as a warning and in the activity log."""

from __future__ import annotations

from pathlib import Path

import pytest

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from gonogo.notify import attach
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from support.panel_fixtures import screen_text, settle, until
from support.panel_journals import T0
from support.rollout import Clock

PLAN = Path(__file__).parents[1] / "fixtures" / "tui_engine.toml"
UNREACHABLE = """
[[notify]]
kind = "webhook"
name = "ops-hook"
url = "env:GONOGO_UI_HOOK"
retries = 0
"""


async def test_a_failed_notification_is_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONOGO_UI_HOOK", "http://127.0.0.1:9/hook")  # nothing listens there
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(PLAN.read_text() + UNREACHABLE)
    plan = load_plan(plan_path)
    clock = Clock(T0)
    engine = Engine(plan, FileJournal(tmp_path / "s"), clock=clock, actor="tester",
                    session_dir=str(tmp_path / "s"))
    assert attach(engine) is not None
    engine.start(speed=1.0)
    app = GonogoApp(plan, engine, clock=clock, live=False, session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("a", "y")  # stage entered: a notification for ops-hook
        await settle(app, pilot)
        await until(pilot, lambda: app._notifications, "the warning")
        (toast,) = [n for n in app._notifications if n.title == "notification not delivered"]
        assert toast.message.startswith("notification stage_entered to ops-hook NOT DELIVERED")
        assert "cannot connect" in toast.message and "127.0.0.1:9" not in toast.message
        await pilot.pause()
        assert "notification stage_entered to ops-hook" in screen_text(app)  # the activity log
    assert any(e.kind == "notify_failed" for e in engine.events())
