"""Observability kinds: real Prometheus and Alertmanager; Grafana, Loki and Jaeger
stand-ins over real HTTP."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gonogo.model import Status
from gonogo.sandbox.pgcluster import free_port
from gonogo.sandbox.standins import grafana, jaeger, loki
from gonogo.sandbox.standins.prometheus import AlertmanagerServer, PrometheusServer
from gonogo.sandbox.state import SandboxState
from servers import MetricsTarget, load_config, need_server, run_check, serve, wait_until

HEADER = """
    [release]
    name = "obs-test"
    commit = "0cab782"
"""


def gate(checks: str) -> str:
    return f"""
    [[gates]]
    id = "obs"
    title = "Observability"
    {checks}
    """


def test_kinds_load_without_their_heavy_clients() -> None:
    """hvac, psycopg, prometheus-api-client and PyYAML load only when a check runs."""
    import subprocess
    import sys

    code = (
        "import sys; from gonogo.registry import kinds; kinds();"
        "import gonogo.integrations.vault, gonogo.integrations.postgres,"
        " gonogo.integrations.prometheus, gonogo.integrations.github;"
        "print(sorted(m for m in ('hvac', 'psycopg', 'prometheus_api_client', 'yaml', 'requests')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- Prometheus (real) -------------------------------------------------------------

TARGETS = """
      [[gates.checks]]
      id = "targets"
      title = "Prometheus targets up"
      kind = "prometheus_targets"
      jobs = ["{job}"]
      max_staleness = "{staleness}"
"""


def prom_plan(tmp_path: Path, url: str, job: str = "api", staleness: str = "30s"):
    text = HEADER + f'\n[integrations.prometheus]\nurl = "{url}"\n' + gate(TARGETS.format(job=job, staleness=staleness))
    return load_config(tmp_path, text, f"{job}.toml")


def instant(prom: PrometheusServer, promql: str) -> list[float]:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{prom.url}/api/v1/query?{query}", timeout=5) as resp:
        return [float(r["value"][1]) for r in json.load(resp)["data"]["result"]]


class Scraped:
    """One Prometheus for the module, three jobs each with its own target, so that the
    tests (up, down, no longer scraped) can each break a different job."""

    def __init__(self) -> None:
        self.targets = {job: MetricsTarget() for job in ("api", "worker", "gone")}
        self.prom = PrometheusServer(
            {job: [t.address] for job, t in self.targets.items()}, scrape_interval="1s"
        )

    def close(self) -> None:
        self.prom.stop()
        for target in self.targets.values():
            target.stop()


@pytest.fixture(scope="module")
def scraped() -> Iterator[Scraped]:
    if not PrometheusServer.available():
        need_server(PrometheusServer.missing_reason() or "prometheus missing")
    setup = Scraped()
    try:
        setup.prom.start()
        # The first sample lands about one scrape interval (plus jitter) after start.
        wait_until(lambda: len(instant(setup.prom, "up == 1")) == 3, 20, "the first scrapes")
        yield setup
    finally:
        setup.close()


@pytest.mark.server
async def test_target_up(scraped: Scraped, tmp_path: Path) -> None:
    result = await run_check(prom_plan(tmp_path, scraped.prom.url, "api"), "targets")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "1 target(s) up in 1 job(s)"
    assert result.evidence["targets"][f"api {scraped.targets['api'].address}"]["up"] == 1.0


@pytest.mark.server
async def test_target_down_after_its_server_stops(scraped: Scraped, tmp_path: Path) -> None:
    scraped.targets["worker"].stop()
    wait_until(lambda: instant(scraped.prom, 'up{job="worker"}') == [0.0], 20, "a failed scrape (up=0)")
    result = await run_check(prom_plan(tmp_path, scraped.prom.url, "worker"), "targets")
    assert result.status is Status.FAIL
    assert result.summary == f"worker {scraped.targets['worker'].address}: down (up=0, expected 1)"


@pytest.mark.server
async def test_target_no_longer_scraped_after_restart_is_stale(scraped: Scraped, tmp_path: Path) -> None:
    """After a restart without the job, the 5m lookback still returns its old ``up=1``."""
    prom = scraped.prom
    prom.kill()
    prom.targets = {job: addrs for job, addrs in prom.targets.items() if job != "gone"}
    prom.start()  # same TSDB: the old sample survives, with no staleness marker
    assert instant(prom, 'up{job="gone"}') == [1.0], "expected the lookback to return the old sample"
    wait_until(lambda: instant(prom, 'time() - timestamp(up{job="gone"})')[0] > 2.5, 20,
               "the old sample to age past 2s")  # fmt: skip
    result = await run_check(prom_plan(tmp_path, prom.url, "gone", staleness="2s"), "targets")
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"gone {scraped.targets['gone'].address}: last scraped ")
    assert result.summary.endswith("ago > 2s")


async def test_unreachable_prometheus_is_an_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await run_check(prom_plan(tmp_path, url), "targets")
    assert result.status is Status.ERROR
    assert result.summary == f"cannot connect to Prometheus at {url}"


# -- Alertmanager (real) -----------------------------------------------------------

FULL_AM = """
global:
  smtp_smarthost: '127.0.0.1:2525'
  smtp_from: 'alerts@example.invalid'
