"""The integration tier: the check kinds against real servers started from the
machine's binaries, one per module, on free ports.

Every test here is marked ``server``. A server whose binary is missing (or that does
not start) skips its tests with the reason, or fails them when
GONOGO_REQUIRE_SERVERS=1 (``support.servers.need_server``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gonogo.sandbox.pgcluster import PgCluster
from gonogo.sandbox.standins.prometheus import AlertmanagerServer
from support.servers import (
    ScrapedPrometheus,
    running_alertmanager,
    running_pg_cluster,
    running_scraped_prometheus,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster (WAL archiving on)."""
    with running_pg_cluster(archive=True) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def prometheus() -> Iterator[ScrapedPrometheus]:
    """A real Prometheus scraping three jobs (api, worker, gone), first scrapes done."""
    with running_scraped_prometheus() as setup:
        yield setup


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[AlertmanagerServer]:
    """A real Alertmanager; tests install their config with ``set_config``."""
    with running_alertmanager() as server:
        yield server
