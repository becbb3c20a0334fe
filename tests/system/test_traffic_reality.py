"""Issue 11 acceptance against the running sandbox: a weight changed behind the
driver's back is detected before the next shift.

`gonogo rollout` drives the sandbox to the canary (5 %); the test then sets the
gateway to 0 % through its admin API, as a second driver or a hand on the router
would. The driver stops with "weight drifted: journal 5 %, gateway 0 %" (exit 1)
without shifting anything; run again, it refuses to resume on the drifted weight;
once the gateway is set back to 5 % it resumes and reaches stable.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gonogo.rollout.journal import read_events
from gonogo.sandbox.fleet import FleetThread
from support.fleet import SandboxFiles, admin, start_fleet, trimmed
from support.rollout import run_cli

pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("traffic_reality")]
SPEED = 60.0
HOLDS = {"staging": "1m", "canary": "20m", "ramp-25": "1m", "ramp-50": "1m", "full": "1m"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    thread, files = start_fleet(tmp_path_factory.mktemp("sandbox"), speed=SPEED)
    try:
        yield thread, files
    finally:
        thread.stop()


def gateway_weight(thread: FleetThread) -> float:
    return float(admin(thread, "GET", "/admin/state").json()["weight"])


async def entered(session: Path, stage: str, proc: asyncio.subprocess.Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.returncode is None:
        if (session / "events.jsonl").exists() and any(
                e.kind == "stage_entered" and e.data["stage"] == stage for e in read_events(session)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"stage {stage} not entered within {timeout}s (exit {proc.returncode})")


async def test_a_weight_set_behind_the_drivers_back_stops_the_rollout_before_the_next_shift(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    assert admin(thread, "POST", "/admin/scenario", {"scenario": "healthy"}).status_code == 200
    assert admin(thread, "POST", "/admin/weight", {"weight": 0}).status_code == 200
    config, session = trimmed(files, tmp_path / "plan.toml", holds=HOLDS), tmp_path / "s"
    args = ("rollout", "--config", str(config), "--session", str(session), "--yes",
            "--auto-signoff", "--speed", f"{SPEED:g}", "--actor", "Tomas Novak")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    try:
        await entered(session, "canary", proc, timeout=120)
        assert gateway_weight(thread) == 5.0
        changed = time.time()
        assert admin(thread, "POST", "/admin/weight", {"weight": 0}).status_code == 200
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:  # only the process this test started, by its handle
            proc.kill()
            await proc.wait()
    stderr = err.decode()
    assert proc.returncode == 1, stderr[-3000:]
    assert "weight drifted: journal 5 %, gateway 0 %" in stderr
    assert "nothing was shifted" in stderr
    events = read_events(session)
    drift = next(e for e in events if e.kind == "weight_drifted")
    assert drift.actor == "gonogo" and drift.data["stage"] == "canary"
    assert (drift.data["journal"], drift.data["actual"]) == (5.0, 0.0)
    assert "/admin/state" in drift.data["detail"]
    assert drift.time - changed <= 3.0  # read back each canary interval (2 s real at least)
    later = [e for e in events if e.seq > drift.seq]
    assert not any(e.kind in ("traffic_intended", "advance_confirmed", "stage_entered") for e in later)
    assert gateway_weight(thread) == 0.0  # never "fixed" by shifting
    assert [e.data["weight"] for e in events if e.kind == "traffic_confirmed"] == [0.0, 5.0]

    # Run again without setting it back: it will not resume on the drifted weight.
    rc, out2, err2 = await run_cli(*args, timeout=60)
    assert rc == 1 and "weight drifted: journal 5 %, gateway 0 %" in err2, err2[-2000:]
    assert gateway_weight(thread) == 0.0

    # Set back by hand: the restarted driver verifies it, resumes and finishes.
    assert admin(thread, "POST", "/admin/weight", {"weight": 5}).status_code == 200
    rc, out3, err3 = await run_cli(*args, timeout=150)
    assert rc == 0, err3[-3000:]
    events = read_events(session)
    verified = next(e for e in events if e.kind == "weight_verified")
    resumed = events[verified.seq]  # the next event (seq is 1-based)
    assert resumed.kind == "resumed" and resumed.actor == "gonogo"
    assert [e.kind for e in events if e.kind == "weight_drifted"] == ["weight_drifted"] * 2
    assert events[-1].kind == "release_stable" and gateway_weight(thread) == 100.0
    assert (await run_cli("log", "verify", str(session)))[0] == 0
