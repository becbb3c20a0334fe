"""The dashboard: verdict, stage bar, checklist, canary sparklines, health grid, owners.

One screen that reads well at 80×24 (checklist left, the rest stacked and
scrollable on the right) and spreads into three columns from 160 columns wide.
Each panel keeps its inputs in reactives: ``refresh_state`` hands them the new
values and a panel repaints only when its values changed.
"""

from __future__ import annotations

from typing import ClassVar

from gonogo.screens.base import PanelScreen
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Tree

from gonogo.config import Plan
from gonogo.rollout.stages import plan_stages
from gonogo.widgets.activity import ActivityLog, recent
from gonogo.widgets.canary import CanaryPanel
from gonogo.widgets.checklist import ChecklistTree
from gonogo.widgets.health import HealthGrid
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.owners import OwnersPanel
from gonogo.widgets.stagebar import StageBar
from gonogo.widgets.verdict import VerdictBar
from gonogo.widgets.view import (
    health_rows,
    hold_line,
    owner_rows,
    stage_cells,
    stopped_index,
    verdict_head,
    who_line,
)


def stage_signoffs(plan: Plan) -> frozenset[str]:
    """The manual checks a rollout stage waits for: its ``signoff`` and manual exit checks."""
    manual = {c.id for _, c in plan.checks() if c.kind == "manual"}
    named = {s.signoff for s in plan_stages(plan) if s.signoff}
    named |= {cid for s in plan_stages(plan) for cid in plan.expand(s.exit_checks)}
    return frozenset(named & manual)

class DashboardScreen(PanelScreen):
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"), (160, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__(id="dashboard")

    def compose(self) -> ComposeResult:
        # Few widgets, each a panel with its own heading: each widget costs styling and
        # layout before the first frame (the filter box is mounted when first opened).
        plan = self.panel.plan
        yield VerdictBar(plan.release, id="verdict")
        yield StageBar(id="stages")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ChecklistTree(plan.gates, id="checklist", stage_signoffs=stage_signoffs(plan))
            with VerticalScroll(id="right"), Container(id="right-inner"):
                yield CanaryPanel(plan.canary.metrics, title="Canary vs baseline", id="canary",
                                  classes="box")
                with Vertical(id="side-box"):
                    yield HealthGrid(title=self.panel.health_heading(), id="health", classes="box")
                    yield OwnersPanel(title="Owners", id="owners", classes="box")
                    yield ActivityLog(title="Recent activity", id="activity", classes="box")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(ChecklistTree).focus()
        self.refresh_state()

    def refresh_state(self) -> None:
        """Hand every panel its current inputs (cheap; panels repaint only on change)."""
        app = self.panel
        state, plan, verdict = app.state, app.plan, app.verdict
        self.query_one(VerdictBar).head = verdict_head(state, verdict, plan, app.checklist_run,
                                                            following=not app.control.driving)
        self.refresh_clock()
        self.query_one(ChecklistTree).results = state.results
        self.query_one(CanaryPanel).evaluations = state.evaluations
        self.query_one(HealthGrid).rows = health_rows(plan, state.results, app.now())
        self.query_one(OwnersPanel).rows = owner_rows(state.owners)
        self.query_one(ActivityLog).events = recent(app.events, max(4, self.app.size.height // 3))

    def refresh_clock(self) -> None:
        app = self.panel
        bar = self.query_one(StageBar)
        bar.cells = stage_cells(app.state, stopped_index(app.state))
        bar.hold = who_line(app.control.actor, app.control.driving, app.state,
                            hold_line(app.state, app.now()), app.watchers)
        # ages move on without new events (coarse: a row's age changes every 10 s at most)
        grid = self.query_one(HealthGrid)
        grid.rows = health_rows(app.plan, app.state.results, app.now())
        grid.set_heading(app.health_heading())

    # the checklist filter ------------------------------------------------
    def open_filter(self) -> None:
        box = self._filter_box()
        box.add_class("-open")
        box.focus()

    def _filter_box(self) -> Input:
        found = self.query("#filter")
        if found:
            return found.only_one(Input)
        box = Input(placeholder="filter checks (id, title, kind, status)", id="filter")
        self.query_one("#left").mount(box, before=0)
        return box

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(ChecklistTree).needle = event.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ChecklistTree).focus()

    def action_clear_filter(self) -> None:
        for box in self.query("#filter").results(Input):
            box.value = ""
            box.remove_class("-open")
        tree = self.query_one(ChecklistTree)
        tree.needle = ""
        tree.focus()

    def selected_check(self) -> str | None:
        return self.query_one(ChecklistTree).selected_check

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()  # selection by mouse: opening is done through the open_check binding
