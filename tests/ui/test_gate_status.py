"""One gate-status rule: the CLI report and the panel's checklist agree on every gate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gonogo.app import GonogoApp
from gonogo.config import load_plan
from gonogo.gates import GATE_PRECEDENCE, gate_status
from gonogo.model import CheckResult, Status
from gonogo.report import render_json, render_table
from gonogo.rollout.events import CheckRecorded, CheckResultRecord
from gonogo.rollout.journal import GENESIS, make_event
from gonogo.verdict import decide
from support.control_double import ControlDouble
from support.panel_fixtures import screen_text
from support.panel_journals import T0

# gate id -> the statuses of its required checks (and what the gate must show)
MIXES: dict[str, tuple[tuple[Status | None, ...], Status]] = {
    "warn-skipped": ((Status.WARN, Status.SKIPPED), Status.SKIPPED),
    "warn-pass": ((Status.WARN, Status.PASS), Status.WARN),
    "error-warn-skipped": ((Status.ERROR, Status.WARN, Status.SKIPPED), Status.ERROR),
    "fail-error": ((Status.FAIL, Status.ERROR), Status.ERROR),
    "pending-skipped": ((Status.PENDING, Status.SKIPPED, Status.WARN), Status.PENDING),
    "not-run-warn": ((None, Status.WARN), Status.PENDING),  # None: no result yet
    "all-pass": ((Status.PASS, Status.PASS), Status.PASS),
    "fail-warn": ((Status.FAIL, Status.WARN, Status.SKIPPED), Status.FAIL),
}


def write_plan(tmp: Path) -> Path:
    gates = []
    for gate_id, (statuses, _) in MIXES.items():
        checks = "".join(
            f'''
  [[gates.checks]]
  id = "{gate_id}-{i}"
  title = "{gate_id} check {i}"
  kind = "command"
  argv = ["true"]
''' for i, _ in enumerate(statuses))
        gates.append(f'[[gates]]\nid = "{gate_id}"\ntitle = "Gate {gate_id}"\n{checks}')
    # an optional check that fails does not count against its gate
    gates[-1] += textwrap.dedent('''
      [[gates.checks]]
      id = "optional-fail"
      title = "optional"
      kind = "command"
      argv = ["true"]
      required = false
    ''')
    text = '[release]\nname = "r-1"\ncommit = "abc"\n[owners]\nrm = "Ada"\n' + "\n".join(gates)
    path = tmp / "plan.toml"
    path.write_text(text)
    return path


def results_for(plan_gates) -> dict[str, CheckResult]:  # type: ignore[no-untyped-def]
    out: dict[str, CheckResult] = {}
    for gate in plan_gates:
        statuses = MIXES[gate.id][0]
        for i, status in enumerate(statuses):
            if status is None:
                continue
            cid = f"{gate.id}-{i}"
            out[cid] = CheckResult(cid, gate.id, "command", cid, True, status, f"{status} summary")
    out["optional-fail"] = CheckResult("optional-fail", "fail-warn", "command", "optional", False,
                                       Status.FAIL, "optional failed")
    return out


def test_every_status_has_a_place_in_the_precedence() -> None:
    assert sorted(GATE_PRECEDENCE) == sorted(Status)
    # what blocks GO ranks above what lets it through
    blocking = [s for s in GATE_PRECEDENCE if not s.ok]
    assert GATE_PRECEDENCE[:len(blocking)] == tuple(blocking)


@pytest.mark.parametrize("gate_id", list(MIXES))
def test_gate_status_is_the_worst_required_check(tmp_path: Path, gate_id: str) -> None:
    plan = load_plan(write_plan(tmp_path))
    gate = next(g for g in plan.gates if g.id == gate_id)
    assert gate_status(gate, results_for(plan.gates)) is MIXES[gate_id][1]


def checklist_gate_glyphs(text: str, titles: dict[str, str]) -> dict[str, str]:
    """The glyph the panel draws before each gate's title."""
    out = {}
    for line in text.splitlines():
        for gate_id, title in titles.items():
            if f" {title}  " in line:
                before = line[:line.index(f" {title}  ")]
                out[gate_id] = before.split()[-1]
    return out


async def test_the_cli_table_json_and_the_panel_show_the_same_gate_status(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path))
    results = results_for(plan.gates)
    verdict = decide(plan, results)
    titles = {g.id: g.title for g in plan.gates}
    # the CLI: table titles carry the gate's glyph, JSON its status
    table = render_table(plan, results, verdict, color=False, width=160)
    cli = {}
    for line in table.splitlines():
        for gate_id, title in titles.items():
            if line.strip().endswith(title):
                cli[gate_id] = line.strip()[: -len(title)].strip()
    report = {g["id"]: g["status"] for g in json.loads(render_json(plan, results, verdict))["gates"]}
    # the panel: the checklist over the same results, journalled and folded
    events, prev = [], GENESIS
    for seq, result in enumerate(results.values(), start=1):
        event = make_event(seq, T0, "tester", CheckRecorded(result=CheckResultRecord.of(result)), prev)
        events.append(event)
        prev = event.hash
    control = ControlDouble(plan, events, now=lambda: T0)
    app = GonogoApp(plan, control, clock=lambda: T0, live=False)
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        assert dict(app.state.results) == results
        panel = checklist_gate_glyphs(screen_text(app), titles)
    expected = {gate_id: want for gate_id, (_, want) in MIXES.items()}
    # gates with no result at all are not in the CLI report; every other one is
    shown = {g for g in MIXES if any(c.id in results for c in next(x for x in plan.gates if x.id == g).checks)}
    assert {g: Status(report[g]) for g in shown} == {g: expected[g] for g in shown}
    assert {g: cli[g] for g in shown} == {g: expected[g].glyph for g in shown}
    assert panel == {g: want.glyph for g, want in expected.items()}
