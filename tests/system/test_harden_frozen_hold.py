"""A canary hold while the sandbox's metrics endpoint is frozen (it accepts the request
and never answers), driven through the real engine and sandbox fleet at --speed 60.

Before: the hold kept counting while nobody could see the canary, completed during
the freeze, and the rollout advanced moments after data returned. Now the blind time
does not count: the hold stands still, the preview says why, and the rest of the hold
runs only once data is back.
"""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from gonogo.rollout.phases import Phase
from gonogo.sandbox.fleet import FleetThread
from support.fleet import SandboxFiles, admin, start_fleet

SPEED = 60.0
HOLD_S = 120.0  # plan seconds: 2 s of real time at x60


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    (tmp_path / "sandbox").mkdir()
    thread, files = start_fleet(tmp_path / "sandbox", speed=SPEED, externals=False)
    try:
        yield thread, files
    finally:
        thread.stop()


@asynccontextmanager
async def freezable(upstream: str) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A pass-through to the sandbox's /admin/metrics that hangs while ``frozen`` is set."""
    frozen = asyncio.Event()
    thawed = asyncio.Event()
    thawed.set()

    async def metrics(request: web.Request) -> web.Response:
        if frozen.is_set():
            await asyncio.sleep(3600)  # a frozen process: the connection stays open, silent
        async with httpx.AsyncClient() as client:
            resp = await client.get(upstream + "/admin/metrics", timeout=5)
        return web.Response(body=resp.content, content_type="application/json")

    app = web.Application()
    app.router.add_get("/admin/metrics", metrics)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", frozen
    finally:
        await runner.cleanup()


async def ticking(engine: Engine, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and engine.state.phase == Phase.HOLDING:
        await engine.tick()
        await asyncio.sleep(0.05)


async def test_a_frozen_metrics_source_stops_the_hold_until_data_returns(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    sandbox = tomllib.loads(files.config.read_text())
    gateway = sandbox["integrations"]["gateway"]
    async with freezable(thread.url("admin")) as (metrics_url, frozen):
        plan_path = tmp_path / "frozen.toml"
        plan_path.write_text(f"""
[release]
name = "{sandbox["release"]["name"]}"
commit = "{sandbox["release"]["commit"]}"
[owners]
release_manager = "Rosa Diaz"
[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "ok"
  title = "ok"
  kind = "command"
  argv = ["true"]
[integrations.gateway]
public_url = "{gateway["public_url"]}"
admin_url = "{gateway["admin_url"]}"
[rollout.traffic]
driver = "sandbox"
[[rollout.stages]]
id = "canary"
weight = 5
hold = "{HOLD_S:g}s"
[[rollout.stages]]
id = "full"
weight = 100
[canary]
source = "sandbox"
url = "{metrics_url}"
interval = "5s"
[[canary.metrics]]
id = "http-5xx"
title = "5xx ratio"
sandbox = "http_5xx_ratio"
canary = "q"
baseline = "q"
rule = "ratio_above"
factor = 2.0
threshold = 0.01
duration = "5m"
""")
        engine = Engine(load_plan(plan_path), FileJournal(tmp_path / "s"), actor="Rosa Diaz",
                        session_dir=str(tmp_path / "s"))
        try:
            engine.start(speed=SPEED)
            await engine.run_checks()
            await engine.advance()
            assert engine.state.phase == Phase.HOLDING
            await ticking(engine, 0.8)  # about 48 of the 120 plan seconds, with data
            frozen.set()
            await ticking(engine, 6.0)  # 3x the whole hold; a frozen poll times out after 5 s
            state, now = engine.state, engine.clock()
            assert state.phase == Phase.HOLDING, "the hold completed while nobody could see the canary"
            assert state.hold_elapsed(now) < HOLD_S * 0.9
            blockers = " | ".join(engine.advance_preview().blockers)
            assert "the hold waits while there is no conclusive canary data" in blockers
            left_at_thaw = state.hold_remaining(now)
            frozen.clear()
            thawed_at = time.monotonic()
            await ticking(engine, 10.0)
            assert engine.state.phase == Phase.READY
            waited = time.monotonic() - thawed_at
            # the rest of the hold ran after data returned, not at once
            assert waited >= 0.8 * left_at_thaw / SPEED, (waited, left_at_thaw)
            assert admin(thread, "GET", "/admin/state").json()["weight"] == 5.0
        finally:
            await engine.aclose()
