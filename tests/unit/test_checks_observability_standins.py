"""Observability kinds against stand-ins over real loopback HTTP (Grafana, Loki,
Jaeger), an unreachable Prometheus, and the kinds' lazy imports. The real Prometheus
and Alertmanager are in tests/integration/test_checks_observability.py."""

from __future__ import annotations

import json
from pathlib import Path

from gonogo.config import Plan
from gonogo.model import Status
from gonogo.sandbox.pgcluster import free_port
from gonogo.sandbox.standins import grafana, jaeger, loki
from gonogo.sandbox.state import SandboxState
from support.loopback import serve
from support.plans import plan_from_toml, run_check

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


# -- Prometheus (unreachable) ----------------------------------------------------

TARGETS = """
      [[gates.checks]]
      id = "targets"
      title = "Prometheus targets up"
      kind = "prometheus_targets"
      jobs = ["{job}"]
      max_staleness = "{staleness}"
"""


def prom_plan(tmp_path: Path, url: str, job: str = "api", staleness: str = "30s") -> Plan:
    text = HEADER + f'\n[integrations.prometheus]\nurl = "{url}"\n' + gate(TARGETS.format(job=job, staleness=staleness))
    return plan_from_toml(tmp_path, text, name=f"{job}.toml")



async def test_unreachable_prometheus_is_an_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await run_check(prom_plan(tmp_path, url), "targets")
    assert result.status is Status.ERROR
    assert result.summary == f"cannot connect to Prometheus at {url}"


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
    return plan_from_toml(tmp_path, text)


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
    return plan_from_toml(tmp_path, HEADER + f'\n[integrations.loki]\nurl = "{url}"\n' + gate(checks))


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
    return plan_from_toml(tmp_path, HEADER + f'\n[integrations.jaeger]\nurl = "{url}"\n' + gate(checks))


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
