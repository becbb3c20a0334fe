"""Live wiring: metric polls never overlap, and a burst of engine events collapses."""

from __future__ import annotations

import asyncio

from gonogo.app import GonogoApp
from gonogo.rollout.state import fold
from gonogo.widgets.messages import IntentFailed, StateChanged
from support.control_double import ControlDouble
from support.panel_fixtures import make_app, plan_with, recorded, screen_text
from support.panel_journals import T0


class SlowTicks(ControlDouble):
    """tick() takes longer than the poll interval: a naive timer would stack calls up."""

    def __init__(self) -> None:
        super().__init__(plan_with(), recorded("holding"), now=lambda: T0)
        self.running = 0
        self.max_running = 0
        self.ticks = 0
        self.enough = asyncio.Event()

    async def tick(self) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(0.05)  # a slow metrics endpoint
            self.ticks += 1
            if self.ticks >= 4:
                self.enough.set()
        finally:
            self.running -= 1


async def test_metric_polls_rearm_after_finishing_and_never_overlap() -> None:
    control = SlowTicks()
    app = GonogoApp(control.plan, control, clock=lambda: T0, tick_interval=0.005, live=True)
    async with app.run_test(size=(80, 24)):
        await asyncio.wait_for(control.enough.wait(), 30)
    assert control.ticks >= 4
    assert control.max_running == 1
    assert control.asked("recover") == [()]  # a live panel first finishes what a crash left


def test_state_messages_collapse_to_the_newest() -> None:
    plan = plan_with()
    events = recorded("holding")
    older, newer = StateChanged(fold(events[:-1], plan)), StateChanged(fold(events, plan))
    assert newer.can_replace(older)
    assert not IntentFailed("x", "y").can_replace(older)


async def test_a_burst_of_engine_events_renders_the_last_state() -> None:
    events = recorded("holding")
    burst = 20  # the last polls of the hold, the check re-run and db_owner → TBD
    app, control = make_app(upto=len(events) - burst)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "TBD — blocks GO" not in screen_text(app) and "✔ GO" in screen_text(app)
        control.play(events[-burst:])  # twenty events in one go
        await pilot.pause()
        assert app.state == fold(events, control.plan)
        assert "TBD — blocks GO" in screen_text(app) and "✘ NO-GO  2 blocking" in screen_text(app)
        assert len(app.events) == len(events)  # every event is kept for the log
