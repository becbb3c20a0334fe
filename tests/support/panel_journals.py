"""Record the panel's fixture sessions with the real engine and journal.

Each fixture under ``tests/fixtures/panel/<name>/events.jsonl`` is a session that
the real ``Engine`` wrote through the real ``FileJournal`` while driving the panel's
test plan (``tests/fixtures/tui_panel.toml``) under a fixed clock, with scripted traffic
(every shift confirmed), scripted canary/baseline values and health endpoints
answered in-process. The panel's tests fold these journals with the real
``fold()``; nothing in them is hand-written.

Re-record (after a change to the engine, the fold's vocabulary or the plan)::

    .venv/bin/python tests/support/panel_journals.py

then run the panel's tests and look at the snapshots it changes. Check durations
(a few milliseconds of real ``true`` commands) differ between recordings.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
if str(TESTS) not in sys.path:  # run as a script
    sys.path.insert(0, str(TESTS))

from gonogo.config import CheckSpec, Plan, load_plan  # noqa: E402
from gonogo.context import CheckContext, make_context  # noqa: E402
from gonogo.rollout.engine import Engine  # noqa: E402
from gonogo.rollout.journal import Event, FileJournal  # noqa: E402
from gonogo.rollout.state import Phase  # noqa: E402
from gonogo.rollout.traffic import Shift  # noqa: E402
from support.rollout import Clock, ScriptedSource  # noqa: E402

PLAN = TESTS / "fixtures" / "tui_panel.toml"
FIXTURES = TESTS / "fixtures" / "panel"
T0 = 1_790_000_000.0  # "now" when each recording ends; the panel's tests use the same clock
ACTOR = "ada"
STEP = 15.0  # the plan's canary interval
NAMES = ("idle", "ready", "shifting", "holding", "rollback-proposed", "rolled-back",
         "runbook-failed")
FLAG = "internal-routed.flag"  # present: the internal API is publicly routed (the check fails)


def panel_plan() -> Plan:
    """The panel's test plan as the tests load it (``source`` cleared: an owner set
    during a test must not be written back to tests/fixtures/tui_panel.toml)."""
    return msgspec.structs.replace(load_plan(PLAN), source="")


def recording_plan(*, on_stop: str = "auto") -> Plan:
    """The test plan with its routing check scripted by a flag file in the cwd."""
    plan = panel_plan()
    script = ('if [ -e "$0" ]; then echo "HTTP 200 from the public gateway for /internal/admin"; '
              'exit 1; fi; echo "HTTP 404 from the public gateway for /internal/admin"')

    def scripted(spec: CheckSpec) -> CheckSpec:
        if spec.id != "internal-not-routed":
            return spec
        params = msgspec.structs.replace(spec.params, argv=("sh", "-c", script, FLAG))
        return msgspec.structs.replace(spec, params=params)

    gates = tuple(msgspec.structs.replace(g, checks=tuple(scripted(c) for c in g.checks))
                  for g in plan.doc.gates)
    rollout = msgspec.structs.replace(plan.doc.rollout, on_stop=on_stop)
    return msgspec.structs.replace(plan, doc=msgspec.structs.replace(plan.doc, gates=gates,
                                                                       rollout=rollout))


class ScriptedTraffic:
    """Every shift lands at once (``manual=True``: the operator confirms it)."""

    name = "scripted"

    def __init__(self, manual: bool = False) -> None:
        self.needs_confirmation = manual
        self.weights: list[float] = []

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        self.weights.append(weight)
        return Shift(True, weight, f"weight {weight:g}% set")

    async def read(self, stage: str, release: str) -> None:
        return None  # not read back: the recorded journals hold no reality check


@dataclass
class Health:
    """The services' /health answers: 200 with a version, or ``status`` for all."""

    status: int = 200

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            if self.status != 200:
                return httpx.Response(self.status, json={"status": "unavailable"})
            return httpx.Response(200, json={"status": "ok", "version": "1.4.2"})

        return httpx.MockTransport(answer)


def healthy(t: float) -> dict[str, tuple[float | None, float | None]]:
    """Deterministic healthy values with a gentle wobble (no randomness)."""
    w = math.sin(t / 97.0)
    return {
        "http-5xx": (0.0021 + 0.0004 * w, 0.0020 + 0.0002 * math.cos(t / 61.0)),
        "auth-failures": (0.004 + 0.001 * w, None),
        "queue-lag": (3.0 + 0.4 * math.sin(t / 41.0), None),
        "latency-p95": (121.0 + 9.0 * w, 118.0 + 5.0 * math.cos(t / 53.0)),
    }


Script = Callable[[float], dict[str, tuple[float | None, float | None]]]


