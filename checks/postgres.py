"""PostgreSQL check kinds: ``postgres_reachable``, ``postgres_backup``, ``migrations``.

psycopg 3 async connections from ``gonogo.integrations.postgres`` (connect timeout,
statement timeout). Ages are computed by the server (``now() - t``), so a skewed
clock on the operator's laptop cannot make a stale backup look fresh. SQL from the
config runs in a read-only transaction.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.model import Outcome
from gonogo.procs import run_argv
from gonogo.values import Duration, format_duration


class ReachableParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_latency: Duration = Duration(1.0)  # connect + SELECT 1
    min_version: int = 0  # e.g. 15: server major version at least this


class BackupParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_age: Duration = Duration(24 * 3600.0)
    archiver: bool = True  # use pg_stat_archiver (WAL archiving) when it has evidence
    marker_query: str = ""  # SQL returning one timestamp: the newest verified backup


class MigrationTarget(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str  # the service, e.g. "user-profile"
    head: str = ""  # the expected head revision at the target commit
    head_command: tuple[str, ...] = ()  # or an argv printing it (e.g. alembic heads)
    schema: str = ""  # where alembic_version lives; default from the name
    query: str = ""  # or SQL returning the applied revision(s)
    command: tuple[str, ...] = ()  # or an argv whose exit code 0 means "up to date"
    cwd: str = ""  # for the commands, relative to the config file


class MigrationsParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    services: tuple[MigrationTarget, ...]
    dbname: str = ""  # default: [integrations.postgres].dbname


async def _connect(ctx: CheckContext, dbname: str = "") -> tuple[Any, Outcome | None]:
    from gonogo.integrations.postgres import PostgresUnavailable, connect

    try:
        return await connect(ctx.plan.integrations.postgres, ctx.resolver, dbname=dbname), None
    except PostgresUnavailable as exc:
        return None, Outcome.failed(str(exc))


class PostgresReachable:
    """Connect with a timeout, ``SELECT 1``, report server version and latency."""

    kind = "postgres_reachable"
    imports = ('psycopg',)  # loaded off the event loop before the run
    Params = ReachableParams

    async def run(self, params: ReachableParams, ctx: CheckContext) -> Outcome:
        from gonogo.integrations.postgres import target

        if ctx.plan.integrations.postgres is None:
            return Outcome.errored("no [integrations.postgres] in the config")
        where = await target(ctx.plan.integrations.postgres, ctx.resolver)
        at = f"{where['host']}:{where['port']}/{where['dbname']}"
        started = time.perf_counter()
        conn, failure = await _connect(ctx)
        if failure is not None:
            return failure
        connected = time.perf_counter()
        async with conn:
            row = await (await conn.execute("SELECT 1, current_setting('server_version')")).fetchone()
            version_num = conn.info.server_version
        latency = time.perf_counter() - started
        query_ms = (time.perf_counter() - connected) * 1000
        version = str(row[1]).split()[0]
        evidence = {
            **where,
            "server_version": version,
            "latency_ms": round(latency * 1000, 1),
            "connect_ms": round((connected - started) * 1000, 1),
            "select_ms": round(query_ms, 1),
        }
        if row[0] != 1:
            return Outcome.failed(f"SELECT 1 returned {row[0]!r} at {at}", **evidence)
        if params.min_version and version_num // 10000 < params.min_version:
            return Outcome.failed(
                f"PostgreSQL {version} at {at} < required {params.min_version}", **evidence
            )
        if latency > params.max_latency.seconds:
            return Outcome.failed(
                f"{at}: connect + SELECT 1 took {latency * 1000:.0f}ms > {params.max_latency}"
                f" (connect {evidence['connect_ms']:.0f}ms, SELECT 1 {query_ms:.0f}ms)",
                **evidence,
            )
        return Outcome.passed(
            f"PostgreSQL {version} at {at}: connect + SELECT 1 in {latency * 1000:.0f}ms", **evidence
        )


class PostgresBackup:
    """The newest backup evidence is younger than ``max_age``; says which evidence."""

    kind = "postgres_backup"
    imports = ('psycopg',)  # loaded off the event loop before the run
    Params = BackupParams

    async def run(self, params: BackupParams, ctx: CheckContext) -> Outcome:
        if ctx.plan.integrations.postgres is None:
            return Outcome.errored("no [integrations.postgres] in the config")
        if not params.archiver and not params.marker_query:
            return Outcome.errored("nothing to check: archiver = false and no marker_query")
        conn, failure = await _connect(ctx)
        if failure is not None:
            return failure
        sources: dict[str, dict[str, Any]] = {}
        notes: list[str] = []
        async with conn:
            if params.archiver:
                sources["pg_stat_archiver"] = await self._archiver(conn, notes)
            if params.marker_query:
                sources["backup marker"] = await self._marker(ctx, conn, params.marker_query, notes)
        with_age = {name: s for name, s in sources.items() if s.get("age_s") is not None}
        evidence = {"sources": sources, "used": sorted(with_age)}
        failing_archiver = sources.get("pg_stat_archiver", {}).get("failing")
        if not with_age:
            return Outcome.failed(
                f"no backup evidence: {'; '.join(notes) or 'no source answered'}", *notes, **evidence
            )
        # Every source that has evidence must be fresh: a stale base backup is not
        # excused by fresh WAL archiving, nor the other way round.
        name, worst = max(with_age.items(), key=lambda item: item[1]["age_s"])
        age = float(worst["age_s"])
        if age > params.max_age.seconds:
            return Outcome.failed(
                f"backup {_human(age)} old > {_human(params.max_age.seconds)} ({name})", *notes, **evidence
            )
        if failing_archiver:
            return Outcome.failed(f"WAL archiving failing: {failing_archiver}", *notes, **evidence)
        newest = min(float(s["age_s"]) for s in with_age.values())
        return Outcome.passed(
            f"backup {_human(newest)} old <= {_human(params.max_age.seconds)} ({', '.join(sorted(with_age))})",
            *notes,
            **evidence,
        )

    async def _archiver(self, conn: Any, notes: list[str]) -> dict[str, Any]:
        cur = await conn.execute(
            "SELECT current_setting('archive_mode'), archived_count, last_archived_wal,"
            " extract(epoch FROM now() - last_archived_time)::float8,"
            " failed_count, last_failed_wal,"
            " coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false)"
            " FROM pg_stat_archiver"
        )
        mode, count, wal, age, failed, failed_wal, failing = await cur.fetchone()
        out: dict[str, Any] = {"archive_mode": mode, "archived_count": count, "last_archived_wal": wal}
        if failing:
            out["failing"] = f"last attempt for {failed_wal} failed ({failed} failure(s))"
        if mode == "off" or not count or age is None:
            notes.append(f"pg_stat_archiver: no archived WAL (archive_mode={mode})")
            return out
        out["age_s"] = round(float(age), 1)
        return out

    async def _marker(self, ctx: CheckContext, conn: Any, query: str, notes: list[str]) -> dict[str, Any]:
        import psycopg

        out: dict[str, Any] = {"query": query}
        try:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY")
                row = await (await conn.execute(query)).fetchone()
                now_tz, now_local = await (await conn.execute("SELECT now(), localtimestamp")).fetchone()
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip()
            notes.append(f"backup marker query failed: {ctx.redactor.excerpt(message, 160)}")
            out["error"] = ctx.redactor.excerpt(message, 160)
            return out
        value = row[0] if row else None
        if value is None:
            notes.append("backup marker query returned no backup")
            return out
        if not isinstance(value, datetime):
            notes.append(f"backup marker query returned {type(value).__name__}, not a timestamp")
            return out
        now = now_tz if value.tzinfo is not None else now_local
        out["at"] = value.isoformat()
        out["age_s"] = round(max(0.0, (now - value).total_seconds()), 1)
        return out


def _human(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)}d"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h"
    return format_duration(seconds)


def default_schema(service: str) -> str:
    name = service.removesuffix("-service")
    return name.replace("-", "_")


async def _run_argv(argv: tuple[str, ...], cwd: str, timeout: float) -> tuple[int | None, str]:
    """(exit code, output) of a program (no shell); (None, reason) if it could not run."""
    run = await run_argv(argv, cwd=cwd, timeout=timeout)
    if run.start_error is not None:
        return None, f"cannot run {argv[0]}: {run.start_error.strerror or run.start_error}"
    if run.timed_out:
        return None, f"{argv[0]} still running after {timeout:g}s; killed"
    return run.exit_code, run.output.strip()


class Migrations:
    """Per service, the applied migration head equals the expected head."""

    kind = "migrations"
    imports = ('psycopg',)  # loaded off the event loop before the run
    Params = MigrationsParams
    COMMAND_TIMEOUT_S = 120.0

    async def run(self, params: MigrationsParams, ctx: CheckContext) -> Outcome:
        if not params.services:
            return Outcome.skipped("no services listed")
        needs_db = any(not t.command for t in params.services)
        conn = None
        if needs_db:
            if ctx.plan.integrations.postgres is None:
                return Outcome.errored("no [integrations.postgres] in the config")
            conn, failure = await _connect(ctx, params.dbname)
            if failure is not None:
                return failure
        try:
            rows = [await self._one(t, ctx, conn) for t in params.services]
        finally:
            if conn is not None:
                await conn.close()
        problems = [r["problem"] for r in rows if "problem" in r]
        evidence = {"services": {r["name"]: r["evidence"] for r in rows}}
        if problems:
            head = problems[0] if len(problems) == 1 else f"{len(problems)}/{len(rows)} behind: {problems[0]}"
            return Outcome.failed(head, *problems, **evidence)
        return Outcome.passed(f"{len(rows)} service(s) at their migration head", **evidence)

    async def _one(self, t: MigrationTarget, ctx: CheckContext, conn: Any) -> dict[str, Any]:
        cwd = os.path.join(ctx.base_dir, t.cwd) if t.cwd else ctx.base_dir
        if t.command:
            code, out = await _run_argv(t.command, cwd, self.COMMAND_TIMEOUT_S)
            last = ctx.redactor.excerpt(out.splitlines()[-1], 120) if out else ""
            evidence = {"source": "command", "argv": list(t.command), "exit": code}
            if code != 0:
                why = out if code is None else f"{os.path.basename(t.command[0])} exited {code}" + (f": {last}" if last else "")
                return {"name": t.name, "evidence": evidence, "problem": f"{t.name}: {why}"}
            return {"name": t.name, "evidence": evidence}
        expected = t.head
        if t.head_command:
            code, out = await _run_argv(t.head_command, cwd, self.COMMAND_TIMEOUT_S)
            if code != 0 or not out.split():
                why = out if code is None else f"exited {code}"
                return {"name": t.name, "evidence": {"source": "head_command"},
                        "problem": f"{t.name}: cannot get the expected head ({why})"}  # fmt: skip
            expected = out.split()[0]  # `alembic heads` prints "<rev> (head)"
        applied, source, error = await self._applied(t, ctx, conn)
        evidence = {"source": source, "applied": applied, "expected": expected}
        row: dict[str, Any] = {"name": t.name, "evidence": evidence}
        if error:
            row["problem"] = f"{t.name}: {error}"
        elif not applied:
            row["problem"] = f"{t.name}: no migration applied ({source} is empty), expected head {expected}"
        elif not expected:
            row["problem"] = f"{t.name}: no expected head configured (head or head_command)"
        elif applied != [expected]:
            row["problem"] = f"{t.name}: applied {', '.join(applied)}, expected head {expected} ({source})"
        return row

    async def _applied(self, t: MigrationTarget, ctx: CheckContext, conn: Any) -> tuple[list[str], str, str]:
        import psycopg
        from psycopg import sql

        schema = t.schema or default_schema(t.name)
        if t.query:
            query: Any = t.query
            source = "query"
        else:
            query = sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(schema))
            source = f"{schema}.alembic_version"
        try:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY")
                rows = await (await conn.execute(query)).fetchall()
        except psycopg.errors.UndefinedTable:
            return [], source, f"no table {source} (never migrated?)"
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip()
            return [], source, f"{source} query failed: {ctx.redactor.excerpt(message, 160)}"
        return sorted(str(r[0]) for r in rows if r and r[0] is not None), source, ""


KINDS = [PostgresReachable, PostgresBackup, Migrations]
