"""Acceptance: `gonogo check` against a running sandbox, one test per scenario.

`healthy` is GO (exit 0); each checklist fault is NO-GO (exit 1) with the check
that catches it in `blocking`; canary-only faults leave the checklist GO at weight 0
(only the canary analysis can see them). One fleet serves the whole module; each
test switches its scenario through the admin API, as an operator would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gonogo.config import load_plan
from gonogo.sandbox.fleet import FleetThread
from support.fleet import SandboxFiles, admin, gonogo_check
from support.servers import need_server

pytestmark = pytest.mark.timeout(240)

# scenario -> the check id the fleet's own services make fail
FLEET_FAULTS = {
    "leaky-gateway": "internal-routes-blocked",
    "auth-outage": "auth-propagation",
    "unhealthy-service": "health-all",
    "weaviate-anonymous": "weaviate-anonymous-disabled",
}
# scenario -> the check kind in sandbox.toml that must catch it; -> whether it needs
# PostgreSQL
INTEGRATION_FAULTS = {
    "stale-secret": ("vault_secret_age", False),
    "failing-ci": ("github_actions", False),
    "open-p0": ("open_incidents", False),
    "no-backup": ("postgres_backup", True),
    "pending-migration": ("migrations", True),
    "target-down": ("prometheus_targets", False),
}
CANARY_ONLY = ("canary-regression", "auth-failures", "queue-backlog", "failed-writes")


@pytest.fixture
def sandbox(module_fleet: tuple[FleetThread, SandboxFiles]) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    fleet, files = module_fleet
    yield fleet, files
    fleet.set_scenario("healthy")
    fleet.set_weight(0)


def why(report: dict) -> dict[str, str]:
    """The summary of each blocking check, for assertion messages."""
    checks = {c["id"]: c["summary"] for g in report["gates"] for c in g["checks"]}
    return {b: checks.get(b, "") for b in report["blocking"]}


def switch(fleet: FleetThread, scenario: str) -> None:
    resp = admin(fleet, "POST", "/admin/scenario", {"scenario": scenario}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert admin(fleet, "GET", "/admin/state").json()["scenario"] == scenario


def test_healthy_is_go(sandbox: tuple[FleetThread, SandboxFiles]) -> None:
    fleet, files = sandbox
    code, report, err = gonogo_check(files.config)
    assert (code, report["verdict"], report["blocking"]) == (0, "GO", []), why(report)
    statuses = {c["id"]: c["status"] for g in report["gates"] for c in g["checks"]}
    assert statuses["smoke-documents"] == "pass"
    assert statuses["auth-propagation"] == "pass"


@pytest.mark.parametrize("scenario", sorted(FLEET_FAULTS))
def test_fleet_fault_is_nogo_with_the_right_check(scenario: str, sandbox: tuple[FleetThread, SandboxFiles]) -> None:
    fleet, files = sandbox
    switch(fleet, scenario)
    code, report, _ = gonogo_check(files.config)
    assert code == 1 and report["verdict"] == "NO-GO"
    assert FLEET_FAULTS[scenario] in report["blocking"], report["blocking"]


@pytest.mark.parametrize("scenario", sorted(INTEGRATION_FAULTS))
def test_integration_fault_is_nogo_with_the_right_check(
    scenario: str, sandbox: tuple[FleetThread, SandboxFiles]
) -> None:
    fleet, files = sandbox
    kind, needs_pg = INTEGRATION_FAULTS[scenario]
    plan = load_plan(files.config)
    ids = [c.id for _, c in plan.checks() if c.kind == kind]
    assert ids, f"sandbox.toml has no {kind} check to catch the {scenario} scenario"
    if needs_pg and fleet.fleet.externals is not None and fleet.fleet.externals.pg is None:
        reason = "; ".join(fleet.fleet.notes) or "PostgreSQL not started"
        need_server(reason)
    switch(fleet, scenario)  # returns once PostgreSQL and Prometheus reflect it
    code, report, _ = gonogo_check(files.config)
    assert code == 1 and report["verdict"] == "NO-GO"
    assert set(ids) & set(report["blocking"]), (ids, report["blocking"])


@pytest.mark.parametrize("scenario", CANARY_ONLY)
def test_canary_only_fault_leaves_the_checklist_go(scenario: str, sandbox: tuple[FleetThread, SandboxFiles]) -> None:
    fleet, files = sandbox
    switch(fleet, scenario)
    code, report, _ = gonogo_check(files.config)
    assert (code, report["verdict"]) == (0, "GO"), why(report)
