"""Real servers the fleet starts when the machine has them: PostgreSQL, Prometheus,
Alertmanager. Where a binary is missing (or the server fails to start), that part is
skipped: the reason is kept in ``notes`` and written to ``<runtime>/unavailable/<name>``,
where the sandbox config's ``skip_if`` finds it, so the checks that need the server
are reported skipped with that reason. They are never faked: a stand-in answering
Prometheus's or Alertmanager's API would make those checks pass while verifying
nothing, so the sandbox says what it could not run and which package adds it.

Prometheus scrapes every service and the gateway (one job per service), so the
``target-down`` scenario (analytics' exporter failing) shows as ``up == 0``.
These runners block (subprocesses, readiness polling), so they run on a private
thread pool that is shut down with the fleet: nothing outlives it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gonogo.sandbox.layout import Layout
from gonogo.sandbox.state import SandboxState

log = logging.getLogger("gonogo.sandbox")
T = TypeVar("T")
SCRAPE_INTERVAL = "2s"
FIRST_SCRAPE_TIMEOUT_S = 15.0
PG_DBNAME = "gonogo"
# name -> (what it is, the Debian package that installs it)
SERVERS: dict[str, tuple[str, str]] = {
    "postgres": ("PostgreSQL 15", "postgresql-15"),
    "prometheus": ("Prometheus", "prometheus"),
    "alertmanager": ("Alertmanager", "prometheus-alertmanager"),
}

ALERTMANAGER_YML = """\
# Sandbox Alertmanager: a pager for critical alerts, Slack for warnings, email for info.
global:
  resolve_timeout: 5m
  smtp_smarthost: '127.0.0.1:2525'
  smtp_from: 'alerts@sandbox.invalid'
  slack_api_url: 'http://127.0.0.1:9/slack-webhook'
route:
  receiver: pager
  group_by: ['alertname', 'service']
  routes:
    - receiver: slack
      matchers: ['severity="warning"']
    - receiver: email
      matchers: ['severity="info"']
receivers:
  - name: pager
    pagerduty_configs:
      - routing_key: 'sandbox-demo-routing-key'
  - name: slack
    slack_configs:
      - channel: '#release-alerts'
  - name: email
    email_configs:
      - to: 'oncall@sandbox.invalid'
"""


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        # As servers bind: a just-closed server's TIME_WAIT sockets do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def first_scrape(url: str, expected: int, timeout: float) -> bool:
    """Poll Prometheus until ``expected`` targets have been scraped at least once."""
    import json
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v1/targets?state=active", timeout=5) as resp:
                active = json.load(resp)["data"]["activeTargets"]
        except (OSError, ValueError, KeyError):
            active = []
        scraped = [t for t in active if not str(t.get("lastScrape", "")).startswith("0001-")]
        if len(scraped) >= expected:
            return True
        time.sleep(0.25)
    return False


def scraped_as(url: str, job: str, health: str, timeout: float) -> bool:
    """Poll until Prometheus's last scrape of ``job`` has ``health`` ("up"/"down")."""
    import json
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v1/targets?state=active", timeout=5) as resp:
                active = json.load(resp)["data"]["activeTargets"]
        except (OSError, ValueError, KeyError):
            active = []
        if any(t.get("labels", {}).get("job") == job and t.get("health") == health for t in active):
            return True
        time.sleep(0.25)
    return False


