"""Themes: from the config, by key, from the palette; NO_COLOR; app variables declared once."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from gonogo.screens.confirm import TypedConfirm
from gonogo.themes import APP_VARIABLES, TEXTUAL_VARIABLES, THEME_NAMES, build_themes
from rich.style import Style
from textual.command import CommandList
from textual.filter import Monochrome, NoColor

from gonogo.app import GonogoApp
from support.panel_fixtures import make_app, open_engine, screen_text, settle, type_text, until


def test_every_theme_defines_the_app_variables_and_nothing_else() -> None:
    assert {"canary", "baseline", "pass", "fail", "inconclusive"} <= set(APP_VARIABLES)
    for theme in build_themes():
        assert set(theme.variables) - TEXTUAL_VARIABLES == set(APP_VARIABLES), theme.name
    assert {"gonogo-dark", "gonogo-light", "gonogo-high-contrast", "gonogo-colorblind"} == set(THEME_NAMES)


async def test_theme_comes_from_the_config() -> None:
    recorded, double = make_app()
    plan = recorded.plan
    doc = msgspec.structs.replace(plan.doc, settings=msgspec.structs.replace(
        plan.settings, theme="gonogo-high-contrast"))
    # the theme is in place before the first frame: the app is built from that plan
    app = GonogoApp(msgspec.structs.replace(plan, doc=doc), double, clock=recorded.now, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "gonogo-high-contrast"
        assert app.theme_variables["fail"] == "#ff5555"


async def test_unknown_theme_falls_back_with_a_warning() -> None:
    app, _ = make_app(theme="solarized-neon")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "gonogo-dark"
        assert any("solarized-neon" in n.message for n in app._notifications)


async def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        assert any(isinstance(f, Monochrome | NoColor) for f in app._filters)
        # status still readable without colour: glyphs
        text = screen_text(app)
        assert "✘ NO-GO" in text and "✔" in text and "✘ Internal APIs" in text
        assert "▲ Auth failures  breaching" in text and "? Worker queue lag  no data" in text


def colours_of(app, glyph: str) -> set[str]:  # type: ignore[no-untyped-def]
    """The foreground colours the screen draws ``glyph`` in (as #rrggbb)."""
    found = set()
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style or Style()
            if glyph in segment.text and style.color is not None and style.color.triplet:
                found.add(style.color.triplet.hex)
    return found


async def test_a_theme_switch_recolours_every_panel() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dark = {t.name: t.variables for t in build_themes()}
        assert colours_of(app, "✘") == {dark["gonogo-dark"]["fail"]}
        assert dark["gonogo-dark"]["pass"] in colours_of(app, "✔")
        await pilot.press("t")  # → gonogo-light
        await pilot.pause()
        light = dark["gonogo-light"]
        # the checklist, verdict bar, stage bar and owners all draw ✘/✔ in the new colours
        assert colours_of(app, "✘") == {light["fail"]}
        ticks = colours_of(app, "✔")  # (the tree's cursor line draws its own colour)
        assert light["pass"] in ticks and dark["gonogo-dark"]["pass"] not in ticks


async def test_palette_switches_theme() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await type_text(pilot, "Theme: gonogo-colorblind")
        matches = app.screen.query_one(CommandList)
        await until(pilot, lambda: "gonogo-colorblind" in str(getattr(matches.highlighted_option, "prompt", "")),
                    "the palette to offer gonogo-colorblind")
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "gonogo-colorblind", "the colour-blind theme")
        assert app.theme == "gonogo-colorblind"


async def test_force_advance_needs_the_typed_release_name(tmp_path: Path) -> None:
    app, engine = open_engine("holding", tmp_path / "s")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        text = screen_text(app)
        assert "ramp-25 → ramp-50" in text and "owners.db_owner" in text  # what it forces past
        await type_text(pilot, "monorepo-2026.02.19")
        await pilot.press("enter")
        await type_text(pilot, "hotfix")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "▶ 50%" in screen_text(app) and "traffic 50%" in screen_text(app)
    assert engine.state.forced == ("hotfix",)


async def test_confirm_key_confirms_a_manual_traffic_shift(tmp_path: Path) -> None:
    app, engine = open_engine("shifting", tmp_path / "s", manual_traffic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "traffic 5% → 25%" in text and "set the weight to 25%, then C to confirm" in text
        await pilot.press("C")
        await settle(app, pilot)
        text = screen_text(app)
        assert "traffic 25%" in text and "HOLDING" in text and "C to confirm" not in text
    assert [e.kind for e in engine.events()][-2:] == ["traffic_confirmed", "stage_entered"]
