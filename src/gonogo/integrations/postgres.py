"""A thin psycopg 3 (async) connector for the database checks.

psycopg is imported lazily so that ``gonogo --version`` does not pay for libpq.
Every connection has a connect timeout and a statement timeout: a hung database is
a check result, never a stuck panel.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import PostgresIntegration
    from gonogo.secrets import SecretResolver

STATEMENT_TIMEOUT_MS = 10_000


class PostgresUnavailable(Exception):
    """Could not connect or log in; the message is safe to show (no password)."""


async def target(cfg: PostgresIntegration | None, resolver: SecretResolver) -> dict[str, Any]:
    """Where we connect, without the password: shown in summaries and evidence."""
    if cfg is None:
        raise PostgresUnavailable("no [integrations.postgres] in the config")
    return {
        "host": await resolver.value(cfg.host),
        "port": cfg.port,
        "dbname": cfg.dbname,
        "user": await resolver.value(cfg.user),
    }


async def connect(cfg: PostgresIntegration | None, resolver: SecretResolver, *, dbname: str = "") -> Any:
    """An autocommit ``psycopg.AsyncConnection``; close it (``async with``) when done."""
    import psycopg

    where = await target(cfg, resolver)
    if dbname:
        where["dbname"] = dbname
    password = await resolver.resolve(cfg.password) if cfg and cfg.password else None
    timeout = max(1, round(cfg.connect_timeout.seconds)) if cfg else 5
    kwargs: dict[str, Any] = dict(where)
    kwargs.update(
        sslmode=cfg.sslmode if cfg else "prefer",
        connect_timeout=timeout,
        application_name="gonogo",
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        autocommit=True,
    )
    if password is not None:
        kwargs["password"] = password
    try:
        # libpq's connect_timeout applies per address tried; cap the whole attempt too.
        async with asyncio.timeout(timeout + 1):
            return await psycopg.AsyncConnection.connect(**kwargs)
    except TimeoutError:
        raise PostgresUnavailable(
            f"no answer from {where['host']}:{where['port']} within {timeout}s"
        ) from None
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(explain(exc, where)) from None


def explain(exc: BaseException, where: dict[str, Any]) -> str:
    """libpq's message boiled down to what an operator needs."""
    text = str(exc)
    at = f"{where['host']}:{where['port']}"
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"authentication failed for user {where['user']!r} at {at}"
    if "connection refused" in lowered:
        return f"cannot connect to {at}: connection refused"
    if "timeout expired" in lowered:
        return f"no answer from {at} (connect timeout)"
    if re.search(r'database "[^"]+" does not exist', text):
        return f"database {where['dbname']!r} does not exist at {at}"
    if "could not translate host name" in lowered:
        return f"unknown host {where['host']!r}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    detail = lines[-1] if lines else type(exc).__name__
    detail = re.sub(r"^connection failed:\s*", "", detail)
    return f"cannot connect to {at}: {detail[:160]}"
