"""What an SRE reads in the canary block and on the canary screen: per metric its name,
state, canary value, baseline value and limit (with units) at 80×24; charts with a
y-scale and line styles that differ without colour where there is room; the noise
floor called a noise floor. Recorded sessions through the real fold, and the real
engine on an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.screens.canary_detail import CanaryDetailScreen

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from gonogo.widgets import braille
from gonogo.widgets.canary import CanaryPanel
from support.panel_fixtures import make_app, screen_text
from support.rollout import Clock, ScriptedSource, make_engine, poll_for, write_plan

LEGEND = "⠤⠤ canary  ⠄⠄ baseline  ⠤ ⠤ limit"


def block(app: GonogoApp) -> list[str]:
    """The canary block's lines as the terminal shows them."""
    panel = app.screen.query_one(CanaryPanel)
    region = panel.content_region
    rows = screen_text(app).splitlines()[region.y:region.y + region.height]
    return [row[region.x:region.x + region.width].rstrip() for row in rows]


async def test_at_80x24_every_metric_reads_name_state_values_and_limit() -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = block(app)
        assert lines == [
            "Canary vs baseline",
            "✔ 5xx ratio  ok",
            "0.201% vs 0.185% · limit 0.37%",
            "▲ Auth failures  breaching 1m of 2m",
            "canary 3.1% · limit 2%",
            "? Worker queue lag  no data",
            "no data: the query returned no data",
            "✔ p95 latency  ok",
            "119ms vs 123ms · limit 184ms",
        ], "\n".join(lines)
        assert not any("…" in line for line in lines)  # nothing cut that had room


@pytest.mark.parametrize("size", [(120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_with_room_each_row_has_a_chart_with_its_scale(size: tuple[int, int]) -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        lines = block(app)
        assert lines[1] == LEGEND  # the same styles the charts draw in
        five = next(i for i, line in enumerate(lines) if line.startswith("✔ 5xx ratio  ok"))
        assert "0.5%┤" in lines[five]  # the top of the scale
        assert "0.201% vs 0.185% · limit 0.37%" in lines[five + 1]
        bottom = five + (2 if size[1] >= 50 else 1)
        assert "0%┤" in lines[bottom]
        latency = next(i for i, line in enumerate(lines) if line.startswith("✔ p95 latency  ok"))
        assert "200ms┤" in lines[latency] and "119ms vs 123ms · limit 184ms" in lines[latency + 1]
        if size[1] >= 50:  # a third line per metric says the rule
            assert "dry run · limit 1.5× baseline for 5m" in lines[latency + 2]
        assert not any("…" in line for line in lines[:latency + 2])


async def test_the_canary_screen_gives_scale_current_values_and_the_rule() -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CanaryDetailScreen)
        text = screen_text(app)
        assert "Auth failures  above: limit 2% for 2m" in text
        assert "▲ breaching 1m of 2m — canary 3.1% > 2% for 1m of 2m" in text
        assert "⠤⠤ canary 3.1%  ⠤ ⠤ limit 2%" in text  # no baseline query: no baseline key
        assert "? inconclusive — no data: the query returned no data" in text
        assert "p95 latency  ratio_above: limit 1.5× baseline for 5m  (dry run: never stops" in text
        assert "⠤⠤ canary 119ms  ⠄⠄ baseline 123ms  ⠤ ⠤ limit 184ms (1.5× baseline)" in text
        assert " 5%┤" in text and "200ms┤" in text and "0ms┤" in text


async def test_the_noise_floor_is_called_a_noise_floor(tmp_path: Path) -> None:
    path = write_plan(tmp_path)
    path.write_text(path.read_text().replace('threshold = 0.001\nduration = "5m"',
                                             'threshold = 0.001\nduration = "5m"\nunit = "ratio"'))
    plan = load_plan(path)
    clock = Clock()
    source = ScriptedSource({"http-5xx": (0.0, 0.0), "failed-writes": (0.0, 0.0)})
    engine = make_engine(plan, tmp_path / "s", clock, source)
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 120)
    app = GonogoApp(plan, engine, clock=clock, live=False, session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lines = block(app)
        assert any("0% vs 0% · noise floor 0.1%" in line
                   for line in lines), "\n".join(lines)
        await pilot.press("c")
        await pilot.pause()
        text = screen_text(app)
        assert "5xx ratio  ratio_above: limit max(2× baseline, noise floor 0.1%) for 5m" in text
        assert "✔ ok — canary 0% vs baseline 0% — under the 0.1% noise floor" in text, text
        assert "limit 0.1% (noise floor)" in text
    await engine.aclose()


async def test_without_colour_the_lines_still_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = make_app("holding", theme="gonogo-high-contrast")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.no_color
        assert block(app)[1] == LEGEND
    # canary solid, limit dashed, baseline dotted: three flat lines, one per row of cells
    window = braille.PagedWindow(8)
    series = [(float(t), 2.5, 0.5) for t in range(8)]
    rows = braille.to_text(braille.paged_plot(series, 4.5, window, 4, 3)).splitlines()
    assert window.y_range == (0.0, 5.0)
    dots = [[bin(ord(ch) - braille.BRAILLE_BASE).count("1") if ch != " " else 0 for ch in row]
            for row in rows]
    assert dots[0] == [2, 0, 2, 0]  # the limit: dashed
    assert dots[1] == [2, 2, 2, 2]  # the canary: solid
    assert dots[2] == [1, 1, 1, 1]  # the baseline: dotted


async def test_before_the_first_poll_one_line_per_metric_and_no_empty_charts() -> None:
    app, _ = make_app("idle")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert block(app) == ["Canary vs baseline", "? 5xx ratio  no data yet",
                              "? Auth failures  no data yet", "? Worker queue lag  no data yet",
                              "? p95 latency  no data yet"]
        await pilot.press("c")
        await pilot.pause()
        text = screen_text(app)
        assert text.count("? inconclusive — no data yet: the canary has not been polled") == 4
