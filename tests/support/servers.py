"""Real server binaries for the integration tier, and the one rule for a missing one.

- ``need_server(reason)``: skip with the reason, or fail when GONOGO_REQUIRE_SERVERS=1
  (CI sets it: a missing PostgreSQL/Prometheus/Alertmanager/tmux is then a failure).
- ``MetricsTarget``: a tiny /metrics endpoint for Prometheus to scrape, stoppable.
- ``ScrapedPrometheus``: a real Prometheus scraping three such targets.
- ``running_pg_cluster`` / ``running_alertmanager``: a server started for a ``with``
  block (or ``need_server`` when its binary is missing), stopped after it.

The module-scoped fixtures over them (``pg_cluster``, ``prometheus``, ``alertmanager``)
are registered in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gonogo.sandbox.pgcluster import PgCluster
from gonogo.sandbox.standins.prometheus import AlertmanagerServer, PrometheusServer
from support.waiting import wait_until


def need_server(reason: str) -> None:
    """A test that cannot have its server: skip, or fail when servers are required."""
    if os.environ.get("GONOGO_REQUIRE_SERVERS") == "1":
        pytest.fail(f"GONOGO_REQUIRE_SERVERS=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def running_pg_cluster(**kwargs: Any) -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster on a free port, removed afterwards."""
    reason = PgCluster.missing_reason()
    if reason:
        need_server(reason)
    cluster = PgCluster(**kwargs)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


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


def instant(prom: PrometheusServer, promql: str) -> list[float]:
    """The values of an instant PromQL query."""
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{prom.url}/api/v1/query?{query}", timeout=5) as resp:
        return [float(r["value"][1]) for r in json.load(resp)["data"]["result"]]


class ScrapedPrometheus:
    """A real Prometheus scraping three jobs (``api``, ``worker``, ``gone``), each with
    its own target, so that tests (up, down, no longer scraped) can each break one."""

    JOBS = ("api", "worker", "gone")

    def __init__(self) -> None:
        self.targets = {job: MetricsTarget() for job in self.JOBS}
        self.prom = PrometheusServer(
            {job: [t.address] for job, t in self.targets.items()}, scrape_interval="1s"
        )

    def close(self) -> None:
        self.prom.stop()
        for target in self.targets.values():
            target.stop()


@contextmanager
def running_scraped_prometheus() -> Iterator[ScrapedPrometheus]:
    reason = PrometheusServer.missing_reason()
    if reason:
        need_server(reason)
    setup = ScrapedPrometheus()
    try:
        setup.prom.start()
        # The first sample lands about one scrape interval (plus jitter) after start.
        wait_until(lambda: len(instant(setup.prom, "up == 1")) == len(setup.JOBS), 20,
                   "the first scrapes")
        yield setup
    finally:
        setup.close()


# A config Alertmanager accepts; tests install their own with ``set_config``.
MINIMAL_ALERTMANAGER = """
route:
  receiver: default
receivers:
  - name: default
"""


@contextmanager
def running_alertmanager(config: str = MINIMAL_ALERTMANAGER) -> Iterator[AlertmanagerServer]:
    reason = AlertmanagerServer.missing_reason()
    if reason:
        need_server(reason)
    server = AlertmanagerServer(config)
    try:
        server.start()
        yield server
    finally:
        server.stop()
