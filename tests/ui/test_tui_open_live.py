"""The panel opens live, on the real engine and runner: the checklist runs when it
opens with no key pressed (NOT CHECKED → CHECKING n/N → GO), pending is never shown as
failing, and the service grid re-checks its services on its interval, each row with
its age.

The services answer through an httpx mock transport the test can hold (a slow
``/health``), and one command check waits for a flag file: what the screen shows
*while* checks run is asserted, not guessed from timing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from rich.text import Text

from gonogo.app import GonogoApp
from gonogo.config import Plan
from gonogo.context import make_context
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from gonogo.values import Duration
from gonogo.widgets.verdict import VerdictBar
from support.panel_fixtures import screen_text, until
from support.panel_journals import ACTOR, T0, ScriptedTraffic, healthy, panel_plan
from support.rollout import Clock, ScriptedSource

WAITING = "smoke-login"  # the check that waits for the test's flag file


class Services:
    """Every service's ``/health``: ``status`` (200 with a version), answered only
    while ``open`` is set; ``requests`` counts them."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.open = asyncio.Event()
        self.open.set()
        self.requests = 0

    def transport(self) -> httpx.MockTransport:
        async def answer(request: httpx.Request) -> httpx.Response:
            await self.open.wait()
            self.requests += 1
            if self.status != 200:
                return httpx.Response(self.status, json={"status": "unavailable"})
            return httpx.Response(200, json={"status": "ok", "version": "1.4.2"})

        return httpx.MockTransport(answer)


def live_plan(flag: Path, *, health_interval: float = 3600.0) -> Plan:
    """The panel's test plan with every owner named (GO is possible), ``WAITING``
    held until ``flag`` exists, and the grid's refresh every ``health_interval``."""
    plan = panel_plan()
    script = f'while [ ! -e "{flag}" ]; do sleep 0.02; done'

    def held(spec):  # type: ignore[no-untyped-def]
        if spec.id != WAITING:
            return spec
        return msgspec.structs.replace(spec, params=msgspec.structs.replace(
            spec.params, argv=("sh", "-c", script)))

    doc = plan.doc
    gates = tuple(msgspec.structs.replace(g, checks=tuple(held(c) for c in g.checks))
                  for g in doc.gates)
    settings = msgspec.structs.replace(doc.settings, health_interval=Duration(health_interval))
    doc = msgspec.structs.replace(doc, gates=gates, settings=settings,
                                  owners={**doc.owners, "db_owner": "Edsger Dijkstra"})
    return msgspec.structs.replace(plan, doc=doc)


def open_live(plan: Plan, session: Path, services: Services, clock: Clock) -> tuple[GonogoApp, Engine]:
    """A fresh session on the real engine; the panel live, as ``gonogo tui`` opens it."""
    engine = Engine(
        plan, FileJournal(session), clock=clock, actor=ACTOR, traffic=ScriptedTraffic(),
        metrics=ScriptedSource(healthy(T0)),
        context_factory=lambda: make_context(plan, transport=services.transport()),
        session_dir=str(session), wall_clock=clock,
    )
    engine.start(speed=1.0)
    return GonogoApp(plan, engine, clock=clock, session_dir=str(session), live=True), engine