class Recorder:
    def __init__(self, name: str, workdir: Path, *, on_stop: str = "auto",
                 manual_traffic: bool = False, start: float) -> None:
        self.name = name
        self.plan = recording_plan(on_stop=on_stop)
        self.clock = Clock(start)
        self.source = ScriptedSource(healthy(start))
        self.health = Health()
        self.session = Path("sessions") / name  # relative: incident paths in the log stay stable
        plan = self.plan

        def context() -> CheckContext:
            return make_context(plan, transport=self.health.transport())

        self.engine = Engine(plan, FileJournal(workdir / self.session), clock=self.clock,
                             actor=ACTOR, traffic=ScriptedTraffic(manual_traffic),
                             metrics=self.source, context_factory=context,
                             session_dir=str(self.session), wall_clock=self.clock)

    async def poll(self, seconds: float, script: Script = healthy) -> None:
        """Tick every STEP plan seconds for ``seconds`` with values from ``script``."""
        end = self.clock.now + seconds
        while self.clock.now + STEP <= end + 1e-9:
            self.clock.advance(STEP)
            self.source.values = script(self.clock.now)
            await self.engine.tick()

    async def open(self) -> None:
        self.engine.start(speed=1.0)
        await self.engine.run_checks()
        await self.engine.set_owner("db_owner", "Edgar Codd")

    async def advance(self, *, confirm: bool = True) -> None:
        """Advance; with a manual driver, the operator confirms the weight a minute later."""
        self.clock.advance(5)
        await self.engine.advance()
        if confirm and self.engine.state.phase is Phase.SHIFTING:
            self.clock.advance(60)
            await self.engine.confirm_traffic("weight set on the load balancer")

    async def through_stages(self, count: int) -> None:
        """Advance into the next ``count`` stages, each after its hold with healthy metrics."""
        for _ in range(count):
            await self.advance()
            stage = self.engine.state.stage
            assert stage is not None, self.engine.state.phase
            await self.poll(stage.hold_s)

    def finish_at(self, when: float) -> None:
        assert self.clock.now <= when, (self.name, self.clock.now, when)
        self.clock.now = when
        self.engine.journal.close()


async def record_idle(r: Recorder) -> None:
    r.engine.start(speed=1.0)
    await r.engine.run_checks()  # the plan's db_owner is TBD: NO-GO
    r.finish_at(T0)


async def record_ready(r: Recorder) -> None:
    await r.open()
    await r.through_stages(2)  # staging, canary: canary's hold done, all green
    r.finish_at(T0)


async def record_shifting(r: Recorder) -> None:
    """A manual traffic driver: the advance to 25% waits for the operator's confirmation."""
    await r.open()
    await r.through_stages(2)
    r.clock.now = T0 - 120
    await r.advance(confirm=False)
    r.finish_at(T0)


async def record_holding(r: Recorder) -> None:
    """25% for 12:34 of 15:00: auth failures breaching for a minute, the queue-lag
    metric without data for three, the routing check failing, db_owner TBD."""
    await r.open()
    await r.through_stages(2)
    r.clock.now = T0 - 754 - 5
    await r.advance()  # ramp-25 entered at T0 - 754

    def degraded(t: float) -> dict[str, tuple[float | None, float | None]]:
        values = healthy(t)
        if t > T0 - 60 - STEP:
            values["auth-failures"] = (0.031 + 0.002 * math.sin(t), None)
        if t > T0 - 180:
            values["queue-lag"] = (None, None)
        return values

    await r.poll(754 - 4, degraded)
    Path(FLAG).touch()
    await r.engine.run_checks(["internal-not-routed"])
    await r.engine.set_owner("db_owner", "TBD")
    r.finish_at(T0)


def regression(start: float) -> Script:
    def values(t: float) -> dict[str, tuple[float | None, float | None]]:
        v = healthy(t)
        if t >= start:
            v["http-5xx"] = (0.02 + 0.004 * math.sin(t / 30.0), 0.0021)
        return v

    return values


async def record_tripped(r: Recorder, *, health_after: int = 200) -> None:
    """A 5xx regression at 25% trips the stop criterion (5m above 2× baseline)."""
    await r.open()
    await r.through_stages(2)
    r.clock.now = T0 - 900 - 5
    await r.advance()  # ramp-25
    await r.poll(300)
    start = r.clock.now

    def runbook_sees(event: Event, _state: object) -> None:  # what /health answers once the
        if event.kind == "rollback_started":  # runbook checks it (the guards saw 200 until then)
            r.health.status = health_after

    r.engine.subscribe(runbook_sees)

    def tripped() -> bool:
        return r.engine.state.stop_reason is not None

    while not tripped():
        r.clock.advance(STEP)
        r.source.values = regression(start)(r.clock.now)
        await r.engine.tick()
    r.finish_at(T0)


async def record_tripped_unhealthy(r: Recorder) -> None:
    """As ``record_tripped``, but /health answers 503 once the runbook checks it."""
    await record_tripped(r, health_after=503)


async def record_all(out: Path = FIXTURES, names: tuple[str, ...] = NAMES) -> None:
    recipes: dict[str, tuple[Callable[[Recorder], Awaitable[None]], dict[str, Any]]] = {
        "idle": (record_idle, {}),
        "ready": (record_ready, {}),
        "shifting": (record_shifting, {"manual_traffic": True}),
        "holding": (record_holding, {}),
        "rollback-proposed": (record_tripped, {"on_stop": "propose"}),
        "rolled-back": (record_tripped, {}),
        "runbook-failed": (record_tripped_unhealthy, {}),
    }
    start = T0 - 3 * 3600
    for name in names:
        recipe, options = recipes[name]
        with tempfile.TemporaryDirectory() as tmp:
            cwd = os.getcwd()
            os.chdir(tmp)
            try:
                r = Recorder(name, Path(tmp), start=start, **options)
                await recipe(r)
                target = out / name
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / r.session / "events.jsonl", target / "events.jsonl")
            finally:
                os.chdir(cwd)
        print(f"recorded {name}: {r.engine.state.phase} · {r.engine.state.events} events")


if __name__ == "__main__":
    asyncio.run(record_all(names=tuple(sys.argv[1:]) or NAMES))
