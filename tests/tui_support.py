"""Helpers for the panel's Pilot tests (imported by tests/test_tui_*.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from gonogo.app import GonogoApp
from tui_fake import T0, FakeEngine, panel_plan, recorded_state


def screen_text(app: GonogoApp) -> str:
    """What the terminal shows for the active screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def make_app(*, owners: dict[str, str] | None = None, keys: dict[str, str] | None = None,
             theme: str | None = None, **state: Any) -> tuple[GonogoApp, FakeEngine]:
    plan = panel_plan()
    doc = plan.doc
    if owners is not None:
        doc = msgspec.structs.replace(doc, owners=owners)
    if keys is not None:
        doc = msgspec.structs.replace(doc, keys=keys)
    plan = msgspec.structs.replace(plan, doc=doc)
    engine = FakeEngine(plan, recorded_state(plan, **state))
    app = GonogoApp(plan, engine, clock=lambda: T0, live=False, theme=theme,
                    session_dir="sessions/test")
    return app, engine


ALL_OWNED = {"release_manager": "Ada Lovelace", "sre_on_call": "Grace Hopper",
             "db_owner": "Edgar Codd"}
