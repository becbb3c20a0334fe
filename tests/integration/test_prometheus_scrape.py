"""Acceptance: a real Prometheus scraping the sandbox sees every service up and a
canary/baseline request-rate ratio that follows the weight set through the gateway.

Prometheus is the Debian binary, started by the test on a free loopback port with a
1 s scrape interval and temp storage. With GONOGO_REQUIRE_SERVERS=1 a missing binary
fails the test; otherwise it is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gonogo.sandbox.fleet import FleetThread
from gonogo.sandbox.standins.prometheus import PrometheusServer
from support.fleet import admin, start_fleet
from support.servers import need_server
from support.waiting import wait_until

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]

RATIO = (
    'sum(rate(http_requests_total{track="canary"}[10s]))'
    ' / sum(rate(http_requests_total{track="baseline"}[10s]))'
)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, PrometheusServer]]:
    reason = PrometheusServer.missing_reason()
    if reason:
        need_server(reason)
    # The fleet's own Prometheus stays off: this test brings its own, as a user would.
    fleet, files = start_fleet(tmp_path_factory.mktemp("prom"), speed=1.0, externals=False)
    try:
        layout = fleet.fleet.layout
        assert layout is not None
        targets = {name: [f"{a.host}:{a.port}"] for name, a in layout.services.items()}
        targets["gateway"] = [f"{layout.gateway.host}:{layout.gateway.port}"]
        with PrometheusServer(targets, scrape_interval="1s") as prom:
            yield fleet, prom
    finally:
        fleet.stop()


def query(prom: PrometheusServer, promql: str) -> list[dict[str, Any]]:
    resp = httpx.get(prom.url + "/api/v1/query", params={"query": promql}, timeout=10)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def scalar(prom: PrometheusServer, promql: str) -> float | None:
    result = query(prom, promql)
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN: no traffic yet


def test_every_service_is_up(scraped: tuple[FleetThread, PrometheusServer]) -> None:
    fleet, prom = scraped
    layout = fleet.fleet.layout
    assert layout is not None
    expected = set(layout.services) | {"gateway"}

    def up_jobs() -> set[str]:
        return {r["metric"]["job"] for r in query(prom, "up == 1")}

    wait_until(lambda: up_jobs() >= expected, 30, lambda: f"every job up; missing {expected - up_jobs()}")
    assert len(expected) == 16  # the seed's 15 services and the gateway


def expected_ratio(weight: float) -> float:
    """canary / baseline requests at ``weight``: the canary's organic share, topped up
    to the generator's floor while it is small (load pinned to the canary)."""
    from gonogo.sandbox.traffic import CANARY_FLOOR, DEFAULT_RATE

    canary = max(DEFAULT_RATE * weight / 100, CANARY_FLOOR)
    return canary / (DEFAULT_RATE * (100 - weight) / 100)


@pytest.mark.parametrize("weight, ratio", [(25, expected_ratio(25)), (50, expected_ratio(50))])
def test_canary_baseline_rate_ratio_follows_the_weight(
    weight: int, ratio: float, scraped: tuple[FleetThread, PrometheusServer]
) -> None:
    fleet, prom = scraped
    resp = admin(fleet, "POST", "/admin/weight", {"weight": weight})
    assert resp.json() == {"weight": float(weight)}

    def close_enough() -> float | None:
        value = scalar(prom, RATIO)
        return value if value is not None and abs(value - ratio) <= 0.25 * ratio else None

    # The 10 s rate window must first fill with traffic sent at the new weight.
    wait_until(close_enough, 60, lambda: f"the canary/baseline ratio ({scalar(prom, RATIO)}) near {ratio:.2f}",
               interval=1.0)
    # And it stays there: a later reading agrees too.
    wait_until(close_enough, 10, f"a later reading near {ratio:.2f} too", interval=1.0)
