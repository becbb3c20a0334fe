"""The four screens a release is watched through, at 80×24, 120×40 and 200×50, drawn
from the real engine: the dashboard, the canary detail, the session log and the
advance dialog.

Each test resumes the recorded ``holding`` session (25 % for 12:34 of its 15:00 hold,
a failing check, a TBD owner, a breaching and a blind metric) in a real ``Engine`` on
a fixed clock (``support.panel_fixtures.open_engine``), so what is drawn is what the
engine and its fold make of the journal, not a hand-built model. The session lives
in a fixed folder under the test's tmp dir so no path varies between runs.

Update after an intended change with ``pytest tests/ui/test_snapshots_engine.py
--snapshot-update`` and look at the SVGs (or the screens in tmux) before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.panel_fixtures import open_engine

SIZES = [(80, 24), (120, 40), (200, 50)]
SCREENS = {"dashboard": [], "canary-detail": ["c"], "session-log": ["l"], "advance-dialog": ["a"]}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_from_the_real_engine(snap_compare, tmp_path: Path, screen: str,  # type: ignore[no-untyped-def]
                                     size: tuple[int, int]) -> None:
    app, _engine = open_engine("holding", tmp_path / "session")
    assert snap_compare(app, press=SCREENS[screen], terminal_size=size)
