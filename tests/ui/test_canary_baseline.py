"""The canary rows at 100 %: the baseline the ratio rules judge against was measured in
an earlier stage, and the panel says which (real engine, real fold, injected clock)."""

from __future__ import annotations

from pathlib import Path

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from support.panel_fixtures import screen_text
from support.rollout import Clock, ScriptedSource, make_engine, poll_for, write_plan


async def test_the_canary_rows_name_the_stage_a_carried_baseline_came_from(tmp_path: Path) -> None:
    path = write_plan(tmp_path)
    path.write_text(path.read_text().replace('weight = 100\nhold = "15m"\nanalysis = false',
                                             'weight = 100\nhold = "15m"'))
    plan = load_plan(path)
    clock = Clock()
    source = ScriptedSource({"http-5xx": (0.002, 0.001), "failed-writes": (0.0, 0.0)})
    engine = make_engine(plan, tmp_path / "s", clock, source)
    engine.start(speed=1.0)
    await engine.run_checks()
    for hold in (1800, 900):
        await engine.advance()
        await poll_for(engine, clock, hold)
    source.baseline_traffic = False  # 100 %: the baseline serves nothing
    await engine.advance()
    await poll_for(engine, clock, 120)
    app = GonogoApp(plan, engine, clock=clock, live=False, session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "0.002 vs 0.001 from half · limit 0.002" in text, text
        await pilot.press("c")  # the canary detail screen says it too
        await pilot.pause()
        text = screen_text(app)
        assert "canary 0.002 vs baseline 0.001 (from half)" in text, text
        assert "baseline 0.001 (from half)  ⠤ ⠤ limit 0.002 (2× baseline)" in text, text
    await engine.aclose()
