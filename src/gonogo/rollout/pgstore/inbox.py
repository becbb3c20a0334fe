"""``PgInbox``: the intents of a PostgreSQL session, with ``intents.Inbox``'s interface.

A row of ``gonogo_intents`` is what a file in ``SESSION/intents/`` is for a file
session: submitted by anyone who can reach the store, taken (``taken_at`` set, in
one statement, so two takers never both get it) and answered by the driver, whose
answer the submitter waits for. ``body`` is the intent encoded as the file inbox
encodes it, and it is decoded with the same strict type, at most ``INTENT_LIMIT``
bytes: anyone with write access to the table can put anything there.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any, LiteralString

import msgspec
import psycopg

from gonogo.rollout.intents import (
    INTENT_LIMIT,
    TEXT_LIMIT,
    Answer,
    Intent,
    IntentKind,
    Received,
    wait_for_answer,
)
from gonogo.rollout.journal import JournalError
from gonogo.rollout.pgstore.db import Dsn, StoreUnavailable, connect, one_line

__all__ = ["PgInbox"]


class PgInbox:
    """One session's intents in the store. Pass ``conn`` to share a connection (the
    driver's journal's); otherwise one is opened on first use and closed by ``close``."""

    def __init__(self, dsn: Dsn, session: str, *, conn: psycopg.Connection[Any] | None = None) -> None:
        self.dsn = dsn
        self.session = session
        self._conn = conn
        self._own = conn is None

    def _db(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            try:
                self._conn = connect(self.dsn, f"intents {self.session}")
            except StoreUnavailable as exc:
                raise JournalError(str(exc)) from None
        return self._conn

    def _run(self, query: LiteralString, params: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        try:
            return self._db().execute(query, params)
        except psycopg.Error as exc:
            raise JournalError(f"intents of session {self.session} in {self.dsn.label}: "
                               f"{self.dsn.scrub(one_line(exc))}") from None

    def close(self) -> None:
        if self._own and self._conn is not None:
            self._conn.close()
        self._conn = None

    # Submitter side ------------------------------------------------------
    def submit(self, kind: IntentKind, actor: str, *, check_id: str = "", note: str = "",
               now: float | None = None) -> Intent:
        intent = Intent(id=f"{int(time.time() * 1000):x}-{secrets.token_hex(4)}", kind=kind,
                        actor=actor[:TEXT_LIMIT], submitted_at=time.time() if now is None else now,
                        check_id=check_id[:TEXT_LIMIT], note=note[:TEXT_LIMIT])
        self._run("INSERT INTO gonogo_intents (session, id, body) VALUES (%s, %s, %s)",
                  (self.session, intent.id, msgspec.json.encode(intent).decode()))
        return intent

    def answer_for(self, intent_id: str) -> Answer | None:
        row = self._run("SELECT answer FROM gonogo_intents WHERE session = %s AND id = %s",
                        (self.session, intent_id)).fetchone()
        if row is None or row[0] is None:
            return None
        try:
            return msgspec.json.decode(str(row[0]).encode()[:INTENT_LIMIT], type=Answer)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    def wait(self, intent_id: str, timeout: float, poll: float = 0.1) -> Answer | None:
        """The driver's answer, or ``None`` when none came within ``timeout`` seconds."""
        return wait_for_answer(self.answer_for, intent_id, timeout, poll)

    def withdraw(self, intent_id: str) -> bool:
        """Remove an intent nobody took yet; ``False`` when the driver already has it."""
        cur = self._run("DELETE FROM gonogo_intents WHERE session = %s AND id = %s AND taken_at IS NULL",
                        (self.session, intent_id))
        return cur.rowcount == 1

    # Driver side ----------------------------------------------------------
    def take(self) -> Iterator[Received]:
        """Every waiting intent, oldest first, each marked taken as it is read."""
        rows = self._run(
            "UPDATE gonogo_intents SET taken_at = now() WHERE session = %s AND taken_at IS NULL "
            "RETURNING id, body, submitted_at", (self.session,)).fetchall()
        for ident, body, _ in sorted(rows, key=lambda r: (r[2], r[0])):
            ident, data = str(ident), str(body).encode()
            if len(data) > INTENT_LIMIT:
                yield Received(ident, None, f"unreadable intent: over {INTENT_LIMIT} bytes")
                continue
            try:
                intent = msgspec.json.decode(data, type=Intent)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                yield Received(ident, None, f"malformed intent: {exc}")
                continue
            if intent.id != ident:
                yield Received(ident, None, "malformed intent: its id does not match its row")
                continue
            yield Received(ident, intent)

    def answer(self, answer: Answer) -> None:
        self._run("UPDATE gonogo_intents SET answer = %s WHERE session = %s AND id = %s",
                  (msgspec.json.encode(answer).decode(), self.session, answer.id))
