"""The panel's test sessions and Pilot helpers: recorded journals (tests/fixtures/panel/<name>/) folded
by the real fold, opened either behind the intent-recording double or by the real
engine (for tests where the panel must react to what the engine does)."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
from textual.app import App

from gonogo.app import GonogoApp
from gonogo.config import Plan
from gonogo.context import make_context
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import Event, FileJournal, read_events
from support.control_double import ControlDouble
from support.panel_journals import (
    ACTOR,
    FIXTURES,
    T0,
    Health,
    ScriptedTraffic,
    healthy,
    panel_plan,
)
from support.rollout import Clock, ScriptedSource

ALL_OWNED = {"release_manager": "Ada Lovelace", "sre_on_call": "Grace Hopper",
             "db_owner": "Edgar Codd"}


def recorded(name: str) -> list[Event]:
    """The events of fixture session ``name`` (verified hash chain)."""
    return read_events(FIXTURES / name)


def plan_with(*, owners: dict[str, str] | None = None, keys: dict[str, str] | None = None) -> Plan:
    plan = panel_plan()
    doc = plan.doc
    if owners is not None:
        doc = msgspec.structs.replace(doc, owners=owners)
    if keys is not None:
        doc = msgspec.structs.replace(doc, keys=keys)
    return msgspec.structs.replace(plan, doc=doc)


def make_app(name: str = "holding", *, keys: dict[str, str] | None = None,
             theme: str | None = None, upto: int | None = None,
             live: bool = False) -> tuple[GonogoApp, ControlDouble]:
    """The panel over a recorded session (its first ``upto`` events), behind the double."""
    plan = plan_with(keys=keys)
    events = recorded(name)
    double = ControlDouble(plan, events[:upto] if upto is not None else events, now=lambda: T0)
    app = GonogoApp(plan, double, clock=lambda: T0, live=live, theme=theme,
                    session_dir="sessions/test")
    return app, double


def open_engine(name: str, session: Path, *, clock: Clock | None = None,
                manual_traffic: bool = False, health: Health | None = None,
                source: ScriptedSource | None = None) -> tuple[GonogoApp, Engine]:
    """The panel driving the real engine, resumed from a copy of fixture ``name``."""
    session.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / name / "events.jsonl", session / "events.jsonl")
    plan = panel_plan()
    clock = clock or Clock(T0)
    answers = health or Health()
    engine = Engine(
        plan, FileJournal(session), clock=clock, actor=ACTOR,
        traffic=ScriptedTraffic(manual_traffic),
        metrics=source or ScriptedSource(healthy(T0)),
        context_factory=lambda: make_context(plan, transport=answers.transport()),
        session_dir=str(session),
    )
    app = GonogoApp(plan, engine, clock=clock, live=False, session_dir=str(session))
    return app, engine


def screen_text(app: App[int]) -> str:
    """What the terminal shows for the active screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(app: App[int], pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the intents' workers, then for the screen to catch up."""
    await app.workers.wait_for_complete()
    await pilot.pause()
