"""The live checklist: gates → checks, each with a status glyph, colour and duration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from gonogo.model import CheckResult, Status
from gonogo.widgets.messages import CheckSelected
from gonogo.widgets.palette import status_style

_ORDER = (Status.ERROR, Status.FAIL, Status.PENDING, Status.WARN, Status.SKIPPED, Status.PASS)


def gate_status(statuses: list[Status]) -> Status:
    """The worst status of a gate's required checks (pending until all have run)."""
    if not statuses:
        return Status.SKIPPED
    for s in _ORDER:
        if s in statuses:
            return s
    return Status.PASS


def fmt_ms(ms: float) -> str:
    return f"{ms:.0f}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


def matches(needle: str, spec: Any, result: CheckResult | None) -> bool:
    if not needle:
        return True
    hay = f"{spec.id} {spec.title} {spec.kind} {result.status if result else 'pending'}".lower()
    return all(word in hay for word in needle.lower().split())


class ChecklistTree(Tree[str]):
    """Node data is ``"gate:<id>"`` for gates and the check id for checks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_check", "Open", id="open_check"),
    ]
    DEFAULT_CSS = """
    ChecklistTree { padding: 0 0; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("Checklist", data="root", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._by_id: dict[str, TreeNode[str]] = {}
        self._shape: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self._shown: dict[str, Any] = {}  # check id -> the result its label shows

    def invalidate(self) -> None:
        """Forget what is drawn (after a theme change: colours are baked into labels)."""
        self._shown = {}

    def show(self, plan: Any, results: Mapping[str, CheckResult], needle: str = "") -> None:
        """Update labels in place; rebuild only when the visible set changes (filter)."""
        shape = tuple(
            (g.id, tuple(c.id for c in g.checks if matches(needle, c, results.get(c.id))))
            for g in plan.gates
        )
        shape = tuple((g, cs) for g, cs in shape if cs or not needle)
        if shape != self._shape:
            self._rebuild(plan, shape)
            self._shown = {}
        for gate in plan.gates:
            node = self._by_id.get(f"gate:{gate.id}")
            if node is None:
                continue
            if all(self._shown.get(c.id, self) is results.get(c.id) for c in gate.checks):
                continue  # nothing new in this gate
            statuses = [
                (results[c.id].status if c.id in results else Status.PENDING)
                for c in gate.checks if c.required
            ]
            done = sum(1 for c in gate.checks if c.id in results and results[c.id].status.ok)
            node.set_label(self._gate_label(gate, gate_status(statuses), done))
            for check in gate.checks:
                leaf = self._by_id.get(check.id)
                result = results.get(check.id)
                if leaf is not None and self._shown.get(check.id, self) is not result:
                    leaf.set_label(self._check_label(check, result))
                self._shown[check.id] = result

    def _rebuild(self, plan: Any, shape: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self._by_id = {}
        gates = {g.id: g for g in plan.gates}
        for gate_id, check_ids in shape:
            node = self.root.add(gate_id, data=f"gate:{gate_id}", expand=True)
            self._by_id[f"gate:{gate_id}"] = node
            checks = {c.id: c for c in gates[gate_id].checks}
            for cid in check_ids:
                self._by_id[cid] = node.add_leaf(checks[cid].title, data=cid)
        self._shape = shape
        target = cursor if cursor in self._by_id else None
        if target is None:  # land on the first check, so enter opens what the filter found
            target = next((cid for _, cids in shape for cid in cids), None)
        if target is not None:
            # the tree lays out its lines on the next refresh; place the cursor after it
            self.call_after_refresh(self.move_cursor, self._by_id[target])

    def _gate_label(self, gate: Any, status: Status, done: int) -> Text:
        text = Text(no_wrap=True)
        text.append(f"{status.glyph} ", style=status_style(self.app, status, bold=True))
        text.append(gate.title, style="bold")
        text.append(f"  {done}/{len(gate.checks)}", style="dim")
        if getattr(gate, "scope", "checklist") != "checklist":
            text.append("  runs in its stage", style="dim italic")
        return text

    def _check_label(self, spec: Any, result: CheckResult | None) -> Text:
        status = result.status if result else Status.PENDING
        text = Text(no_wrap=True)
        text.append(f"{status.glyph} ", style=status_style(self.app, status, bold=True))
        text.append(spec.title)
        if not spec.required:
            text.append(" (optional)", style="dim")
        if result and result.status is not Status.PENDING:
            text.append(f"  {fmt_ms(result.duration_ms)}", style="dim")
            if not result.status.ok and result.summary:
                text.append(f"  {result.summary}", style=status_style(self.app, status))
        return text

    @property
    def selected_check(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.startswith("gate:") or node.data == "root":
            return None
        return node.data

    def action_open_check(self) -> None:
        check_id = self.selected_check
        if check_id is not None:
            self.post_message(CheckSelected(check_id))
        elif self.cursor_node is not None:
            self.cursor_node.toggle()
