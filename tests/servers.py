"""Fixtures and helpers for tests against real servers and the sandbox stand-ins.

- ``need_server(reason)``: skip with the reason, or fail when GONOGO_REQUIRE_SERVERS=1
  (CI sets it: a missing PostgreSQL/Prometheus/Alertmanager binary is then a failure).
- ``pg_cluster``: a throwaway PostgreSQL 15 cluster (WAL archiving on), one per module.
- ``MetricsTarget``: a tiny /metrics endpoint for Prometheus to scrape, stoppable.
- ``serve(app)``: an aiohttp app (a stand-in) on a free loopback port.
- ``load_config(tmp_path, text)`` / ``run_check(plan, id, environ)``: a config through
  the real validator and a check through the real runner (deadline, redaction).
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gonogo.config import Plan, load_plan
from gonogo.context import make_context
from gonogo.model import CheckResult
from gonogo.runner import run_one


def need_server(reason: str) -> None:
    if os.environ.get("GONOGO_REQUIRE_SERVERS") == "1":
        pytest.fail(f"GONOGO_REQUIRE_SERVERS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Any]:
    from gonogo.sandbox.pgcluster import PgCluster

    reason = PgCluster.missing_reason()
    if reason:
        need_server(reason)
    cluster = PgCluster(archive=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1:0; yield its base URL; clean up on exit."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def load_config(tmp_path: Path, text: str, name: str = "gonogo.toml") -> Plan:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_plan(path)


async def run_check(
    plan: Plan, check_id: str, environ: Mapping[str, str] | None = None
) -> CheckResult:
    ctx = make_context(plan, environ=dict(environ or {}))
    try:
        gate, spec = next((g, c) for g, c in plan.checks() if c.id == check_id)
        return await run_one(gate, spec, ctx)
    finally:
        await ctx.aclose()


class MetricsTarget:
    """A /metrics endpoint in a thread; ``stop()`` makes it refuse connections."""

    def __init__(self) -> None:
        body = b"# TYPE demo_requests_total counter\ndemo_requests_total 42\n"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.running = False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a real server's progress (first scrape, reload); fail with ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
