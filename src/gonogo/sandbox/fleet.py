"""Start and stop the whole sandbox: services, gateway, stand-ins, worker, traffic.

``async with Fleet(scenario="healthy", speed=60) as fleet:`` listens on the
addresses of a sandbox config (default: the built-in one) and stops everything it
started on exit, leaving no socket, thread or task behind. ``FleetThread`` runs the
same fleet on its own event loop in a background thread, for the panel, ``gonogo
demo`` and synchronous tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gonogo.sandbox import apps, runtime, weaviate
from gonogo.sandbox.externals import Externals
from gonogo.sandbox.gateway import Admin, Gateway
from gonogo.sandbox.layout import Address, Layout, default_runtime_dir, load_layout
from gonogo.sandbox.services import FleetContext, Service
from gonogo.sandbox.standins import github, grafana, jaeger, loki, vault
from gonogo.sandbox.state import SandboxState, check_scenario, check_speed
from gonogo.sandbox.traffic import DEFAULT_RATE, TrafficGenerator
from gonogo.sandbox.window import TrafficWindow

STANDINS = {"vault": vault, "github": github, "grafana": grafana, "loki": loki, "jaeger": jaeger}


class FleetError(Exception):
    """The fleet could not start (a port in use, a bad config); the message says which."""


class Fleet:
    def __init__(
        self,
        scenario: str = "healthy",
        speed: float = 1.0,
        config_path: str | Path | None = None,
        *,
        runtime_dir: str | Path | None = None,
        traffic_rate: float = DEFAULT_RATE,
        externals: bool = True,
    ) -> None:
        check_scenario(scenario)
        self._scenario = scenario
        self._speed = check_speed(speed)
        self.config_path = config_path
        self.runtime_dir = Path(runtime_dir if runtime_dir is not None else default_runtime_dir())
        self.traffic_rate = traffic_rate
        self.with_externals = externals
        self.layout: Layout | None = None
        self.state: SandboxState = SandboxState(scenario=scenario, speed=self._speed)
        self.ctx: FleetContext | None = None
        self.traffic: TrafficGenerator | None = None
        self.externals: Externals | None = None
        self.notes: list[str] = []  # what was skipped and why (shown by the CLI)
        self.servers_line = ""  # which real servers run and which not (Externals.summary)
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None
        self._wrote_runtime = False

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        try:
            layout = load_layout(self.config_path)
        except ValueError as exc:
            raise FleetError(str(exc)) from None
        self.layout = layout
        self.state = SandboxState(scenario=self._scenario, speed=self._speed, commit=layout.commit)
        self.state.secrets.update(runtime.generate())
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64, limit_per_host=16),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        ctx = FleetContext(self.state, layout, self._session, TrafficWindow())
        self.ctx = ctx
        try:
            for name, addr in layout.services.items():
                await self._serve(f"service {name}", apps.build(Service(name, ctx)), addr)
            await self._serve("gateway", Gateway(ctx).public_app(), layout.gateway)
            await self._serve("gateway admin", Admin(ctx, self.set_scenario_async).app(), layout.admin)
            if "weaviate" in layout.integrations:
                await self._serve("weaviate", weaviate.make_app(self.state), layout.integrations["weaviate"])
            for name, standin in STANDINS.items():
                if name in layout.integrations:
                    await self._serve(f"{name} stand-in", standin.make_app(self.state), layout.integrations[name])
            try:
                runtime.write(self.runtime_dir, layout, self.state.secrets)
            except (OSError, runtime.RuntimeDirError) as exc:
                raise FleetError(f"cannot write the sandbox runtime dir {self.runtime_dir}: {exc}") from None
            self._wrote_runtime = True
            if self.with_externals:
                self.externals = Externals(self.state, layout, self.runtime_dir)
                await self.externals.start()
                self.notes.extend(self.externals.notes)
                self.servers_line = self.externals.summary()
            if ctx.worker is not None:
                ctx.spawn(ctx.worker.run())
            if self.traffic_rate > 0:
                self.traffic = TrafficGenerator(ctx, self.traffic_rate)
                ctx.spawn(self.traffic.run())
        except BaseException:
            await self.stop()
            raise

    async def _serve(self, label: str, app: web.Application, addr: Address) -> None:
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, addr.host, addr.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise FleetError(
                f"{label} cannot listen on {addr.host}:{addr.port}: {exc.strerror or exc}"
                " (is another sandbox running?)"
            ) from None

    async def stop(self) -> None:
        ctx = self.ctx
        if ctx is not None:
            tasks = list(ctx.tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        if self.externals is not None:
            await self.externals.stop()
            self.externals = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._wrote_runtime:
            runtime.remove(self.runtime_dir)
            self._wrote_runtime = False
        self.ctx = None

    # -- control ------------------------------------------------------------------
    async def set_scenario_async(self, name: str) -> None:
        """Switch scenario and wait until the real servers reflect it too."""
        previous = self.state.scenario
        self.state.set_scenario(name)
        self._fresh_window(previous)
        if self.externals is not None:
            await self.externals.apply_scenario(name, previous)

    def set_scenario(self, name: str) -> None:
        """Switch scenario; external state (PostgreSQL, Prometheus) follows in the background."""
        previous = self.state.scenario
        self.state.set_scenario(name)
        self._fresh_window(previous)
        if self.externals is not None and self.ctx is not None:
            self.ctx.spawn(self.externals.apply_scenario(name, previous))

    def _fresh_window(self, previous: str) -> None:
        # Traffic observed under another scenario says nothing about this one: at a 5 %
        # canary a handful of leftover 5xx would otherwise read as this scenario's.
        if self.state.scenario != previous and self.ctx is not None:
            self.ctx.window.clear()

    def set_weight(self, weight: float) -> float:
        return self.state.set_weight(weight)

    def url(self, what: str) -> str:
        """Base URL of a service or of ``gateway`` / ``admin`` / an integration."""
        assert self.layout is not None, "fleet not started"
        if what == "gateway":
            return self.layout.gateway.url
        if what == "admin":
            return self.layout.admin.url
        if what in self.layout.services:
            return self.layout.services[what].url
        return self.layout.integrations[what].url


class FleetThread:
    """A ``Fleet`` on its own event loop in a daemon thread; a sync context manager."""

    def __init__(self, scenario: str = "healthy", speed: float = 1.0, config_path: str | Path | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        self.fleet = Fleet(scenario=scenario, speed=speed, config_path=config_path, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def state(self) -> SandboxState:
        return self.fleet.state

    def __enter__(self) -> FleetThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, args=(started,), name="gonogo-sandbox", daemon=True)
        self._thread.start()
        try:
            started.result()
        except BaseException:
            self._thread.join()
            self._thread = None
            raise

    def _main(self, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run(started))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _run(self, started: concurrent.futures.Future[None]) -> None:
        self._stopped = asyncio.Event()
        try:
            await self.fleet.start()
        except BaseException as exc:
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            await self._stopped.wait()
        finally:
            await self.fleet.stop()

    def _call(self, fn: Any, *args: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("fleet thread not running")

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def set_scenario(self, name: str) -> None:
        """Switch scenario and wait until every part of the fleet reflects it."""
        check_scenario(name)
        if self._loop is None:
            raise RuntimeError("fleet thread not running")
        future = asyncio.run_coroutine_threadsafe(self.fleet.set_scenario_async(name), self._loop)
        future.result(timeout=60)

    def set_weight(self, weight: float) -> float:
        return float(self._call(self.fleet.set_weight, weight))

    def url(self, what: str) -> str:
        return self.fleet.url(what)

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopped is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=60)
        self._thread = None
        self._loop = None
