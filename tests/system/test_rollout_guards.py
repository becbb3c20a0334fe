"""Issue 10 acceptance against the running sandbox, through `gonogo rollout` as a
release manager runs it:

- `--yes` alone never signs: the staging smoke sign-off stays pending and the driver
  says who must give it and how; `gonogo signoff` from a second terminal is journaled
  by the driver under the signer's name, with the owner role and the note.
- A P0 opened during the canary (scenario switch) trips the `open-p0-p1` guard and the
  runbook runs within the guard interval + 1 s (`on_stop = "auto"`).
- A service turning unhealthy during the canary's hold makes the `health-all` guard
  propose a rollback (`on_stop = "propose"`), which `--yes` then confirms.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

import pytest

from gonogo.rollout.journal import read_events
from gonogo.sandbox.fleet import FleetThread
from support.fleet import SandboxFiles, admin, trimmed
from support.rollout import run_cli

pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("rollout_guards")]
SPEED = 60.0
GUARD_INTERVAL_S = 120.0  # plan time: 2 s of real time at SPEED
HOLDS = {"staging": "1m", "canary": "30m"}


@pytest.fixture(scope="module")
def fleet(module_fleet: tuple[FleetThread, SandboxFiles]) -> tuple[FleetThread, SandboxFiles]:
    """The system tier's shared module fleet (it runs at SPEED)."""
    return module_fleet


def scenario(thread: FleetThread, name: str) -> float:
    assert admin(thread, "POST", "/admin/scenario", {"scenario": name}).status_code == 200
    return time.time()


class Driver:
    """`gonogo rollout` as a subprocess whose stderr is read as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.err: list[str] = []
        self.out: list[str] = []
        self._tasks = [asyncio.create_task(self._pump(proc.stderr, self.err)),
                       asyncio.create_task(self._pump(proc.stdout, self.out))]

    @staticmethod
    async def _pump(stream: asyncio.StreamReader | None, into: list[str]) -> None:
        assert stream is not None
        while line := await stream.readline():
            into.append(line.decode())

    async def stderr_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.err:
                if needle in line:
                    return line
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"no stderr line with {needle!r}:\n{''.join(self.err)[-3000:]}")

    async def stop(self) -> None:
        """Whatever happened, leave no process and no open pipe behind."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def finish(self, timeout: float) -> int:
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await asyncio.gather(*self._tasks)
        return self.proc.returncode


async def drive(*args: str) -> Driver:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", "rollout", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    return Driver(proc)


