"""The panel's seam: the real engine and the test double both implement RolloutControl.

The assignments below are checked by mypy (``mypy --strict tests/ui/test_tui_control.py``);
the tests check the same at run time, member by member, so a method the protocol
gains and the engine lacks fails here, not in a running panel.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from gonogo.config import load_plan
from gonogo.rollout.control import RolloutControl
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from support.control_double import ControlDouble
from support.panel_fixtures import plan_with, recorded
from support.panel_journals import T0

PLAN = Path(__file__).parents[1] / "fixtures" / "tui_engine.toml"
MEMBERS = sorted(name for name in vars(RolloutControl)
                 if not name.startswith("_") and name not in {"register"})


def missing(implementation: object) -> list[str]:
    return [name for name in MEMBERS if not hasattr(implementation, name)]


def signature_mismatches(implementation: object) -> list[str]:
    out = []
    for name in MEMBERS:
        want = getattr(RolloutControl, name)
        have = getattr(type(implementation), name, None)
        if not inspect.isfunction(want) or have is None:
            continue
        if list(inspect.signature(want).parameters) != list(inspect.signature(have).parameters):
            out.append(name)
        if inspect.iscoroutinefunction(want) != inspect.iscoroutinefunction(have):
            out.append(f"{name} (async)")
    return out


def test_the_protocol_is_the_panels_whole_surface() -> None:
    assert {"actor", "driving", "state", "steps", "verdict", "advance_preview", "events", "subscribe", "run_checks",
            "advance", "force_advance", "pause", "resume", "rollback", "sign_off", "set_owner",
            "confirm_traffic", "confirm_step", "runbook_decision", "mark_reconciled", "tick",
            "recover", "aclose", "watchers"} == set(MEMBERS)


def test_the_double_implements_the_protocol() -> None:
    double: RolloutControl = ControlDouble(plan_with(), recorded("idle"), now=lambda: T0)
    assert missing(double) == [] and signature_mismatches(double) == []
    assert double.state.release == "monorepo-2026.02.19"


def test_the_engine_implements_the_protocol(tmp_path: Path) -> None:
    engine = Engine(load_plan(PLAN), FileJournal(tmp_path / "s"), actor="tester")
    control: RolloutControl = engine
    try:
        assert missing(engine) == [] and signature_mismatches(engine) == []
        engine.start()
        assert [e.kind for e in control.events()] == ["session_started"]
    finally:
        engine.journal.close()


def static_check(plan_path: Path, session: Path) -> RolloutControl:
    """Never called: mypy verifies that the real Engine is a RolloutControl."""
    return Engine(load_plan(plan_path), FileJournal(session))
