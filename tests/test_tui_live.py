"""Live wiring: metric polls never overlap, and a burst of engine events collapses."""

from __future__ import annotations

import asyncio

from gonogo.app import GonogoApp
from gonogo.widgets.messages import IntentFailed, StateChanged
from tui_fake import T0, FakeEngine, panel_plan, recorded_state


class SlowTickEngine(FakeEngine):
    """tick() takes longer than the poll interval: a naive timer would stack calls up."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
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
    plan = panel_plan()
    engine = SlowTickEngine(plan, recorded_state(plan))
    app = GonogoApp(plan, engine, clock=lambda: T0, tick_interval=0.005, live=True)
    async with app.run_test(size=(80, 24)):
        await asyncio.wait_for(engine.enough.wait(), 30)
    assert engine.ticks >= 4
    assert engine.max_running == 1


def test_state_messages_collapse_to_the_newest() -> None:
    older, newer = StateChanged("s1"), StateChanged("s2")
    assert newer.can_replace(older)
    assert not IntentFailed("x", "y").can_replace(older)


async def test_a_burst_of_engine_events_renders_the_last_state() -> None:
    plan = panel_plan()
    engine = FakeEngine(plan, recorded_state(plan))
    app = GonogoApp(plan, engine, clock=lambda: T0, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for role in ("a", "b", "c", "d", "e"):
            await engine.set_owner("db_owner", f"Owner {role}")  # five events in one go
        await pilot.pause()
        assert app.state.owners["db_owner"] == "Owner e"
        assert len(app.events) == 5  # every event is kept for the log, even if frames collapse
