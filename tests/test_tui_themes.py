"""Themes: from the config, by key, from the palette; NO_COLOR; app variables declared once."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest
from gonogo.screens.confirm import TypedConfirm
from gonogo.themes import APP_VARIABLES, THEME_NAMES, build_themes
from textual.filter import Monochrome, NoColor

from tui_fake import Phase
from tui_support import make_app, screen_text


def test_every_theme_defines_the_app_variables_and_nothing_else() -> None:
    assert {"canary", "baseline", "pass", "fail", "inconclusive"} <= set(APP_VARIABLES)
    for theme in build_themes():
        assert set(theme.variables) == set(APP_VARIABLES), theme.name
    assert {"gonogo-dark", "gonogo-light", "gonogo-high-contrast", "gonogo-colorblind"} == set(THEME_NAMES)


async def test_theme_comes_from_the_config() -> None:
    app, _ = make_app()
    plan = app.plan
    doc = msgspec.structs.replace(plan.doc, settings=msgspec.structs.replace(
        plan.settings, theme="gonogo-high-contrast"))
    app.plan = msgspec.structs.replace(plan, doc=doc)
    app._wanted_theme = "gonogo-high-contrast"
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
        assert "✘ NO-GO" in text and "✔" in text and "✘ TBD" in text


async def test_palette_switches_theme() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        for ch in "Theme: gonogo-colorblind":
            await pilot.press(ch if ch != " " else "space")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.theme == "gonogo-colorblind"


async def test_force_advance_needs_the_typed_release_name() -> None:
    app, engine = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        assert "owners.db_owner" in screen_text(app)  # what it forces past
        for ch in "monorepo-2026.02.19":
            await pilot.press(ch)
        await pilot.press("enter")
        for ch in "hotfix":
            await pilot.press(ch)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("force_advance", ("hotfix",)) in engine.intents
        assert "▶ 50%" in screen_text(app)


async def test_confirm_key_confirms_a_manual_traffic_shift() -> None:
    app, engine = make_app()
    engine.state = dataclasses.replace(engine.state, phase=Phase.SHIFTING, weight_intended=50.0)
    app.state = engine.state
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "set the weight to 50%, then C to confirm" in screen_text(app)
        await pilot.press("C")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("confirm_traffic", ("",)) in engine.intents
        assert "traffic 50%" in screen_text(app) and "HOLDING" in screen_text(app)
