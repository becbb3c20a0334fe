"""Snapshots of the dashboard and detail screens: 80×24 and 120×40, every theme.

Deterministic: recorded sessions (tests/fixtures/panel, written by the real engine
and folded by the real fold), a fixed clock, no timers (``live=False``), no
visible text cursor. Update after an intended change with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the SVGs before
committing them.
"""

from __future__ import annotations

import pytest

from support.panel_fixtures import make_app

SIZES = [(80, 24), (120, 40)]
THEMES = ["gonogo-dark", "gonogo-light"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
def test_dashboard(snap_compare, theme: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """25% for 12:34 of 15:00: a failing check, a TBD owner, a breaching and a blind metric."""
    app, _ = make_app("holding", theme=theme)
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("theme", ["gonogo-high-contrast", "gonogo-colorblind"])
def test_dashboard_tripped_other_themes(snap_compare, theme: str) -> None:  # type: ignore[no-untyped-def]
    """A stop criterion tripped with on_stop = propose: held, rollback proposed."""
    app, _ = make_app("rollback-proposed", theme=theme)
    assert snap_compare(app, terminal_size=(120, 40))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_after_an_automatic_rollback(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The checklist is all green, but the rollout was rolled back: the header says so."""
    app, _ = make_app("rolled-back")
    assert snap_compare(app, terminal_size=size)


def test_runbook_with_a_failed_step(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app("runbook-failed")
    assert snap_compare(app, press=["b"], terminal_size=(120, 40))


def test_canary_detail(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app("rollback-proposed")
    assert snap_compare(app, press=["c"], terminal_size=(120, 40))


def test_advance_confirmation(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app("holding")
    assert snap_compare(app, press=["a"], terminal_size=(80, 24))


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_log(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """A rollout rolled back by its stop criterion: 105 events shown, 281 metric samples
    hidden, the list following its newest event (the rollback's end)."""
    app, _ = make_app("rolled-back")
    assert snap_compare(app, press=["l"], terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_canary_detail_sizes(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The canary screen while 25% holds: a breaching metric, one gone blind, a dry run;
    each chart with its y-scale, line styles and a legend with the current values."""
    app, _ = make_app("holding")
    assert snap_compare(app, press=["c"], terminal_size=size)
