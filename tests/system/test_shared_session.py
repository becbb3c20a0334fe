"""Issue 11 on the file store, with `gonogo rollout` driving in a subprocess:

- one driver per release, not per directory: a second driver on another session
  directory exits 4 naming the first (who, session, host, since);
- a watcher (the panel's read-only control, on the real follower) sees each event the
  driver journals within 1 s, and what it submits — a note, a pause request, a sign-off
  it owns — is journaled by the driver under the watcher's name;
- `gonogo propose-rollback` from another process is journaled under its submitter's
  name, and the driver (here with --yes) rolls back.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.rollout.engine import EngineRefused
from gonogo.rollout.follow import FileFollower
from gonogo.rollout.intents import Inbox
from gonogo.rollout.journal import read_events
from gonogo.rollout.watch import WatchControl
from support.loopback import serve
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan

pytestmark = pytest.mark.timeout(120)


async def start_driver(plan: Path, session: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", "rollout", "--config", str(plan), "--session", str(session),
        "--yes", "--speed", "2", "--actor", "Ada Lovelace", *extra,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env=dict(os.environ))


async def until(condition, what: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def journaled(session: Path, kind: str) -> list:  # type: ignore[type-arg]
    if not (session / "events.jsonl").exists():
        return []
    return [e for e in read_events(session) if e.kind == kind]


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.terminate()
    _, err = await proc.communicate()
    return err.decode()


async def test_a_second_driver_of_the_release_exits_4_naming_the_first(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        first = await start_driver(plan, tmp_path / "one")
        try:
            await until(lambda: journaled(tmp_path / "one", "session_started"), "the first driver")
            rc, _, err = await run_cli("rollout", "--config", str(plan), "--session",
                                       str(tmp_path / "two"), "--yes", "--speed", "2")
        finally:
            await stop(first)
    assert rc == 4, err
    assert "release shop-2.4.0 is driven by Ada Lovelace" in err
    assert f"session {tmp_path / 'one'}" in err and "since" in err and "host" in err


async def test_a_watcher_follows_live_and_its_intents_are_journaled_under_its_name(
    tmp_path: Path,
) -> None:
    admin = ScriptedAdmin()
    session = tmp_path / "s"
    async with serve(admin.app) as base:
        plan_path = write_cli_plan(tmp_path, base)
        plan = load_plan(plan_path)
        driver = await start_driver(plan_path, session)
        try:
            await until(lambda: journaled(session, "session_started"), "the session")
            watcher = WatchControl(plan, FileFollower(session), Inbox(session), actor="Grace Hopper")
            first = len(watcher.events())  # read when it opened; every later one is followed
            seen: dict[int, float] = {}
            watcher.subscribe(lambda e, _s: seen.setdefault(e.seq, time.time()))

            async def follow() -> None:
                while True:
                    await watcher.tick()
                    await asyncio.sleep(0.2)

            following = asyncio.create_task(follow())
            try:
                await until(lambda: journaled(session, "stage_entered"), "the canary stage")
                with pytest.raises(EngineRefused, match=r"only the driver \(Ada Lovelace\) can advance"):
                    await watcher.advance()
                await watcher.note("SRE on the bridge")
                await watcher.pause("the payments team is deploying too")
                with pytest.raises(EngineRefused, match="unit is a command check: it is run, "
                                                        "not signed off"):
                    await watcher.sign_off("unit", "looked at it")
                await asyncio.sleep(1.0)
            finally:
                stopped = time.time()
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
        finally:
            await stop(driver)
    events = read_events(session)
    followed = [e for e in events if first < e.seq and e.time < stopped - 1.0]
    assert len(followed) >= 4  # at least: the shift, the stage entered, the note, the request
    assert all(e.seq in seen for e in followed), "an event the watcher never saw"
    lags = sorted(seen[e.seq] - e.time for e in followed)
    p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
    assert p95 <= 1.0 and lags[-1] <= 2.0, lags  # each new event on screen within a second
    note = next(e for e in events if e.kind == "note")
    assert (note.actor, note.data["text"]) == ("Grace Hopper", "SRE on the bridge")
    request = next(e for e in events if e.kind == "pause_requested")
    assert (request.actor, request.data["reason"]) == ("Grace Hopper", "the payments team is deploying too")
    assert watcher.state.pause_requests == (("Grace Hopper", "the payments team is deploying too"),)


async def test_propose_rollback_from_another_process_is_journaled_and_acted_on(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    session = tmp_path / "s"
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        driver = await start_driver(plan, session, "--auto-signoff")
        try:
            await until(lambda: journaled(session, "stage_entered"), "the canary stage")
            rc, out, err = await run_cli("propose-rollback", "--config", str(plan), "--session",
                                         str(session), "--reason", "support sees double charges",
                                         "--as", "Grace Hopper")
            assert rc == 0, err
            assert "rollback proposed; the driver decides" in out
            code = await asyncio.wait_for(driver.wait(), 60)
        finally:
            driver_err = await stop(driver)
    assert code == 3, driver_err
    proposed = journaled(session, "rollback_proposed")[0]
    assert proposed.actor == "Grace Hopper"
    assert proposed.data["reason"] == "Grace Hopper proposes a rollback: support sees double charges"
    started = journaled(session, "rollback_started")[0]
    assert started.seq > proposed.seq and started.actor == "Ada Lovelace"  # the driver's decision
    assert admin.weights[-1] == 0.0


async def test_the_driver_sees_who_watches(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    session = tmp_path / "s"
    async with serve(admin.app) as base:
        plan_path = write_cli_plan(tmp_path, base)
        plan = load_plan(plan_path)
        driver = await start_driver(plan_path, session)
        try:
            await until(lambda: journaled(session, "session_started"), "the session")
            sre = WatchControl(plan, FileFollower(session), Inbox(session), actor="Grace Hopper")
            await sre.tick()
            assert sre.watchers() == ["Grace Hopper"]  # what the driver's panel lists
            await sre.aclose()
            assert sre.watchers() == []  # gone once the watcher closed
        finally:
            await stop(driver)
