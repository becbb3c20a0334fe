"""Observability kinds against the real Prometheus and Alertmanager (the module's
``prometheus`` and ``alertmanager`` fixtures, tests/integration/conftest.py). The
stand-in kinds (Grafana, Loki, Jaeger) are in tests/unit/test_checks_observability_standins.py."""

from __future__ import annotations

import json
from pathlib import Path

from gonogo.config import Plan
from gonogo.model import Status
from gonogo.sandbox.standins.prometheus import AlertmanagerServer
from support.plans import plan_from_toml, run_check
from support.servers import ScrapedPrometheus, instant
from support.waiting import wait_until

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


# -- Prometheus (real) -------------------------------------------------------------

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



async def test_target_up(prometheus: ScrapedPrometheus, tmp_path: Path) -> None:
    result = await run_check(prom_plan(tmp_path, prometheus.prom.url, "api"), "targets")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "1 target(s) up in 1 job(s)"
    assert result.evidence["targets"][f"api {prometheus.targets['api'].address}"]["up"] == 1.0


async def test_target_down_after_its_server_stops(prometheus: ScrapedPrometheus, tmp_path: Path) -> None:
    prometheus.targets["worker"].stop()
    wait_until(lambda: instant(prometheus.prom, 'up{job="worker"}') == [0.0], 20, "a failed scrape (up=0)")
    result = await run_check(prom_plan(tmp_path, prometheus.prom.url, "worker"), "targets")
    assert result.status is Status.FAIL
    assert result.summary == f"worker {prometheus.targets['worker'].address}: down (up=0, expected 1)"


async def test_target_no_longer_scraped_after_restart_is_stale(prometheus: ScrapedPrometheus, tmp_path: Path) -> None:
    """After a restart without the job, the 5m lookback still returns its old ``up=1``."""
    prom = prometheus.prom
    prom.kill()
    prom.targets = {job: addrs for job, addrs in prom.targets.items() if job != "gone"}
    prom.start()  # same TSDB: the old sample survives, with no staleness marker
    assert instant(prom, 'up{job="gone"}') == [1.0], "expected the lookback to return the old sample"
    wait_until(lambda: instant(prom, 'time() - timestamp(up{job="gone"})')[0] > 2.5, 20,
               "the old sample to age past 2s")  # fmt: skip
    result = await run_check(prom_plan(tmp_path, prom.url, "gone", staleness="2s"), "targets")
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"gone {prometheus.targets['gone'].address}: last scraped ")
    assert result.summary.endswith("ago > 2s")


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


def am_plan(tmp_path: Path, url: str) -> Plan:
    return plan_from_toml(tmp_path, HEADER + f'\n[integrations.alertmanager]\nurl = "{url}"\n' + gate(RECEIVERS))


async def test_receivers_present_and_routed(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(FULL_AM)
    result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    assert result.status is Status.PASS, result.summary
    assert result.summary == "pager, slack, email receivers configured and routed (3 receivers)"
    assert result.evidence["receivers"] == {"pager": ["pager"], "slack": ["slack"], "email": ["email"]}
    # Alertmanager masks secrets in config.original; nothing secret reaches the result.
    assert "test-routing-key" not in json.dumps(result.to_dict())


async def test_receiver_missing(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(NO_EMAIL_AM)
    try:
        result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    finally:
        alertmanager.set_config(FULL_AM)
    assert result.status is Status.FAIL
    assert result.summary == "no email receiver configured (receivers: pager[pager], slack[slack])"


async def test_receiver_configured_but_not_routed(alertmanager: AlertmanagerServer, tmp_path: Path) -> None:
    alertmanager.set_config(UNROUTED_EMAIL_AM)
    try:
        result = await run_check(am_plan(tmp_path, alertmanager.url), "alerts")
    finally:
        alertmanager.set_config(FULL_AM)
    assert result.status is Status.FAIL
    assert result.summary == "email receiver 'email' is configured but no route sends to it"


