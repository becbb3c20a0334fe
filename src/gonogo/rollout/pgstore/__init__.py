"""The PostgreSQL session store: one journal per session in shared tables, one driver
per release (an advisory lock), any number of followers (LISTEN/NOTIFY plus catch-up),
and the intents of the file inbox in a table. See ``docs/postgres-store.md``.

psycopg is imported with this package: import it only when a store is configured.
"""

from __future__ import annotations

from gonogo.rollout.pgstore.db import Dsn, StoreUnavailable, dsn_problem, parse_dsn
from gonogo.rollout.pgstore.inbox import PgInbox
from gonogo.rollout.pgstore.journal import CATCHUP_S, Holder, PgJournal, read_lines, session_release

__all__ = [
    "CATCHUP_S", "Dsn", "Holder", "PgInbox", "PgJournal", "StoreUnavailable", "dsn_problem", "parse_dsn",
    "read_lines", "session_release",
]
