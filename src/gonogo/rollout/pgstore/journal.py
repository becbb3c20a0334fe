"""``PgJournal``: a session's journal in PostgreSQL, driven by one process, followed by many.

The rows hold the file journal's lines exactly (``line`` is the canonical JSON, the
other columns are copies for SQL readers), so ``verify_lines`` and the exports work
unchanged. Each append is one transaction: the row and a ``NOTIFY`` on the session's
channel, delivered at commit; it returns once PostgreSQL has made the commit durable
(``synchronous_commit = on`` for the driver's connection).

*Driver*: opening takes the release's driver role, a session-level advisory lock on
the driver's connection keyed by the release name. It dies with that connection, so
a driver killed with SIGKILL frees the role at once (the kernel closes its socket);
a driver whose host vanished frees it when the server's keepalive probes give up
(about 30 s). The ``gonogo_drivers`` row says who holds it; a second driver gets
``SessionBusy`` naming the holder, its host and since when. ``(session, seq)`` is the
primary key, so even a driver that lost its lock cannot fork the chain.

*Follower* (a watcher): opens without the lock, ``read()`` returns the events so
far, ``follow(after_seq)`` yields each new one as it is committed: woken by
LISTEN/NOTIFY, with a catch-up query at least every ``catchup`` seconds, so a missed
notification delays an event by at most that, never loses it. It checks each new
line's form, sequence and link to the one before (and its hash, when the chain is
unkeyed or the follower has the key); ``gonogo log verify`` recomputes them all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from gonogo.rollout.events import BodyError, EventBody
from gonogo.rollout.journal import (
    FIELDS,
    GENESIS,
    Event,
    JournalError,
    SessionBusy,
    Verification,
    canonical,
    chain_hash,
    make_event,
    verify_lines,
)
from gonogo.rollout.pgstore.db import (
    Dsn,
    StoreUnavailable,
    aconnect,
    advisory_key,
    channel,
    connect,
    ensure_schema,
    one_line,
)
from gonogo.rollout.pgstore.inbox import PgInbox
from gonogo.untrusted import printable

__all__ = ["PgJournal", "Holder", "CATCHUP_S", "read_lines", "session_release"]

CATCHUP_S = 1.0  # a follower queries at least this often, notification or not
HOLDER_WAIT_S = 1.0  # how long a refused driver waits for the holder's row to appear

Role = Literal["driver", "follower"]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who drives a release: the ``gonogo_drivers`` row of the advisory lock's holder."""

    release: str
    session: str
    actor: str
    host: str
    pid: int
    since: dt.datetime

    def describe(self) -> str:
        """As ``driverlock`` names a holder: who, then session, host, pid and since when."""
        since = self.since.astimezone(dt.UTC).isoformat(timespec="seconds")
        return printable(f"{self.actor} (session {self.session}, host {self.host}, pid {self.pid}, "
                         f"since {since})")


