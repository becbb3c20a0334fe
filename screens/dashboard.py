"""The dashboard: verdict, stage bar, checklist, canary sparklines, health grid, owners.

One screen that reads well at 80×24 (checklist left, the rest stacked and
scrollable on the right) and spreads into three columns from 160 columns wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from gonogo.widgets.activity import ActivityLog
from gonogo.widgets.canary import CanaryPanel
from gonogo.widgets.checklist import ChecklistTree
from gonogo.widgets.health import HealthGrid
from gonogo.widgets.owners import OwnersPanel
from gonogo.widgets.stagebar import StageBar
from gonogo.widgets.verdict import VerdictBar
from gonogo.widgets.view import health_rows

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.app import GonogoApp


class DashboardScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"), (160, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self.needle = ""

    @property
    def panel(self) -> GonogoApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield VerdictBar(id="verdict")
        yield StageBar(id="stages")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter checks (id, title, kind, status)", id="filter")
                yield ChecklistTree(id="checklist")
            with VerticalScroll(id="right"), Container(id="right-inner"):
                with Vertical(id="canary-box", classes="box"):
                    yield Label("Canary vs baseline", classes="box-title")
                    yield CanaryPanel(id="canary")
                with Vertical(id="side-box"):
                    with Vertical(id="health-box", classes="box"):
                        yield Label("Services", classes="box-title")
                        yield HealthGrid(id="health")
                    with Vertical(id="owners-box", classes="box"):
                        yield Label("Owners", classes="box-title")
                        yield OwnersPanel(id="owners")
                    with Vertical(id="activity-box", classes="box"):
                        yield Label("Recent activity", classes="box-title")
                        yield ActivityLog(id="activity")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(ChecklistTree).focus()
        self.refresh_state()

    def on_resize(self) -> None:
        self.query_one(CanaryPanel).redraw()

    def invalidate(self) -> None:
        """Colours are baked into the renderables: forget them after a theme change."""
        self.query_one(ChecklistTree).invalidate()
        for widget in (VerdictBar, StageBar, OwnersPanel):
            self.query_one(widget)._memo = None
        self.query_one(CanaryPanel)._args = None
        self.query_one(HealthGrid)._last = ()
        self.query_one(ActivityLog)._memo = None

    def refresh_state(self) -> None:
        """Re-render the panels whose inputs changed (cheap; no I/O)."""
        app = self.panel
        state, plan = app.state, app.plan
        self.query_one(VerdictBar).show(plan, app.verdict)
        self.query_one(StageBar).show(state, app.now())
        self.query_one(ChecklistTree).show(plan, state.results, self.needle)
        self.query_one(CanaryPanel).show(plan, state.evaluations)
        self.query_one(HealthGrid).show(health_rows(plan, state.results, state.evaluations))
        self.query_one(OwnersPanel).show(state.owners)
        activity = self.query_one(ActivityLog)
        activity.rows = max(4, self.app.size.height // 3)
        activity.show(app.events)

    def refresh_clock(self) -> None:
        self.query_one(StageBar).show(self.panel.state, self.panel.now())

    # the checklist filter ------------------------------------------------
    def open_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-open")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.needle = event.value.strip()
            self.query_one(ChecklistTree).show(self.panel.plan, self.panel.state.results, self.needle)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ChecklistTree).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-open")
        self.needle = ""
        tree = self.query_one(ChecklistTree)
        tree.show(self.panel.plan, self.panel.state.results, "")
        tree.focus()

    def selected_check(self) -> str | None:
        return self.query_one(ChecklistTree).selected_check

    def on_tree_node_selected(self, event: Any) -> None:
        event.stop()  # selection by mouse: opening is done through the open_check binding
