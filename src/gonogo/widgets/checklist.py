"""The live checklist: gates → checks, each with a status glyph, colour and duration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from gonogo.config import CheckSpec, Gate
from gonogo.gates import gate_status
from gonogo.model import CheckResult, Status
from gonogo.untrusted import printable
from gonogo.widgets.messages import CheckSelected
from gonogo.widgets.palette import status_style

_TOGGLE = Style.from_meta({"toggle": True})
Shape = tuple[tuple[str, tuple[str, ...]], ...]  # (gate id, visible check ids) per gate


def fmt_ms(ms: float) -> str:
    return f"{ms:.0f}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


def matches(needle: str, spec: CheckSpec, result: CheckResult | None) -> bool:
    if not needle:
        return True
    hay = f"{spec.id} {spec.title} {spec.kind} {result.status if result else 'pending'}".lower()
    return all(word in hay for word in needle.lower().split())


MIN_TITLE = 12
"""A title keeps at least this many cells before what follows it is given up."""


def fit(head: Text, title: Text, tail: Text, why: Text, room: int | None) -> Text:
    """``head title tail why`` in ``room`` cells, cut where it costs least.

    The status glyph (head) and the facts after the title (a gate's ``3/5``, a
    check's duration and ``(optional)``) are kept whole; the failure summary (why)
    goes first, then the title is cut with an ellipsis. Only when even a short title
    does not fit is the tail cut too.
    """
    fixed = head.cell_len + tail.cell_len
    if room is None or fixed + title.cell_len + why.cell_len <= room:
        return Text.assemble(head, title, tail, why, no_wrap=True)
    if fixed + title.cell_len <= room:
        why.truncate(room - fixed - title.cell_len, overflow="ellipsis")
        return Text.assemble(head, title, tail, why, no_wrap=True)
    keep = max(min(MIN_TITLE, title.cell_len), room - fixed)
    title.truncate(keep, overflow="ellipsis")
    line = Text.assemble(head, title, tail, no_wrap=True)
    line.truncate(room, overflow="ellipsis")
    return line


class ChecklistTree(Tree[str]):
    """Node data is ``"gate:<id>"`` for gates and the check id for checks.

    Labels are drawn when a line renders (``render_label``), from ``results`` and
    the current theme: a new result repaints its check's line and its gate's line,
    a theme switch repaints everything, and nothing is baked into the nodes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_check", "Open", id="open_check"),
    ]
    DEFAULT_CSS = """
    ChecklistTree { padding: 0 0; }
    """

    results: reactive[Mapping[str, CheckResult]] = reactive(dict, repaint=False)
    """The latest result per check id (from the rollout state)."""
    needle: reactive[str] = reactive("", repaint=False)
    """The filter: only checks whose id, title, kind or status contain every word."""

    def __init__(self, gates: tuple[Gate, ...], *, id: str | None = None,
                 stage_signoffs: frozenset[str] = frozenset()) -> None:
        self.gates = gates
        # manual checks a stage waits for: "optional" for the verdict, never for the rollout
        self.stage_signoffs = stage_signoffs
        self._gates = {g.id: g for g in gates}
        self._specs = {c.id: c for g in gates for c in g.checks}
        self._gate_of = {c.id: g.id for g in gates for c in g.checks}
        self._by_id: dict[str, TreeNode[str]] = {}
        self._shape: Shape = ()
        super().__init__("Checklist", data="root", id=id)
        self.show_root = False
        self.guide_depth = 2

    def on_mount(self) -> None:
        self._rebuild()

    # reactive wiring ------------------------------------------------------
    def watch_results(self, old: Mapping[str, CheckResult], new: Mapping[str, CheckResult]) -> None:
        if self.needle:
            self._rebuild()  # a status change can move a check in or out of the filter
        changed = {cid for cid in self._specs if old.get(cid) is not new.get(cid)}
        for cid in changed:
            for key in (cid, f"gate:{self._gate_of[cid]}"):
                node = self._by_id.get(key)
                if node is not None:
                    node.refresh()

    def validate_needle(self, needle: str) -> str:
        return " ".join(needle.split())

    def watch_needle(self) -> None:
        self._rebuild()

    def _visible(self) -> Shape:
        shape = tuple(
            (g.id, tuple(c.id for c in g.checks if matches(self.needle, c, self.results.get(c.id))))
            for g in self.gates
        )
        return tuple((g, cs) for g, cs in shape if cs or not self.needle)

    def _rebuild(self) -> None:
        """Rebuild the nodes when the visible set changes (the filter)."""
        shape = self._visible()
        if shape == self._shape and self._by_id:
            return
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self._by_id = {}
        for gate_id, check_ids in shape:
            # Text labels: a str label is parsed as markup (drawn by render_label anyway)
            node = self.root.add(Text(gate_id), data=f"gate:{gate_id}", expand=True)
            self._by_id[f"gate:{gate_id}"] = node
            for cid in check_ids:
                self._by_id[cid] = node.add_leaf(Text(cid), data=cid)
        self._shape = shape
        target = cursor if cursor in self._by_id else None
        if target is None:  # land on the first check, so enter opens what the filter found
            target = next((cid for _, cids in shape for cid in cids), None)
        if target is not None:
            # the tree lays out its lines on the next refresh; place the cursor after it
            self.call_after_refresh(self.move_cursor, self._by_id[target])

    # drawing -----------------------------------------------------------------
    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        data = node.data or ""
        room = self._label_room(node)
        if data.startswith("gate:") and data[5:] in self._gates:
            label = self.gate_label(self._gates[data[5:]], room)
        elif data in self._specs:
            label = self.check_label(self._specs[data], room)
        else:
            return super().render_label(node, base_style, style)
        label.stylize(style)
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon, base_style + _TOGGLE), label)
        return Text.assemble(("", base_style), label)

    def _label_room(self, node: TreeNode[str]) -> int | None:
        """Cells left for a node's label on its line (guides and the toggle icon taken)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return None  # not laid out yet
        depth, parent = 0, node.parent
        while parent is not None and parent is not self.root:
            depth, parent = depth + 1, parent.parent
        icon = len(self.ICON_NODE) if node.allow_expand else 0
        return max(1, width - depth * self.guide_depth - icon)

    def gate_label(self, gate: Gate, room: int | None = None) -> Text:
        results = self.results
        status = gate_status(gate, results)
        done = sum(1 for c in gate.checks if c.id in results and results[c.id].lets_go)
        head = Text(f"{status.glyph} ", style=status_style(self.app, status, bold=True))
        tail = Text(f"  {done}/{len(gate.checks)}", style="dim")
        if gate.scope != "checklist":
            tail.append("  runs in its stage", style="dim italic")
        return fit(head, Text(printable(gate.title), style="bold"), tail, Text(), room)

    def check_label(self, spec: CheckSpec, room: int | None = None) -> Text:
        result = self.results.get(spec.id)
        status = result.status if result else Status.PENDING
        head = Text(f"{status.glyph} ", style=status_style(self.app, status, bold=True))
        title = Text(printable(spec.title))
        tail = Text()
        if spec.id in self.stage_signoffs:
            tail.append(" (signs off a stage)", style="dim")
        elif not spec.required:
            tail.append(" (optional)", style="dim")
        why = Text()
        if result and result.status is not Status.PENDING:
            tail.append(f"  {fmt_ms(result.duration_ms)}", style="dim")
            if not result.status.ok and result.summary:
                why = Text(f"  {printable(result.summary)}", style=status_style(self.app, status))
        return fit(head, title, tail, why, room)

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
