"""Helpers for the panel's Pilot tests (imported by tests/test_tui_*.py)."""

from __future__ import annotations

from textual.app import App

from support.panel_fixtures import ALL_OWNED, make_app, open_engine, recorded
from support.panel_journals import T0


def screen_text(app: App[int]) -> str:
    """What the terminal shows for the active screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(app: App[int], pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the intents' workers, then for the screen to catch up."""
    await app.workers.wait_for_complete()
    await pilot.pause()


__all__ = ["ALL_OWNED", "T0", "make_app", "open_engine", "recorded", "screen_text", "settle"]