@pytest.fixture
def bar_texts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text the verdict bar draws, in order (what a user reads, frame by frame)."""
    seen: list[str] = []
    render = VerdictBar.render

    def recording(self: VerdictBar) -> Text:
        text = render(self)
        if not seen or seen[-1] != text.plain:
            seen.append(text.plain)
        return text

    monkeypatch.setattr(VerdictBar, "render", recording)
    yield seen


def first_line(app: GonogoApp) -> str:
    return screen_text(app).splitlines()[0]


def results_of(engine: Engine, check_id: str) -> int:
    return sum(1 for e in engine.journal.read()
               if e.kind == "check_result" and e.body.result.id == check_id)  # type: ignore[attr-defined]


async def test_the_checklist_runs_on_open_and_reads_checking_then_go(
        tmp_path: Path, bar_texts: list[str]) -> None:
    flag = tmp_path / "release-smoke"
    plan = live_plan(flag)
    total = sum(1 for _ in plan.checklist())
    app, engine = open_live(plan, tmp_path / "s", Services(), Clock(T0))
    async with app.run_test(size=(120, 40)) as pilot:
        # no key pressed: every check but the held one reports, the bar counts them
        await until(pilot, lambda: f"CHECKING {total - 1}/{total}" in first_line(app),
                    f"CHECKING {total - 1}/{total}")
        assert "NO-GO" not in screen_text(app)
        flag.touch()
        await until(pilot, lambda: first_line(app).lstrip().startswith("✔ GO"), "GO")
        assert app.checklist_run is None
    assert bar_texts[0].lstrip().startswith("… NOT CHECKED")  # the first frame: nothing run yet
    checking = [t for t in bar_texts if "CHECKING" in t]  # frames may skip a count
    assert checking and all(t.lstrip().startswith("… CHECKING ") for t in checking)
    assert bar_texts.index(checking[0]) == 1  # straight after NOT CHECKED
    counts = [int(t.split("CHECKING ")[1].split("/")[0]) for t in checking]
    assert counts == sorted(counts) and counts[-1] >= total - 1  # it counts up
    assert bar_texts[-1].lstrip().startswith("✔ GO")
    assert not any("NO-GO" in t for t in bar_texts), bar_texts  # a healthy open never reads NO-GO
    assert {e.kind for e in engine.journal.read()} >= {"session_started", "check_result"}


async def test_a_failing_service_shows_no_go_only_once_its_result_is_in(
        tmp_path: Path, bar_texts: list[str]) -> None:
    flag = tmp_path / "release-smoke"
    flag.touch()  # nothing held but the services' answers
    plan = live_plan(flag)
    total = sum(1 for _ in plan.checklist())
    services = Services(status=503)
    services.open.clear()  # /health hangs for now
    app, _engine = open_live(plan, tmp_path / "s", services, Clock(T0))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: f"CHECKING {total - 1}/{total}" in first_line(app),
                    "every check but the health one")
        assert not any("NO-GO" in t for t in bar_texts)  # the unhealthy service has not answered
        services.open.set()
        await until(pilot, lambda: "NO-GO" in first_line(app), "NO-GO")
        await until(pilot, lambda: app.checklist_run is None, "the end of the run")
        await pilot.pause()
        top = first_line(app)
        assert "✘ NO-GO  1 blocking" in top and "health-all" in top
        grid = screen_text(app)
        assert "✘ HTTP 503" in grid  # the grid says which services fail, and how
    assert all("CHECKING" in t or "NOT CHECKED" in t for t in bar_texts[:bar_texts.index(
        next(t for t in bar_texts if "NO-GO" in t))])


async def test_a_resumed_session_with_fresh_results_does_not_rerun_on_open(tmp_path: Path) -> None:
    flag = tmp_path / "release-smoke"
    flag.touch()
    plan = live_plan(flag)
    clock = Clock(T0)
    services = Services()
    app, engine = open_live(plan, tmp_path / "s", services, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: first_line(app).lstrip().startswith("✔ GO"), "GO")
        await pilot.press("q")
        await pilot.pause()
    await engine.aclose()
    engine.journal.close()
    ran = services.requests
    clock.advance(60)  # back a minute later (results are stale after 6h)
    resumed, engine2 = open_live(plan, tmp_path / "s", services, clock)
    async with resumed.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: first_line(resumed).lstrip().startswith("✔ GO"), "GO")
        await pilot.pause(0.3)
        assert resumed.checklist_run is None and services.requests == ran
    clock.advance(7 * 3600)  # the next morning: stale results are re-run on open
    engine2.journal.close()
    again, _ = open_live(plan, tmp_path / "s", services, clock)
    async with again.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services.requests > ran, "a re-run of the stale checklist")
        await pilot.press("q")  # quitting while it runs: results still arriving are no error


async def test_the_grid_rechecks_on_its_interval_and_ages_move(tmp_path: Path) -> None:
    flag = tmp_path / "release-smoke"
    flag.touch()
    plan = live_plan(flag, health_interval=1.0)
    clock = Clock(T0)
    services = Services()
    app, engine = open_live(plan, tmp_path / "s", services, clock)

    def auth_row() -> str:
        return next(line for line in screen_text(app).splitlines() if " auth " in line)

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: first_line(app).lstrip().startswith("✔ GO"), "GO")
        await until(pilot, lambda: "Services · next in " in screen_text(app)
                    and "· every 1s" in screen_text(app), "the heading saying when next")
        assert "<10s" in auth_row() and "HTTP 200" in auth_row()
        # the grid re-checks by itself: new health-all results in the journal
        before = results_of(engine, "health-all")
        await until(pilot, lambda: results_of(engine, "health-all") >= before + 2,
                    "two refreshes of the grid")
        assert app.grid_checks() == ["health-all"]  # the plan's one http_health check
        # a refresh held in flight: the heading says so, the age moves on with the clock
        services.open.clear()
        clock.advance(35)
        await until(pilot, lambda: "Services · checking…" in screen_text(app), "a refresh under way")
        await until(pilot, lambda: "30s ago" in auth_row(), "the age to move")
        services.open.set()
        await until(pilot, lambda: "<10s" in auth_row(), "the refreshed row")
        await until(pilot, lambda: "· every 1s" in screen_text(app), "the heading back")