async def entered(session: Path, stage: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (session / "events.jsonl").exists() and any(
                e.kind == "stage_entered" and e.data["stage"] == stage for e in read_events(session)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"stage {stage} not entered within {timeout}s")


def plan(files: SandboxFiles, tmp: Path, on_stop: str) -> Path:
    path = trimmed(files, tmp / "plan.toml", holds=HOLDS, keep=("open-p0-p1",),
                   rollout={"on_stop": on_stop, "guard_interval": f"{GUARD_INTERVAL_S:g}s"})
    return path


async def test_sign_off_from_another_terminal_then_a_p0_rolls_back_within_the_guard_interval(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    scenario(thread, "healthy")
    config, session = plan(files, tmp_path, "auto"), tmp_path / "s"
    driver = await drive("--config", str(config), "--session", str(session), "--yes",
                         "--speed", f"{SPEED:g}", "--actor", "Tomas Novak")
    try:
        await signed_then_p0(thread, config, session, driver)
    finally:
        await driver.stop()


async def signed_then_p0(thread: FleetThread, config: Path, session: Path, driver: Driver) -> None:
    # --yes alone: the sign-off waits for its owner, and the driver says who and how
    waiting = await driver.stderr_line("sign-off of staging-manual-smoke by release_manager "
                                       "(Rosa Diaz)", timeout=90)
    assert "gonogo signoff staging-manual-smoke --as NAME --note TEXT" in waiting
    assert not any(e.kind == "signed_off" for e in read_events(session))
    # the driver (Tomas) may not sign for Rosa's role; Rosa signs from another terminal
    rc, out, err = await run_cli("signoff", "--config", str(config), "--session", str(session),
                                 "staging-manual-smoke", "--as", "Tomas Novak", "--note", "fine")
    assert rc == 1 and "Tomas Novak is not Rosa Diaz" in err
    rc, out, err = await run_cli("signoff", "--config", str(config), "--session", str(session),
                                 "staging-manual-smoke", "--as", "Rosa Diaz",
                                 "--note", "walked the six journeys on staging")
    assert rc == 0, err
    signed = next(e for e in read_events(session) if e.kind == "signed_off")
    assert (signed.actor, signed.data["role"], signed.data["note"], signed.data["automatic"]) == (
        "Rosa Diaz", "release_manager", "walked the six journeys on staging", False)
    assert f"event #{signed.seq}" in out
    delay = float(re.search(r"\(([0-9.]+)s after it was sent\)", out).group(1))  # type: ignore[union-attr]
    assert delay <= 1.0, out  # the driver takes intents every quarter second

    await entered(session, "canary", timeout=90)
    await asyncio.sleep(1.0)
    switched = scenario(thread, "open-p0")
    try:
        await asyncio.wait_for(driver.proc.wait(), 120)
    finally:
        scenario(thread, "healthy")
    assert driver.proc.returncode == 3, "".join(driver.err)[-3000:]
    events = read_events(session)
    guard = next(e for e in events if e.kind == "guard_failed")
    assert guard.data["check"] == "open-p0-p1" and guard.data["stage"] == "canary"
    assert guard.data["action"] == "rollback" and guard.actor == "gonogo"
    started = next(e for e in events if e.kind == "rollback_started")
    assert started.data["trigger"] == "guard" and started.seq == guard.seq + 1
    # within the guard interval (real time) + 1 s, plus the guard run that saw it
    run = next(e for e in events if e.seq < guard.seq and e.kind == "check_result"
               and e.data["result"]["id"] == "open-p0-p1" and e.data["result"]["status"] == "fail")
    took = run.data["result"]["duration_ms"] / 1000
    assert started.time - switched <= GUARD_INTERVAL_S / SPEED + 1.0 + took, (
        started.time - switched, took)
    assert admin(thread, "GET", "/admin/state").json()["weight"] == 0.0


@pytest.mark.parametrize(("fault", "on_stop", "guard"), [
    ("unhealthy-service", "propose", "health-all"),
    ("unhealthy-service", "auto", "health-all"),
    ("open-p0", "propose", "open-p0-p1"),
])
async def test_a_guard_failing_mid_hold_acts_per_on_stop(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path, fault: str, on_stop: str, guard: str
) -> None:
    thread, files = fleet
    scenario(thread, "healthy")
    config, session = plan(files, tmp_path, on_stop), tmp_path / "s"
    driver = await drive("--config", str(config), "--session", str(session), "--yes",
                         "--auto-signoff", "--speed", f"{SPEED:g}")
    try:
        await entered(session, "canary", timeout=90)
        await asyncio.sleep(1.0)
        switched = scenario(thread, fault)
        code = await driver.finish(timeout=120)
    finally:
        scenario(thread, "healthy")
        await driver.stop()
    assert code == 3, "".join(driver.err)[-3000:]
    events = read_events(session)
    kinds = [e.kind for e in events]
    failed = next(e for e in events if e.kind == "guard_failed")
    assert failed.data["check"] == guard and failed.data["stage"] == "canary"
    assert failed.data["action"] == ("propose" if on_stop == "propose" else "rollback")
    started = next(e for e in events if e.kind == "rollback_started")
    if on_stop == "propose":  # the driver (--yes) accepts what the guard proposed
        proposed = next(e for e in events if e.kind == "rollback_proposed")
        assert proposed.data["check"] == guard
        assert kinds.index("guard_failed") < kinds.index("rollback_proposed") < kinds.index("rollback_started")
        assert started.data["trigger"] == "operator"
    else:
        assert started.data["trigger"] == "guard" and started.seq == failed.seq + 1
    run = next(e for e in events if e.seq < failed.seq and e.kind == "check_result"
               and e.data["result"]["id"] == guard and e.data["result"]["status"] in ("fail", "error"))
    took = run.data["result"]["duration_ms"] / 1000
    assert failed.time - switched <= GUARD_INTERVAL_S / SPEED + 1.0 + took, (failed.time - switched, took)
    assert admin(thread, "GET", "/admin/state").json()["weight"] == 0.0
