"""Snapshots of the dashboard (and two detail screens): 80×24 and 120×40, two themes.

Deterministic: a recorded rollout (tests/tui_fake.py: fixed clock, seeded series,
no network), no timers (``live=False``), no visible text cursor. Update after an
intended change with ``pytest tests/test_snapshots.py --snapshot-update`` and look
at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tui_fake import Phase
from tui_support import make_app

SIZES = [(80, 24), (120, 40)]
THEMES = ["gonogo-dark", "gonogo-light"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
def test_dashboard(snap_compare, theme: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app(theme=theme, failing=["internal-not-routed"])
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("theme", ["gonogo-high-contrast", "gonogo-colorblind"])
def test_dashboard_tripped_other_themes(snap_compare, theme: str) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app(theme=theme, tripped=True, phase=Phase.PAUSED)
    assert snap_compare(app, terminal_size=(120, 40))


def test_canary_detail(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app(tripped=True)
    assert snap_compare(app, press=["c"], terminal_size=(120, 40))


def test_advance_confirmation(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app()
    assert snap_compare(app, press=["a"], terminal_size=(80, 24))