route:
  receiver: pager
  routes:
    - receiver: slack
      matchers: ['severity="warning"']
    - receiver: email
      matchers: ['severity="info"']
receivers:
  - name: pager
    pagerduty_configs:
      - routing_key: 'test-routing-key'
  - name: slack
    slack_configs:
      - api_url: 'http://127.0.0.1:9/hook'
        channel: '#release'
  - name: email
    email_configs:
      - to: 'oncall@example.invalid'
"""
NO_EMAIL_AM = FULL_AM.split("  - name: email")[0].replace(
    "    - receiver: email\n      matchers: ['severity=\"info\"']\n", ""
)
UNROUTED_EMAIL_AM = FULL_AM.replace("    - receiver: email\n      matchers: ['severity=\"info\"']\n", "")

RECEIVERS = """
      [[gates.checks]]
      id = "alerts"
      title = "Alert channels configured"
      kind = "alert_receivers"
      channels = ["pager", "slack", "email"]
"""


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[AlertmanagerServer]:
    if not AlertmanagerServer.available():
        need_server(AlertmanagerServer.missing_reason() or "alertmanager missing")
    server = AlertmanagerServer(FULL_AM)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def am_plan(tmp_path: Path, url: str):
    return load_config(tmp_path, HEADER + f'\n[integrations.alertmanager]\nurl = "{url}"\n' + gate(RECEIVERS))


@pytest.mark.server
async def test_receivers_present_and_routed(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(FULL_AM)
    result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "pager, slack, email receivers configured and routed (3 receivers)"
    assert result.evidence["receivers"] == {"pager": ["pager"], "slack": ["slack"], "email": ["email"]}
    # Alertmanager masks secrets in config.original; nothing secret reaches the result.
    assert "test-routing-key" not in json.dumps(result.to_dict())


@pytest.mark.server
async def test_receiver_missing(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(NO_EMAIL_AM)
    try:
        result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    finally:
        alertmanager.set_config(FULL_AM)
    assert result.status is Status.FAIL
    assert result.summary == "no email receiver configured (receivers: pager[pager], slack[slack])"


@pytest.mark.server
async def test_receiver_configured_but_not_routed(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(UNROUTED_EMAIL_AM)
    try:
        result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    finally:
        alertmanager.set_config(FULL_AM)
    assert result.status is Status.FAIL
    assert result.summary == "email receiver 'email' is configured but no route sends to it"


# -- Grafana, Loki, Jaeger (stand-ins) ---------------------------------------------


def grafana_plan(tmp_path: Path, url: str, dashboards: list[str]):
    checks = f"""
      [[gates.checks]]
      id = "dash"
      title = "Dashboards load with live data"
      kind = "grafana_dashboards"
      dashboards = {json.dumps(dashboards)}
    """
    text = HEADER + f'\n[integrations.grafana]\nurl = "{url}"\ntoken = "env:GRAFANA_TOKEN"\n' + gate(checks)
    return load_config(tmp_path, text)


async def test_grafana_dashboards_ok(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(grafana.make_app(state)) as url:
        plan = grafana_plan(tmp_path, url, ["Monorepo overview", "canary", "Workers and queues"])
        result = await run_check(plan, "dash", {"GRAFANA_TOKEN": state.secrets["grafana_token"]})
    assert result.status is Status.PASS, result.summary
    assert result.summary == "3 dashboard(s) load, datasources healthy, data in the last 15m"
    assert result.evidence["dashboards"]["Workers and queues"]["datasources"] == ["prom-sandbox", "loki-sandbox"]


async def test_grafana_missing_dashboard_and_broken_datasource(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(grafana.make_app(state, failing_datasources=("loki-sandbox",))) as url:
        plan = grafana_plan(tmp_path, url, ["Monorepo overview", "Release Burndown", "workers"])
        result = await run_check(plan, "dash", {"GRAFANA_TOKEN": state.secrets["grafana_token"]})
    assert result.status is Status.FAIL
    assert result.details[0] == "dashboard 'Release Burndown' not found"
    assert result.details[1].startswith("dashboard 'Workers and queues': datasource loki-sandbox unhealthy: HTTP 400")


async def test_grafana_dashboard_without_live_data(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(grafana.make_app(state, empty_datasources=("prom-sandbox",))) as url:
        plan = grafana_plan(tmp_path, url, ["Workers and queues"])
        result = await run_check(plan, "dash", {"GRAFANA_TOKEN": state.secrets["grafana_token"]})
    assert result.status is Status.FAIL
    assert result.summary == "dashboard 'Workers and queues': no data in the last 15m (panel 'Queue lag')"


async def test_grafana_bad_token_is_an_error(tmp_path: Path) -> None:
    async with serve(grafana.make_app(SandboxState())) as url:
        plan = grafana_plan(tmp_path, url, ["canary"])
        result = await run_check(plan, "dash", {"GRAFANA_TOKEN": "glsa_wrong_token_123"})
    assert result.status is Status.ERROR
    assert result.summary == "Grafana search: credentials rejected (HTTP 401)"


def loki_plan(tmp_path: Path, url: str, jobs: list[str]):
    checks = f"""
      [[gates.checks]]
      id = "logs"
      title = "Loki receives logs"
      kind = "loki_ingest"
      jobs = {json.dumps(jobs)}
      window = "5m"
    """
    return load_config(tmp_path, HEADER + f'\n[integrations.loki]\nurl = "{url}"\n' + gate(checks))


async def test_loki_jobs_logging(tmp_path: Path) -> None:
    async with serve(loki.make_app(SandboxState())) as url:
        result = await run_check(loki_plan(tmp_path, url, ["auth", "documents-worker", "qna"]), "logs")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "3 job(s) logging (lines in the last 5m)"
    assert all(age is not None and age < 11 for age in result.evidence["newest_line_age_s"].values())


async def test_loki_silent_and_unknown_jobs_fail(tmp_path: Path) -> None:
    async with serve(loki.make_app(SandboxState(), silent_jobs=("qna",))) as url:
        result = await run_check(loki_plan(tmp_path, url, ["auth", "qna", "billing"]), "logs")
    assert result.status is Status.FAIL
    assert result.summary == "2/3 job(s) without log lines in the last 5m: qna, billing"


def jaeger_plan(tmp_path: Path, url: str, services: list[str], operations: str = "{}"):
    checks = f"""
      [[gates.checks]]
      id = "traces"
      title = "Jaeger traces for core flows"
      kind = "jaeger_traces"
      services = {json.dumps(services)}
      operations = {operations}
      window = "15m"
    """
    return load_config(tmp_path, HEADER + f'\n[integrations.jaeger]\nurl = "{url}"\n' + gate(checks))


async def test_jaeger_traces_for_services_and_operations(tmp_path: Path) -> None:
    ops = '{ auth = ["POST /login"], "tax-engine" = ["POST /tax/calculate", "POST /tax/submit"] }'
    async with serve(jaeger.make_app(SandboxState())) as url:
        result = await run_check(jaeger_plan(tmp_path, url, ["auth", "tax-engine"], ops), "traces")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "traces in the last 15m for 2 service(s) and 3 operation(s)"


async def test_jaeger_silent_service_unknown_service_and_operation(tmp_path: Path) -> None:
    ops = '{ auth = ["POST /logout"] }'
    async with serve(jaeger.make_app(SandboxState(), silent_services=("documents",))) as url:
        result = await run_check(jaeger_plan(tmp_path, url, ["auth", "documents", "billing"], ops), "traces")
    assert result.status is Status.FAIL
    assert set(result.details) == {
        "billing: never reported traces to Jaeger",
        "documents: no traces in the last 15m",
        "auth 'POST /logout': no traces in the last 15m",
    }
