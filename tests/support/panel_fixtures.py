"""The panel's test sessions and Pilot helpers. Recorded journals
(tests/fixtures/panel/<name>/) folded by the real fold, opened either behind the
intent-recording double or by the real engine (for tests where the panel must react
to what the engine does); ``screen_text``, ``settle``, ``until``, ``type_text``."""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from textual.app import App

from gonogo.app import GonogoApp
from gonogo.config import Plan
from gonogo.context import make_context
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import Event, FileJournal, read_events
from gonogo.rollout.state import RolloutState, fold
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


# The fixtures are read and folded once per test process: events, plans and folded
# states are immutable, and a hundred Pilot tests opening the same few sessions would
# otherwise spend a quarter of their time re-verifying hash chains and re-folding.
@functools.cache
def _recorded(name: str) -> tuple[Event, ...]:
    return tuple(read_events(FIXTURES / name))


def recorded(name: str) -> list[Event]:
    """The events of fixture session ``name`` (verified hash chain)."""
    return list(_recorded(name))


_panel_plan = functools.cache(panel_plan)


@functools.cache
def _folded(name: str, upto: int | None, keys: tuple[tuple[str, str], ...] | None) -> RolloutState:
    events = _recorded(name)
    return fold(events[:upto] if upto is not None else events, plan_with(keys=None if keys is None else dict(keys)))


def plan_with(*, owners: dict[str, str] | None = None, keys: dict[str, str] | None = None) -> Plan:
    plan = _panel_plan()
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
    state = _folded(name, upto, None if keys is None else tuple(sorted(keys.items())))
    double = ControlDouble(plan, events[:upto] if upto is not None else events, now=lambda: T0,
                           state=state)
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
        session_dir=str(session), wall_clock=clock,
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


async def until(pilot, condition: Callable[[], object], what: str,  # type: ignore[no-untyped-def]
                timeout: float = 10.0) -> None:
    """Pause until ``condition()`` holds, instead of a fixed delay. One
    ``pilot.pause()`` waits for the app to look idle, which a starved process (a loaded
    machine, more workers than cores) can seem before it has drawn; a search running
    in a worker (the command palette) finishes when it does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.02)


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` key by key, then wait for the screen once (not after each key:
    each key is still delivered and handled in order)."""
    await pilot.press(*("space" if ch == " " else ch for ch in text))
