"""The PostgreSQL session store against a real PostgreSQL 15: one driver per release,
followers that see every event within a second, a SIGKILLed driver's role taken over
with the chain intact, and ``gonogo signoff`` through the store's intents.

Every session here has its own key (and release, where the driver role matters), so
the tests share the module's cluster without seeing each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from gonogo.config import load_plan
from gonogo.rollout.events import Paused, SessionStarted
from gonogo.rollout.journal import GENESIS, Event, SessionBusy, make_event
from gonogo.rollout.pgstore import Dsn, PgInbox, PgJournal, parse_dsn
from gonogo.rollout.watch import WatchControl
from gonogo.sandbox.pgcluster import PgCluster
from support.loopback import serve
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan

STORE_ENV = "GONOGO_TEST_STORE"
STORE = f"env:{STORE_ENV}"


@pytest.fixture(scope="module")
def dsn_text(pg_cluster: PgCluster) -> str:
    c = pg_cluster.conninfo()
    return f"postgresql://{c['user']}:{c['password']}@{c['host']}:{c['port']}/{c['dbname']}"


@pytest.fixture(scope="module")
def dsn(dsn_text: str) -> Dsn:
    return parse_dsn(dsn_text)


def started(release: str) -> SessionStarted:
    return SessionStarted(release=release, commit="9f1c2ab", config="plan.toml", environment="production",
                          speed=1.0, stages=("canary",))


def test_two_drivers_race_for_a_release_and_exactly_one_drives(dsn: Dsn) -> None:
    gate = threading.Barrier(4)
    won: list[PgJournal] = []
    refused: list[str] = []

    def race(i: int) -> None:
        gate.wait()
        try:  # each on its own session key: the role is the release's, not the session's
            won.append(PgJournal(dsn, f"race-{i}", role="driver", release="race-1.0", actor=f"driver {i}"))
        except SessionBusy as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and len(refused) == 3, (won, refused)
    winner = won[0]
    for message in refused:  # who, which session, where, since when
        assert (f"release race-1.0 is driven by {winner.actor} (session {winner.session}, "
                f"host {socket.gethostname()}, pid {os.getpid()}, since 20") in message, message
    assert "password" not in " ".join(refused) and dsn.password not in " ".join(refused)
    winner.close()  # released: the next one drives
    nxt = PgJournal(dsn, "race-9", role="driver", release="race-1.0", actor="driver 9")
    nxt.close()


async def test_three_followers_see_every_event_within_a_second(dsn: Dsn) -> None:
    driver = PgJournal(dsn, "fan-out", role="driver", release="fan-1.0", actor="Rosa Diaz")
    followers = [PgJournal(dsn, "fan-out") for _ in range(3)]
    count = 40
    sent: dict[int, float] = {}
    seen: list[list[tuple[Event, float]]] = [[] for _ in followers]

    async def watch(j: PgJournal, into: list[tuple[Event, float]]) -> None:
        async with contextlib.aclosing(j.follow(0)) as events:
            async for event in events:
                into.append((event, time.monotonic()))
                if event.seq == count:
                    return

    tasks = [asyncio.create_task(watch(j, into)) for j, into in zip(followers, seen, strict=True)]
    try:
        await asyncio.sleep(0.5)  # every follower listening
        for n in range(1, count + 1):
            body = started("fan-1.0") if n == 1 else Paused(reason=f"hold {n}")
            sent[n] = time.monotonic()  # before the append: the latency measured is an upper bound
            await asyncio.to_thread(driver.append, body, "Rosa Diaz", time.time())
            await asyncio.sleep(0.02)
        async with asyncio.timeout(10):
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        for j in (driver, *followers):
            j.close()
    mine = [e.hash for e in driver.read()]
    latencies = []
    for into in seen:
        assert [e.hash for e, _ in into] == mine  # every event, in order, none twice
        latencies += [at - sent[e.seq] for e, at in into]
    worst = max(latencies)
    print(f"\nfollower latency over {len(latencies)} deliveries: max {worst * 1000:.0f} ms, "
          f"median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms")
    assert worst < 1.0, f"an event reached a follower after {worst:.2f}s"


async def test_a_missed_notification_delays_an_event_but_loses_nothing(dsn: Dsn, pg_cluster: PgCluster) -> None:
    driver = PgJournal(dsn, "quiet", role="driver", release="quiet-1.0", actor="Rosa Diaz")
    first = driver.append(started("quiet-1.0"), "Rosa Diaz", time.time())
    follower = PgJournal(dsn, "quiet", catchup=0.3)
    got: list[tuple[int, float]] = []

    async def watch() -> None:
        async with contextlib.aclosing(follower.follow(0)) as events:
            async for event in events:
                got.append((event.seq, time.monotonic()))
                if event.seq == 2:
                    return

    task = asyncio.create_task(watch())
    try:
        await asyncio.sleep(0.5)
        # event #2 written as the driver would, but no NOTIFY (as if it were lost)
        second = make_event(2, time.time(), "Rosa Diaz", Paused(reason="quiet"), first.hash)
        at = time.monotonic()
        with pg_cluster.admin() as conn:
            conn.execute("INSERT INTO gonogo_events (session, seq, time, actor, kind, prev, hash, line) "
                         "VALUES ('quiet', 2, %s, %s, %s, %s, %s, %s)",
                         (second.time, second.actor, second.kind, second.prev_hash, second.hash, second.line()))
        async with asyncio.timeout(5):
            await task
    finally:
        task.cancel()
        driver.close()
        follower.close()
    assert [s for s, _ in got] == [1, 2]
    # no notification came: the catch-up query (every 0.3 s here) found it
    assert got[1][1] - at < 2.0


async def test_a_follower_refuses_a_line_that_breaks_the_chain(dsn: Dsn, pg_cluster: PgCluster) -> None:
    from gonogo.rollout.journal import JournalError

    driver = PgJournal(dsn, "forged", role="driver", release="forged-1.0", actor="Rosa Diaz")
    driver.append(started("forged-1.0"), "Rosa Diaz", time.time())
    driver.close()
    forged = make_event(2, time.time(), "Mallory", Paused(reason="forged"), GENESIS)  # wrong prev
    with pg_cluster.admin() as conn:
        conn.execute("INSERT INTO gonogo_events (session, seq, time, actor, kind, prev, hash, line) "
                     "VALUES ('forged', 2, %s, %s, %s, %s, %s, %s)",
                     (forged.time, forged.actor, forged.kind, forged.prev_hash, forged.hash, forged.line()))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):  # rows cannot be edited
            conn.execute("UPDATE gonogo_events SET actor = 'Mallory' WHERE session = 'forged'")
    with pytest.raises(JournalError, match=r"event 2 \(paused\): chain broken"):
        PgJournal(dsn, "forged")
    with pytest.raises(JournalError, match="chain broken"):  # a driver will not write on it
        PgJournal(dsn, "forged", role="driver", release="forged-1.0", actor="Rosa Diaz")


# -- the CLI: a driver, a second driver, SIGKILL, takeover, a sign-off, verify --------------------
async def follow_until(journal: PgJournal, seen: list[Event], done: Callable[[Event], bool],
                       timeout: float, what: str) -> Event:
    """Follow ``journal`` from what ``seen`` holds until an event satisfies ``done``."""
    try:
        async with asyncio.timeout(timeout), contextlib.aclosing(journal.follow(len(seen))) as events:
            async for event in events:
                seen.append(event)
                if done(event):
                    return event
    except TimeoutError:
        pass
    raise AssertionError(f"no {what} within {timeout:g}s; saw {[e.kind for e in seen][-8:]}")


async def start_driver(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", "rollout", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, env={**os.environ, **env})


@pytest.mark.timeout(180)
async def test_cli_one_driver_kill_takeover_signoff_and_verify(tmp_path: Path, dsn_text: str, dsn: Dsn) -> None:
    env = {STORE_ENV: dsn_text}
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = str(write_cli_plan(tmp_path, base))
        common = ("-c", plan, "--store", STORE, "--yes", "--speed", "60")
        first = await start_driver(*common, "--session", "shop-a", "--actor", "Rosa Diaz", env=env)
        seen: list[Event] = []
        try:
            async with asyncio.timeout(30):
                while True:  # the session exists once the driver has written its first event
                    with contextlib.suppress(Exception):
                        watcher = PgJournal(dsn, "shop-a")
                        break
                    await asyncio.sleep(0.1)
            # it parks at the canary's sign-off (nobody signs; --yes never does)
            await follow_until(watcher, seen, lambda e: e.kind == "hold_completed", 60, "canary hold completed")

            # a second driver of the same release, on another session key: refused, exit 4
            rc, _, err = await run_cli("rollout", *common, "--session", "shop-b", "--actor", "Sam Okafor",
                                       env=env, timeout=30)
            assert rc == 4, err
            assert "release shop-2.4.0 is driven by Rosa Diaz (session shop-a, host " in err
            assert "since 20" in err and dsn.password not in err

            first.kill()  # SIGKILL: no goodbye, the lock goes with the connection
            await first.wait()
            killed_at = time.monotonic()
            before = list(watcher.read())

            takeover = await start_driver(*common, "--session", "shop-a", "--actor", "Sam Okafor", env=env)
            resumed = await follow_until(watcher, seen, lambda e: e.kind == "session_resumed", 30,
                                         "the takeover's session_resumed")
            print(f"\nSIGKILL to a new driver's first event: {time.monotonic() - killed_at:.2f}s")
            assert resumed.actor == "Sam Okafor" and resumed.data["took_over_from"] == "Rosa Diaz"
            # what `gonogo watch --store` runs the panel on: the follower's fold says who drives
            inbox = PgInbox(dsn, "shop-a")
            control = WatchControl(load_plan(plan), PgJournal(dsn, "shop-a"), inbox, actor="Grace Hopper")
            await control.tick()
            assert control.driver == "Sam Okafor" and control.state.events >= resumed.seq
            await control.aclose()
            inbox.close()

            rc, out, err = await run_cli("signoff", "-c", plan, "--store", STORE, "--session", "shop-a",
                                         "smoke-signoff", "--as", "Ada Lovelace", "--note",
                                         "checkout walked through by hand", env=env, timeout=30)
            assert rc == 0, err
            assert "a driver runs this session" in err
            assert "sign-off of smoke-signoff by Ada Lovelace: signed off" in out

            out_b, err_b = await asyncio.wait_for(takeover.communicate(), 90)
            assert takeover.returncode == 0, err_b.decode()[-1500:]
            assert "is stable" in err_b.decode()
        finally:
            for proc in (first, locals().get("takeover")):
                if isinstance(proc, asyncio.subprocess.Process) and proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    rc, out, err = await run_cli("log", "verify", "--store", STORE, "shop-a", env=env, timeout=30)
    assert rc == 0, out + err
    assert "shop-a in postgresql://gonogo@127.0.0.1:" in out and "hash chain intact" in out
    rc, text, err = await run_cli("log", "export", "--store", STORE, "shop-a", "--format", "json", env=env,
                                  timeout=30)
    assert rc == 0, err
    events = json.loads(text)["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # none lost, none twice
    assert [e["hash"] for e in events[: len(before)]] == [e.hash for e in before]  # the killed driver's all there
    signed = [e for e in events if e["kind"] == "signed_off"]
    assert len(signed) == 1 and signed[0]["actor"] == "Ada Lovelace"
    assert events[-1]["kind"] == "release_stable"
    assert {e["actor"] for e in events if e["kind"] in ("session_started", "session_resumed")} == \
        {"Rosa Diaz", "Sam Okafor"}
    assert dsn.password not in text + out + err
    watcher.close()
