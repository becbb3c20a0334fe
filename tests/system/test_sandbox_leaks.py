"""Acceptance: starting and stopping the fleet 20 times in one process leaks no
sockets (open fds in /proc/self/fd), threads or asyncio tasks."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import httpx
import pytest

from gonogo.sandbox.fleet import Fleet, FleetThread
from support.fleet import relocate
from support.servers import need_server

pytestmark = pytest.mark.timeout(240)
ROUNDS = 20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def exercise(fleet: Fleet) -> None:
    """Real work each round: journeys through the gateway, the generator's traffic."""
    token = fleet.state.secrets["authorization"]
    async with httpx.AsyncClient(base_url=fleet.url("gateway"), timeout=10) as client:
        r = await client.post("/api/tax-engine/calculate", json={"income": 50000},
                              headers={"Authorization": token})  # fmt: skip
        assert r.status_code == 201, r.text
        r = await client.post("/api/documents/documents", json={"name": "a", "content": "leak check"},
                              headers={"Authorization": token})  # fmt: skip
        assert r.status_code == 201, r.text
    assert fleet.traffic is not None
    for _ in range(200):  # until the generator has had a few answers (bounded)
        if fleet.traffic.sent >= 3:
            break
        await asyncio.sleep(0.02)
    assert fleet.traffic.sent >= 3


async def test_twenty_starts_and_stops_leak_nothing(tmp_path: Path) -> None:
    files = relocate(tmp_path)

    async def one_round() -> None:
        async with Fleet(config_path=files.config, runtime_dir=files.runtime_dir, speed=60,
                         externals=False, traffic_rate=50) as fleet:  # fmt: skip
            await exercise(fleet)
        assert not files.runtime_dir.exists()  # demo secrets do not outlive the fleet

    await one_round()  # warm-up: lazy imports and one-time caches
    fds, threads, tasks = open_fds(), threading.active_count(), len(asyncio.all_tasks())
    for _ in range(ROUNDS):
        await one_round()
    await asyncio.sleep(0)  # let just-closed transports finish their callbacks
    assert open_fds() <= fds, f"{open_fds() - fds} fds leaked over {ROUNDS} rounds"
    assert threading.active_count() <= threads
    assert len(asyncio.all_tasks()) <= tasks


def test_fleet_thread_leaves_no_thread_behind(tmp_path: Path) -> None:
    files = relocate(tmp_path)
    before_threads, before_fds = threading.active_count(), open_fds()
    for _ in range(3):
        with FleetThread(config_path=files.config, runtime_dir=files.runtime_dir, externals=False) as fleet:
            assert httpx.get(fleet.url("gateway") + "/health", timeout=5).status_code == 200
    assert threading.active_count() == before_threads
    assert open_fds() <= before_fds


def children() -> set[int]:
    """Our live child processes (zombies excluded)."""
    me, found = str(os.getpid()), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[1] == me and stat[0] != "Z":
                found.add(int(entry))
    return found


async def test_real_servers_are_stopped_with_the_fleet(tmp_path: Path) -> None:
    """PostgreSQL, Prometheus and Alertmanager go away with the fleet: no child
    process, no port still taken, no thread left, round after round."""
    from gonogo.sandbox.externals import port_free
    from gonogo.sandbox.layout import load_layout

    files = relocate(tmp_path)
    layout = load_layout(files.config)
    fds, threads, kids = open_fds(), threading.active_count(), children()
    started_any = False
    for _ in range(3):
        async with Fleet(config_path=files.config, runtime_dir=files.runtime_dir, traffic_rate=0) as fleet:
            ext = fleet.externals
            assert ext is not None
            started_any = started_any or any((ext.pg, ext.prometheus, ext.alertmanager))
    if not started_any:
        reason = "no PostgreSQL/Prometheus/Alertmanager binaries here: " + "; ".join(fleet.notes)
        need_server(reason)
    for name in ("postgres", "prometheus", "alertmanager"):
        addr = layout.integrations[name]
        assert port_free(addr.host, addr.port), f"{name} still listening on {addr.port}"
    assert children() <= kids
    assert threading.active_count() <= threads
    assert open_fds() <= fds
