"""PostgreSQL plumbing for the session store: the DSN, connections, the schema, the keys.

The DSN is a secret: it may carry a password. ``Dsn`` keeps the resolved text out of
its ``repr`` and offers ``label`` (``postgresql://user@host:port/dbname``) for people;
``dsn_problem`` refuses a *literal* DSN that carries a password (it belongs in an
``env:``/``file:``/``vault:`` reference, ``PGPASSWORD`` or ``~/.pgpass``: a command
line is visible to every user of the host, a config file is shared).

The tables are created on first use by a driver (``ensure_schema``), under a
transaction-level advisory lock so that two first drivers do not race on
``CREATE TABLE IF NOT EXISTS``. ``gonogo_events`` is append-only: a trigger refuses
UPDATE and DELETE (the hash chain would catch them anyway, this names them at once).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg

from gonogo.integrations.postgres import explain
from gonogo.values import dsn_problem

__all__ = [
    "Dsn", "StoreUnavailable", "dsn_problem", "parse_dsn", "connect", "aconnect", "ensure_schema",
    "advisory_key", "channel", "STATEMENT_TIMEOUT_MS", "CONNECT_TIMEOUT_S",
]

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000
LOCK_TIMEOUT_MS = 5_000
# A driver whose host vanishes (power, network) holds its advisory lock until the
# server notices the dead connection: ask the server to probe it after 15 s of
# silence, every 5 s, 3 times (the OS default is two hours).
KEEPALIVE = {"tcp_keepalives_idle": "15", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


class StoreUnavailable(Exception):
    """Cannot connect to or use the store; the message is safe to show (no password)."""


@dataclass(frozen=True, slots=True)
class Dsn:
    """A resolved DSN: ``text`` goes to libpq and nowhere else."""

    text: str = field(repr=False)
    label: str  # postgresql://user@host:port/dbname, never the password
    password: str = field(default="", repr=False)

    def where(self) -> dict[str, Any]:
        """host/port/user/dbname for ``integrations.postgres.explain``."""
        parts = _parts(self.text)
        return {"host": parts.get("host", "localhost"), "port": parts.get("port", 5432),
                "user": parts.get("user", ""), "dbname": parts.get("dbname", "")}

    def scrub(self, text: str) -> str:
        """``text`` with this DSN and its password cut out (a driver's error message)."""
        for secret in (self.text, self.password):
            if secret:
                text = text.replace(secret, "***")
        return text


def parse_dsn(text: str) -> Dsn:
    """A resolved DSN (URL or ``key=value`` conninfo), or ``StoreUnavailable``."""
    try:
        parts = _parts(text)
    except psycopg.ProgrammingError:
        raise StoreUnavailable("the store's DSN is not a valid PostgreSQL URL or conninfo") from None
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = parts.get("user", "")
    label = f"postgresql://{user + '@' if user else ''}{host}:{port}/{parts.get('dbname', '')}"
    return Dsn(text, label, str(parts.get("password", "")))


def _parts(text: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(text)


def _options(purpose: str) -> dict[str, Any]:
    return {
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": f"gonogo {purpose}"[:63],
    }


SETTINGS = {
    "statement_timeout": str(STATEMENT_TIMEOUT_MS),
    "lock_timeout": str(LOCK_TIMEOUT_MS),
    # a journal append returns only once its commit is durable, whatever the server's default
    "synchronous_commit": "on",
    **KEEPALIVE,
}


def _apply_settings(conn: psycopg.Connection[Any]) -> None:
    for name, value in SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))


def connect(dsn: Dsn, purpose: str) -> psycopg.Connection[Any]:
    """An autocommit connection with timeouts; ``StoreUnavailable`` when it cannot be had."""
    try:
        conn = psycopg.connect(dsn.text, **_options(purpose))
    except psycopg.Error as exc:
        raise StoreUnavailable(f"session store {dsn.label}: {dsn.scrub(explain(exc, dsn.where()))}") from None
    try:
        _apply_settings(conn)
    except psycopg.Error as exc:
        conn.close()
        raise StoreUnavailable(f"session store {dsn.label}: {dsn.scrub(one_line(exc))}") from None
    return conn


async def aconnect(dsn: Dsn, purpose: str) -> psycopg.AsyncConnection[Any]:
    try:
        conn = await psycopg.AsyncConnection.connect(dsn.text, **_options(purpose))
        for name, value in SETTINGS.items():
            await conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    except psycopg.Error as exc:
        raise StoreUnavailable(f"session store {dsn.label}: {dsn.scrub(explain(exc, dsn.where()))}") from None
    return conn


def one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def advisory_key(scope: str, name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` (the same on every host)."""
    digest = hashlib.sha256(f"gonogo:{scope}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def channel(session: str) -> str:
    """The LISTEN/NOTIFY channel of a session (an identifier of at most 63 bytes)."""
    return "gonogo_" + hashlib.sha256(session.encode()).hexdigest()[:32]


SCHEMA_LOCK = advisory_key("schema", "v1")
SCHEMA: list[LiteralString] = [
    """CREATE TABLE IF NOT EXISTS gonogo_sessions (
        session text PRIMARY KEY,
        release text NOT NULL,
        key_ref text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS gonogo_events (
        session text NOT NULL REFERENCES gonogo_sessions (session),
        seq integer NOT NULL CHECK (seq > 0),
        time double precision NOT NULL,
        actor text NOT NULL,
        kind text NOT NULL,
        prev text NOT NULL,
        hash text NOT NULL,
        line text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (session, seq))""",
    """CREATE TABLE IF NOT EXISTS gonogo_drivers (
        release text PRIMARY KEY,
        session text NOT NULL,
        actor text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        backend_pid integer NOT NULL,
        since timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS gonogo_intents (
        session text NOT NULL,
        id text NOT NULL,
        body text NOT NULL,
        submitted_at timestamptz NOT NULL DEFAULT now(),
        taken_at timestamptz,
        answer text,
        PRIMARY KEY (session, id))""",
    """CREATE OR REPLACE FUNCTION gonogo_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'gonogo_events is append-only (% refused)', TG_OP;
        END $$""",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'gonogo_events_append_only'
                       AND tgrelid = 'gonogo_events'::regclass) THEN
            CREATE TRIGGER gonogo_events_append_only BEFORE UPDATE OR DELETE ON gonogo_events
                FOR EACH ROW EXECUTE FUNCTION gonogo_events_append_only();
        END IF;
    END $$""",
]


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the store's tables when they are missing (a driver's first use)."""
    exists = conn.execute("SELECT to_regclass('gonogo_intents') IS NOT NULL").fetchone()
    if exists and exists[0]:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in SCHEMA:
            conn.execute(statement)