class Externals:
    def __init__(self, state: SandboxState, layout: Layout, runtime_dir: Path) -> None:
        self.state = state
        self.layout = layout
        self.runtime_dir = runtime_dir
        self.notes: list[str] = []
        # name -> None while running, else why not (only the servers the config names)
        self.servers: dict[str, str | None] = {}
        self.pg: Any = None
        self.prometheus: Any = None
        self.alertmanager: Any = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="gonogo-ext")

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _unavailable(self, name: str, reason: str) -> None:
        """Say why a real server is missing, and leave the reason where the checks'
        ``skip_if`` finds it (``<runtime>/unavailable/<name>``): its checks are then
        ``skipped`` with that reason instead of failing to connect."""
        self.servers[name] = reason
        self.notes.append(reason)
        try:
            where = self.runtime_dir / "unavailable"
            where.mkdir(mode=0o700, exist_ok=True)
            (where / name).write_text(reason + "\n", encoding="utf-8")
        except OSError:
            pass  # the note above still tells the operator

    async def start(self) -> None:
        integ = self.layout.integrations
        # A killed sandbox may have left reasons behind; this run states its own.
        shutil.rmtree(self.runtime_dir / "unavailable", ignore_errors=True)
        jobs = []
        starters = {"postgres": self._start_pg, "prometheus": self._start_prometheus,
                    "alertmanager": self._start_alertmanager}  # fmt: skip
        for name, starter in starters.items():
            if name not in integ:
                continue
            addr = integ[name]
            if not port_free(addr.host, addr.port):
                # Most likely left behind by a sandbox that was killed (SIGKILL): the
                # checks would talk to that stale server, so say so loudly.
                self._unavailable(
                    name,
                    f"{name} not started: {addr.host}:{addr.port} is already in use"
                    " (a server left by a killed sandbox? stop it and restart)",
                )
                continue
            jobs.append(starter())
        await asyncio.gather(*jobs)

    def summary(self) -> str:
        """One line: which real servers run and which do not, with the package that
        would add each missing one (``gonogo demo`` shows it once in the panel)."""
        parts = []
        for name, (label, package) in SERVERS.items():
            if name not in self.servers:
                continue
            why = self.servers[name]
            if why is None:
                parts.append(f"{label} running")
            else:
                parts.append(f"{label} not running: its checks are skipped "
                             f"(the {package} package adds it)")
        return "; ".join(parts)

    async def _start_pg(self) -> None:
        from gonogo.sandbox.pgcluster import PgCluster, PgClusterError

        reason = PgCluster.missing_reason()
        if reason:
            self._unavailable("postgres", f"the sandbox has no PostgreSQL: {reason} "
                                          "(Debian package postgresql-15)")
            return
        pg = PgCluster(
            port=self.layout.integrations["postgres"].port,
            user=self.state.secrets["postgres_user"],
            password=self.state.secrets["postgres_password"],
            dbname=PG_DBNAME,
        )
        try:
            await self._blocking(pg.start)
            await self._blocking(pg.apply_scenario, self.state.scenario)
        except PgClusterError as exc:
            self._unavailable("postgres", f"the sandbox's PostgreSQL failed to start: {exc}")
            await self._blocking(pg.stop)
            return
        self.pg = pg
        self.servers["postgres"] = None

    async def _start_prometheus(self) -> None:
        from gonogo.sandbox.standins.prometheus import PrometheusServer, ServerError

        reason = PrometheusServer.missing_reason()
        if reason:
            self._unavailable("prometheus", f"the sandbox has no Prometheus: {reason} "
                                            "(Debian package prometheus)")
            return
        targets = {name: [f"{a.host}:{a.port}"] for name, a in self.layout.services.items()}
        targets["api-gateway"] = [f"{self.layout.gateway.host}:{self.layout.gateway.port}"]
        server = PrometheusServer(
            targets, port=self.layout.integrations["prometheus"].port, scrape_interval=SCRAPE_INTERVAL
        )
        try:
            await self._blocking(server.start)
        except ServerError as exc:
            self._unavailable("prometheus", f"the sandbox's Prometheus failed to start: {exc}")
            await self._blocking(server.stop)
            return
        self.prometheus = server
        self.servers["prometheus"] = None
        # Ready means useful: wait (bounded) for the first scrape of every target,
        # so a checklist run right after `sandbox ready` sees them up.
        if not await self._blocking(first_scrape, server.url, len(targets), FIRST_SCRAPE_TIMEOUT_S):
            self.notes.append("Prometheus has not scraped every target yet")

    async def _start_alertmanager(self) -> None:
        from gonogo.sandbox.standins.prometheus import AlertmanagerServer, ServerError

        reason = AlertmanagerServer.missing_reason()
        if reason:
            self._unavailable("alertmanager", f"the sandbox has no Alertmanager: {reason} "
                                              "(Debian package prometheus-alertmanager)")
            return
        server = AlertmanagerServer(ALERTMANAGER_YML, port=self.layout.integrations["alertmanager"].port)
        try:
            await self._blocking(server.start)
        except ServerError as exc:
            self._unavailable("alertmanager", f"the sandbox's Alertmanager failed to start: {exc}")
            await self._blocking(server.stop)
            return
        self.alertmanager = server
        self.servers["alertmanager"] = None

    async def apply_scenario(self, name: str, previous: str = "") -> None:
        """Make the real servers reflect a scenario switch before returning."""
        if self.prometheus is not None and "target-down" in (name, previous) and name != previous:
            from gonogo.sandbox.services import SCRAPE_BROKEN_SERVICE

            want = "down" if name == "target-down" else "up"
            await self._blocking(scraped_as, self.prometheus.url, SCRAPE_BROKEN_SERVICE, want, 15.0)
        if self.pg is not None:
            try:
                await self._blocking(self.pg.apply_scenario, name)
            except Exception as exc:  # a reseed failure must not take the fleet down
                log.warning("PostgreSQL reseed for %s failed: %s", name, type(exc).__name__)

    async def stop(self) -> None:
        for attr in ("prometheus", "alertmanager", "pg"):
            server = getattr(self, attr)
            if server is not None:
                try:
                    await self._blocking(server.stop)
                except Exception as exc:  # keep stopping the others
                    log.warning("stopping %s failed: %s", attr, exc)
                setattr(self, attr, None)
        self._pool.shutdown(wait=True)
