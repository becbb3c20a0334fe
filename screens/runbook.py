"""Runbook: the rollback steps with progress and outcomes; retry/skip a failed step
only by explicit decision; reconciliation items marked done before re-rollout."""

from __future__ import annotations

from typing import ClassVar

from gonogo.screens.base import DetailScreen
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label, Static

from gonogo.model import Status
from gonogo.rollout.state import RunbookStepState
from gonogo.untrusted import printable
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.palette import status_style

STEP_STATUS = {
    "pending": Status.PENDING, "running": Status.PENDING, "done": Status.PASS,
    "failed": Status.FAIL, "skipped": Status.SKIPPED,
}
STEP_GLYPH = {"running": "⟳"}


class RunbookScreen(DetailScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide('retry')", "Retry step", id="runbook_retry"),
        Binding("s", "decide('skip')", "Skip step", id="runbook_skip"),
        Binding("m", "reconcile", "Mark reconciled", id="reconcile"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Rollback runbook", classes="screen-title")
        yield Static(id="runbook-status")
        yield DataTable(id="runbook-steps", cursor_type="row")
        yield Static(id="runbook-step-detail")
        yield Label("Reconciliation before re-rollout", classes="box-title")
        yield DataTable(id="runbook-reconcile", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        steps = self.query_one("#runbook-steps", DataTable)
        steps.add_columns("#", "step", "status", "detail")
        rec = self.query_one("#runbook-reconcile", DataTable)
        rec.add_columns("item", "service", "done")
        super().on_mount()

    def refresh_state(self) -> None:
        state, plan = self.panel.state, self.panel.plan
        done = sum(1 for s in state.runbook if s.status in ("done", "skipped"))
        head = Text()
        head.append(f"{done}/{len(state.runbook) or len(plan.runbook.steps)} steps complete")
        if state.stop_reason:
            head.append(f" · stop reason: {printable(state.stop_reason)}", style="bold")
        self.query_one("#runbook-status", Static).update(head)
        table = self.query_one("#runbook-steps", DataTable)
        steps = self._steps()
        row = table.cursor_row if table.row_count else next(  # opens on the step that failed
            (i for i, s in enumerate(steps) if s.status == "failed"), 0)
        table.clear()
        room = self._detail_room(steps)
        for i, step in enumerate(steps, 1):
            status = STEP_STATUS.get(step.status, Status.PENDING)
            glyph = STEP_GLYPH.get(step.status, status.glyph)
            detail = Text(printable(step.detail or ""), no_wrap=True, overflow="ellipsis")
            detail.truncate(room, overflow="ellipsis")
            table.add_row(
                Text(str(i)), Text(printable(step.title)),
                Text(f"{glyph} {step.status}", style=status_style(self.app, status, True)),
                detail, key=step.id,
            )
        if steps:
            table.move_cursor(row=min(row, len(steps) - 1), animate=False)
        self._show_step_detail()
        rec = self.query_one("#runbook-reconcile", DataTable)
        rrow = rec.cursor_row
        rec.clear()
        for item in plan.runbook.reconciliation:
            ok = bool(state.reconciliation.get(item.id))
            st = Status.PASS if ok else Status.PENDING
            rec.add_row(Text(printable(item.title)), Text(printable(item.service) or "–"),
                        Text(f"{st.glyph} {'done' if ok else 'open'}", style=status_style(self.app, st)),
                        key=item.id)
        if plan.runbook.reconciliation:
            rec.move_cursor(row=min(rrow, len(plan.runbook.reconciliation) - 1), animate=False)

    def _steps(self) -> list[RunbookStepState]:
        state, plan = self.panel.state, self.panel.plan
        return list(state.runbook) or [RunbookStepState(s.id, s.title) for s in plan.runbook.steps]

    def _detail_room(self, steps: list[RunbookStepState]) -> int:
        """Cells left for the detail column once the other columns are drawn whole (a
        cut detail ends in an ellipsis; the selected step's reads in full below)."""
        pad = 2 * self.query_one("#runbook-steps", DataTable).cell_padding
        widths = (len(str(len(steps))), max([len("step")] + [len(printable(s.title)) for s in steps]),
                  max([len("status")] + [len(s.status) + 2 for s in steps]))
        width = self.query_one("#runbook-steps", DataTable).scrollable_content_region.width or 80
        return max(8, width - sum(widths) - pad * 4)

    def _show_step_detail(self) -> None:
        table = self.query_one("#runbook-steps", DataTable)
        steps = self._steps()
        text = Text()
        if steps and 0 <= table.cursor_row < len(steps):
            step = steps[table.cursor_row]
            text.append(f"step {table.cursor_row + 1} · {step.status}", style="bold")
            if step.detail:
                text.append(": " + printable(step.detail, newlines=True))
        self.query_one("#runbook-step-detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runbook-steps":
            self._show_step_detail()

    def on_resize(self) -> None:
        self.refresh_state()

    def _selected_step(self) -> RunbookStepState | None:
        table = self.query_one("#runbook-steps", DataTable)
        runbook = list(self.panel.state.runbook)
        if not runbook or table.cursor_row >= len(runbook):
            return None
        return runbook[table.cursor_row]

    def action_decide(self, decision: str) -> None:
        step = self._selected_step()
        if step is None or step.status != "failed":
            self.notify("select a failed step to retry or skip", severity="warning")
            return
        self.panel.intent(f"{decision} {step.id}", self.panel.control.runbook_decision(
            step.id, decision, f"operator chose {decision} in the panel"))

    def action_reconcile(self) -> None:
        items = self.panel.plan.runbook.reconciliation
        rec = self.query_one("#runbook-reconcile", DataTable)
        if not items:
            self.notify("no reconciliation items in this plan")
            return
        item = items[min(rec.cursor_row, len(items) - 1)]
        self.panel.intent(f"reconcile {item.id}", self.panel.control.mark_reconciled(item.id))

