"""The advance dialog offers the sign-off it is blocked on (issue 12): on the real
engine, `a` shows what blocks and how to sign it, `s` opens the sign-off dialog right
there, and the sign-off is journaled under the panel's person, for the check's role,
with the note typed."""

from __future__ import annotations

from pathlib import Path

from gonogo.screens.confirm import AdvanceConfirm, SignOffDialog

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from support.panel_fixtures import screen_text, settle, type_text, until
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan

MANUAL = """
[[gates]]
id = "by-hand"
title = "By hand"
  [[gates.checks]]
  id = "hand-smoke"
  title = "Manual smoke on staging"
  kind = "manual"
  required = false
  who = "release_manager"
  instructions = "Walk the journeys by hand."
"""


async def test_the_advance_dialog_offers_the_blocking_sign_off(tmp_path: Path) -> None:
    path = write_plan(tmp_path, extra=MANUAL)
    path.write_text(path.read_text().replace('hold = "30m"\nexit_checks = ["smoke"]',
                                             'hold = "30m"\nexit_checks = ["smoke"]\nsignoff = "hand-smoke"'))
    clock = Clock()
    engine = make_engine(load_plan(path), tmp_path / "s", clock, ScriptedSource(HEALTHY),
                         actor="Ada Lovelace")
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 1800)
    app = GonogoApp(engine.plan, engine, clock=clock, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "Manual smoke on staging (signs off a stage)" in screen_text(app)  # not "optional"
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AdvanceConfirm), "the advance dialog")
        text = screen_text(app)
        assert "Cannot advance yet" in text
        assert "sign-off needed: hand-smoke by release_manager (Ada Lovelace)" in text
        assert "s signs off hand-smoke here" in text
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignOffDialog), "the sign-off dialog")
        assert "You sign as Ada Lovelace." in screen_text(app)
        await type_text(pilot, "walked the journeys")
        await pilot.press("enter")
        await until(pilot, lambda: "hand-smoke" in engine.state.signoffs, "the sign-off")
    signed = engine.state.signoffs["hand-smoke"]
    assert (signed.actor, signed.role, signed.note) == ("Ada Lovelace", "release_manager",
                                                       "walked the journeys")
    await engine.aclose()
