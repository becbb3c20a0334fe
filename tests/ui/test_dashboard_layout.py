"""The dashboard reads right at 80×24, 120×40 and 200×50: the checklist keeps its facts.

On the recorded ``holding`` session (real engine, real fold): a gate's ``done/total``
and a check's duration with its unit are never cut; a long title gives way instead,
with an ellipsis; and the checklist has no horizontal scrollbar.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from gonogo.model import Status
from gonogo.widgets.checklist import ChecklistTree, fmt_ms
from gonogo.widgets.verdict import VerdictBar
from support.panel_fixtures import make_app, screen_text, settle, until

SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_checklist_lines_keep_counts_and_durations(size: tuple[int, int]) -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(ChecklistTree)
        assert not tree.show_horizontal_scrollbar
        width = tree.scrollable_content_region.width
        seen_gates = seen_checks = 0
        for y in range(len(tree._tree_lines)):
            node = tree._tree_lines[y].node
            strip = tree._render_line(y, 0, tree.size.width, tree.rich_style)
            line = "".join(seg.text for seg in strip).rstrip()
            assert len(line) <= width, line
            data = node.data or ""
            if data.startswith("gate:"):
                gate = tree._gates[data[5:]]
                assert re.search(rf"  \d+/{len(gate.checks)}\b", line), line
                seen_gates += 1
            elif data in tree._specs:
                result = tree.results.get(data)
                if result is not None and result.status is not Status.PENDING:
                    assert f"  {fmt_ms(result.duration_ms)}" in line, line
                    seen_checks += 1
        assert seen_gates == len(tree.gates) and seen_checks >= 5, (seen_gates, seen_checks)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_header_reads_the_whole_stop_reason_and_the_release(size: tuple[int, int]) -> None:
    """A rolled-back release: its stop reason and the release it names are read in full
    (on more header lines, three at most, when one is not enough), never cut to fit one line."""
    app, _ = make_app("rolled-back")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        rows = app.screen.query_one(VerdictBar).size.height
        assert rows <= 3
        header = " ".join(line.strip() for line in screen_text(app).splitlines()[:rows])
        reason = app.state.stop_reason
        assert reason and " ".join(reason.split()) in " ".join(header.split()), header
        assert "monorepo-2026.02.19 @0cab782 → production" in header, header


async def test_the_header_gives_its_lines_back_when_what_it_says_gets_shorter() -> None:
    """A header that needed three lines (a rollback's stop reason at 80 columns) takes
    one again once it says less: no blank line left under it."""
    app, _ = make_app("rolled-back")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        bar = app.screen.query_one(VerdictBar)
        assert bar.size.height == 3
        assert bar.head is not None
        bar.head = dataclasses.replace(bar.head, reason="")
        await until(pilot, lambda: bar.size.height == 1, "the header back to one line")
        assert screen_text(app).splitlines()[1].lstrip().startswith("✔ Staging")