class PgJournal:
    """One session of a PostgreSQL store, as its driver or as a follower."""

    def __init__(
        self,
        dsn: Dsn,
        session: str,
        *,
        role: Role = "follower",
        release: str = "",
        actor: str = "",
        key: bytes | None = None,
        key_ref: str = "",
        catchup: float = CATCHUP_S,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        if role == "driver" and not release:
            raise ValueError("a driver names the release it drives")
        self.dsn = dsn
        self.session = session
        self.role: Role = role
        self.release = release
        self.actor = actor  # who drives through this journal ("" for a follower)
        self.key = key
        self.key_ref = key_ref
        self.catchup = catchup
        self.location = f"session {session} in {dsn.label}"
        self._warn = warn or (lambda _msg: None)
        self._channel = channel(session)
        self._events: list[Event] = []
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._retry_at = 0.0
        self._locked = False
        self._lock_key = advisory_key("release", release) if release else 0
        try:
            self._conn = connect(dsn, f"{role} {session}")
            if role == "driver":
                self._take_role(actor)
            else:
                self._find_session()
            self._tail = _Tail(self.location, key, check_hashes=key is not None or not self.key_ref)
            self._load()
        except StoreUnavailable as exc:
            self.close()
            raise JournalError(str(exc)) from None
        except psycopg.Error as exc:
            self.close()
            raise JournalError(f"{self.location}: {dsn.scrub(one_line(exc))}") from None
        except BaseException:
            self.close()
            raise

    # Opening ------------------------------------------------------------
    def _db(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise JournalError(f"{self.location} is closed")
        return self._conn

    def _take_role(self, actor: str) -> None:
        conn = self._db()
        ensure_schema(conn)
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key,)).fetchone()
        if not (got and got[0]):
            holder = self._wait_for_holder()
            who = holder.describe() if holder else "another gonogo process"
            raise SessionBusy(f"release {self.release} is driven by {who}; watch it with "
                              "`gonogo watch`, or take over once it stops")
        self._locked = True
        conn.execute(
            "INSERT INTO gonogo_drivers (release, session, actor, host, pid, backend_pid, since) "
            "VALUES (%s, %s, %s, %s, %s, pg_backend_pid(), now()) ON CONFLICT (release) DO UPDATE "
            "SET session = EXCLUDED.session, actor = EXCLUDED.actor, host = EXCLUDED.host, "
            "pid = EXCLUDED.pid, backend_pid = EXCLUDED.backend_pid, since = EXCLUDED.since",
            (self.release, self.session, actor, socket.gethostname(), os.getpid()))
        conn.execute("INSERT INTO gonogo_sessions (session, release, key_ref, created_by) "
                     "VALUES (%s, %s, %s, %s) ON CONFLICT (session) DO NOTHING",
                     (self.session, self.release, self.key_ref, actor))
        row = conn.execute("SELECT release FROM gonogo_sessions WHERE session = %s",
                           (self.session,)).fetchone()
        if row is not None and row[0] != self.release:
            raise JournalError(f"{self.location} is for release {row[0]!r}, not {self.release!r}")

    def _find_session(self) -> None:
        conn = self._db()
        try:
            row = conn.execute("SELECT release, key_ref FROM gonogo_sessions WHERE session = %s",
                               (self.session,)).fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
        if row is None:
            raise JournalError(f"no session {self.session} in the store {self.dsn.label}")
        self.release = self.release or str(row[0])
        self._lock_key = advisory_key("release", self.release)
        self.key_ref = self.key_ref or str(row[1])

    def _wait_for_holder(self) -> Holder | None:
        """The holder's row: it is written just after the lock is taken, so a driver
        refused in between waits for it a moment rather than naming nobody."""
        deadline = time.monotonic() + HOLDER_WAIT_S
        while True:
            holder = self.holder()
            if holder is not None or time.monotonic() >= deadline:
                return holder
            time.sleep(0.05)

    def holder(self) -> Holder | None:
        """Who drives this session's release now, or ``None`` when nobody does."""
        hi, lo = (self._lock_key >> 32) & 0xFFFFFFFF, self._lock_key & 0xFFFFFFFF
        row = self._db().execute(
            "SELECT d.release, d.session, d.actor, d.host, d.pid, d.since FROM gonogo_drivers d "
            "JOIN pg_locks l ON l.pid = d.backend_pid AND l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "WHERE d.release = %s", (hi, lo, self.release)).fetchone()
        if row is None:
            return None
        return Holder(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), row[5])

    def _load(self) -> None:
        rows = self._fetch_after(0)
        if self.role == "driver":  # the whole chain, with the key, before writing on it
            lines = [(line + "\n").encode("ascii") for _, line in rows]
            check = verify_lines(lines, key=self.key, key_ref=self.key_ref)
            if not check.ok:
                raise JournalError(f"{self.location}: {check.problem}; run "
                                   f"`gonogo log verify --store STORE {self.session}`")
        for _, line in rows:
            self._events.append(self._tail.take(line))

    def _fetch_after(self, seq: int) -> list[tuple[int, str]]:
        rows = self._db().execute(
            "SELECT seq, line FROM gonogo_events WHERE session = %s AND seq > %s ORDER BY seq",
            (self.session, seq)).fetchall()
        return [(int(s), str(line)) for s, line in rows]

    # JournalStore ---------------------------------------------------------
    def read(self) -> list[Event]:
        if self.role == "follower":
            self.poll()
        return list(self._events)

    def poll(self) -> list[Event]:
        """A follower's tick: the events recorded since it last looked, verified, oldest
        first. A store that went away is said once through ``warn`` and tried again at
        most every ``catchup`` seconds; a line that breaks the chain raises ``JournalError``."""
        if self.role != "follower" or self._closed:
            return []
        conn = self._conn
        if conn is None or conn.broken:
            if time.monotonic() < self._retry_at:
                return []
            self._retry_at = time.monotonic() + self.catchup
            if conn is not None:
                conn.close()
            self._conn = None
            try:
                self._conn = connect(self.dsn, f"follower {self.session}")
            except StoreUnavailable:
                return []
            self._warn(f"{self.location}: following again")
        try:
            rows = self._fetch_after(self._tail.seq)
        except psycopg.Error as exc:
            self._warn(f"{self.location}: lost the store ({self.dsn.scrub(one_line(exc))}); "
                       f"trying again every {self.catchup:g}s")
            if self._conn is not None:
                self._conn.close()
            self._retry_at = time.monotonic() + self.catchup
            return []
        fresh = [self._tail.take(line) for _, line in rows]
        self._events.extend(fresh)
        return fresh

    def lines(self) -> list[bytes]:
        """Every recorded line, as a file journal holds it (for ``verify_lines``, exports)."""
        try:
            return [(line + "\n").encode("ascii") for _, line in self._fetch_after(0)]
        except psycopg.Error as exc:
            raise JournalError(f"cannot read {self.location}: {self.dsn.scrub(one_line(exc))}") from None

    def verify(self) -> Verification:
        return verify_lines(self.lines(), key=self.key, key_ref=self.key_ref)

    def append(self, body: EventBody, actor: str, time: float) -> Event:
        if self.role != "driver":
            raise JournalError(f"{self.location} is open read-only (a follower); only its driver writes")
        last = self._events[-1] if self._events else None
        event = make_event((last.seq if last else 0) + 1, time, actor, body,
                           last.hash if last else GENESIS, self.key)
        conn = self._db()
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO gonogo_events (session, seq, time, actor, kind, prev, hash, line) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (self.session, event.seq, event.time, event.actor, event.kind, event.prev_hash,
                     event.hash, event.line()))
                conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(event.seq)))
        except psycopg.errors.UniqueViolation:
            raise JournalError(f"{self.location}: event #{event.seq} was written by another process; "
                               "this driver stops (open the session again to see what it holds)") from None
        except psycopg.Error as exc:
            raise JournalError(f"cannot write to {self.location}: {self.dsn.scrub(one_line(exc))}") from None
        self._events.append(event)
        self._tail.advance(event)
        return event

    def close(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._locked and not conn.closed:
                conn.execute("DELETE FROM gonogo_drivers WHERE release = %s AND backend_pid = pg_backend_pid()",
                             (self.release,))
                conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        except psycopg.Error:
            pass  # closing the connection below frees the lock all the same
        finally:
            self._locked = False
            conn.close()

    # Following ----------------------------------------------------------
    async def follow(self, after_seq: int = 0) -> AsyncIterator[Event]:
        """Each event after ``after_seq``, oldest first, as it is committed; never ends
        by itself (close it: ``async with contextlib.aclosing(j.follow(n)) as events``).

        Uses its own connection (LISTEN on the session's channel); when the store goes
        away it says so through ``warn`` once and reconnects every ``catchup`` seconds.
        A line that breaks the chain raises ``JournalError``."""
        sent = max(0, after_seq)
        conn: psycopg.AsyncConnection[Any] | None = None
        trouble = False
        try:
            while True:
                if conn is None:
                    try:
                        conn = await aconnect(self.dsn, f"follow {self.session}")
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    except (StoreUnavailable, psycopg.Error) as exc:
                        await _discard(conn)
                        conn = None
                        if not trouble:
                            trouble = True
                            self._warn(f"{self.location}: {self.dsn.scrub(str(exc))}; "
                                       f"retrying every {self.catchup:g}s")
                        await asyncio.sleep(self.catchup)
                        continue
                    if trouble:
                        trouble = False
                        self._warn(f"{self.location}: following again")
                try:
                    cur = await conn.execute(
                        "SELECT seq, line FROM gonogo_events WHERE session = %s AND seq > %s ORDER BY seq",
                        (self.session, self._tail.seq))
                    for _, line in await cur.fetchall():
                        self._events.append(self._tail.take(str(line)))
                    while sent < len(self._events):
                        sent += 1
                        yield self._events[sent - 1]
                    # Wakes at the first notification or after `catchup`; the generator
                    # runs to its end (no `break`), so the connection is free afterwards.
                    async for _ in conn.notifies(timeout=self.catchup, stop_after=1):
                        pass
                except psycopg.OperationalError as exc:
                    await _discard(conn)
                    conn, trouble = None, True
                    self._warn(f"{self.location}: lost the store ({self.dsn.scrub(one_line(exc))}); "
                               f"reconnecting every {self.catchup:g}s")
        finally:
            await _discard(conn)

    def inbox(self) -> PgInbox:
        """This session's intents, over the journal's own connection (the driver's side)."""
        return PgInbox(self.dsn, self.session, conn=self._db())


async def _discard(conn: psycopg.AsyncConnection[Any] | None) -> None:
    if conn is not None:
        try:
            await conn.close()
        except psycopg.Error:
            pass


class _Tail:
    """The chain's end as a follower knows it: each new line must continue it."""

    def __init__(self, where: str, key: bytes | None, *, check_hashes: bool) -> None:
        self.where = where
        self.key = key
        self.check_hashes = check_hashes
        self.seq = 0
        self.prev = GENESIS

    def advance(self, event: Event) -> None:
        self.seq, self.prev = event.seq, event.hash

    def take(self, line: str) -> Event:
        n = self.seq + 1
        try:
            obj = json.loads(line)
            event = Event.from_dict(obj)
        except BodyError as exc:
            raise JournalError(f"{self.where}, event {n}: {exc}") from None
        except (ValueError, KeyError, TypeError):
            raise JournalError(f"{self.where}, event {n}: not a valid journal record") from None
        if line != canonical(obj) or set(obj) != FIELDS:
            raise JournalError(f"{self.where}, event {n} ({event.kind}): edited (not canonical)")
        if event.seq != n:
            raise JournalError(f"{self.where}, event {n}: sequence number {event.seq}, expected {n}")
        if event.prev_hash != self.prev:
            raise JournalError(f"{self.where}, event {n} ({event.kind}): chain broken (prev hash)")
        if self.check_hashes and event.hash != chain_hash(
                obj["seq"], obj["time"], obj["actor"], obj["kind"], obj["data"], self.prev, self.key):
            raise JournalError(f"{self.where}, event {n} ({event.kind}): content edited (hash mismatch)")
        self.advance(event)
        return event


def session_release(dsn: Dsn, session: str) -> str | None:
    """The release ``session`` is for, or ``None`` when the store has no such session."""
    try:
        conn = connect(dsn, f"look up {session}")
    except StoreUnavailable as exc:
        raise JournalError(str(exc)) from None
    try:
        with conn:
            try:
                row = conn.execute("SELECT release FROM gonogo_sessions WHERE session = %s",
                                   (session,)).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
    except psycopg.Error as exc:
        raise JournalError(f"cannot read session {session} in {dsn.label}: {dsn.scrub(one_line(exc))}") from None
    return None if row is None else str(row[0])


def read_lines(dsn: Dsn, session: str) -> list[bytes]:
    """A session's lines, without taking any role (``gonogo log verify|export``)."""
    try:
        conn = connect(dsn, f"log {session}")
    except StoreUnavailable as exc:
        raise JournalError(str(exc)) from None
    try:
        with conn:
            try:
                found = conn.execute("SELECT 1 FROM gonogo_sessions WHERE session = %s", (session,)).fetchone()
            except psycopg.errors.UndefinedTable:
                found = None
            if found is None:
                raise JournalError(f"no session {session} in the store {dsn.label}")
            rows = conn.execute("SELECT line FROM gonogo_events WHERE session = %s ORDER BY seq",
                                (session,)).fetchall()
    except psycopg.Error as exc:
        raise JournalError(f"cannot read session {session} in {dsn.label}: {dsn.scrub(one_line(exc))}") from None
    return [(str(line) + "\n").encode("ascii") for (line,) in rows]
