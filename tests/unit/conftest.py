"""The unit tier: in-process, fast, no fleet, no server binary, no terminal.

Checks run against in-process aiohttp apps on loopback (``support.loopback``), the
engine against an injected clock and scripted sources (``support.rollout``). Starting
a sandbox fleet or a real server here fails the test: it belongs in ``integration``
or ``system``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gonogo.sandbox.fleet import Fleet, FleetThread
from gonogo.sandbox.pgcluster import PgCluster
from gonogo.sandbox.standins.prometheus import AlertmanagerServer, PrometheusServer


@pytest.fixture(autouse=True)
def no_fleets_or_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(what: str) -> Any:
        def start(*args: Any, **kwargs: Any) -> Any:
            pytest.fail(f"a unit test started {what}: move it to tests/integration or tests/system")

        return start

    monkeypatch.setattr(FleetThread, "start", refuse("a sandbox fleet"))
    monkeypatch.setattr(Fleet, "start", refuse("a sandbox fleet"))
    monkeypatch.setattr(PgCluster, "start", refuse("a PostgreSQL cluster"))
    monkeypatch.setattr(PrometheusServer, "start", refuse("Prometheus"))
    monkeypatch.setattr(AlertmanagerServer, "start", refuse("Alertmanager"))
    yield
