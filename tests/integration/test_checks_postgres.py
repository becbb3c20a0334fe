"""The database check kinds against a real throwaway PostgreSQL 15 cluster."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from gonogo.model import Status
from gonogo.sandbox.pgcluster import EXPECTED_HEADS, PREVIOUS_HEAD, PgCluster, free_port
from support.plans import plan_from_toml, run_check
from support.servers import need_server


def config(pg: PgCluster, checks: str, *, port: int | None = None) -> str:
    return f"""
        [release]
        name = "db-test"
        commit = "0cab782"

        [integrations.postgres]
        host = "127.0.0.1"
        port = {port or pg.port}
        dbname = "{pg.dbname}"
        user = "{pg.user}"
        password = "env:PGPASS"
        sslmode = "disable"
        connect_timeout = "3s"

        [[gates]]
        id = "db"
        title = "Database"
        {checks}
    """


REACHABLE = """
        [[gates.checks]]
        id = "pg"
        title = "PostgreSQL reachable"
        kind = "postgres_reachable"
        min_version = 15
"""

MIGRATIONS = "\n".join(
    [
        '[[gates.checks]]\nid = "mig"\ntitle = "Migrations"\nkind = "migrations"\nservices = ['
        + ", ".join(f'{{ name = "{svc}", head = "{head}" }}' for svc, head in EXPECTED_HEADS.items())
        + "]"
    ]
)


def backup(max_age: str = "24h", *, archiver: bool = False, marker: str = "") -> str:
    marker_line = f"marker_query = {json.dumps(marker)}" if marker else ""
    return f"""
        [[gates.checks]]
        id = "backup"
        title = "Backups verified"
        kind = "postgres_backup"
        max_age = "{max_age}"
        archiver = {str(archiver).lower()}
        {marker_line}
    """


MARKER = "SELECT max(finished_at) FROM ops.backups WHERE ok"


def env(pg: PgCluster, password: str | None = None) -> dict[str, str]:
    return {"PGPASS": pg.password if password is None else password}


async def test_reachable_reports_version_and_latency(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, REACHABLE))
    result = await run_check(plan, "pg", env(pg_cluster))
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith("PostgreSQL 15.")
    assert "SELECT 1" in result.summary
    assert result.evidence["server_version"].startswith("15.")


async def test_unreachable_server_is_a_failure_not_a_crash(pg_cluster: PgCluster, tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    plan = plan_from_toml(tmp_path, config(pg_cluster, REACHABLE, port=closed))
    started = time.monotonic()
    result = await run_check(plan, "pg", env(pg_cluster))
    assert result.status is Status.FAIL
    assert result.summary == f"cannot connect to 127.0.0.1:{closed}: connection refused"
    assert time.monotonic() - started < 5


async def test_wrong_password_is_reported_without_the_password(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, REACHABLE))
    wrong = "not-the-password-7731"
    result = await run_check(plan, "pg", env(pg_cluster, wrong))
    assert result.status is Status.FAIL
    assert result.summary == f"authentication failed for user '{pg_cluster.user}' at 127.0.0.1:{pg_cluster.port}"
    assert wrong not in json.dumps(result.to_dict())


async def test_migrations_at_head_pass(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, MIGRATIONS))
    result = await run_check(plan, "mig", env(pg_cluster))
    assert result.status is Status.PASS, result.summary
    assert result.summary == "4 service(s) at their migration head"
    assert result.evidence["services"]["transactions"]["source"] == "transactions.alembic_version"


async def test_pending_migration_names_service_applied_and_expected(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, MIGRATIONS))
    pg_cluster.apply_scenario("pending-migration")
    try:
        result = await run_check(plan, "mig", env(pg_cluster))
    finally:
        pg_cluster.apply_scenario("healthy")
    assert result.status is Status.FAIL
    assert result.summary == (
        f"transactions: applied {PREVIOUS_HEAD}, expected head {EXPECTED_HEADS['transactions']} "
        "(transactions.alembic_version)"
    )


async def test_migrations_without_alembic_table_and_by_command(pg_cluster: PgCluster, tmp_path: Path) -> None:
    checks = """
        [[gates.checks]]
        id = "mig"
        title = "Migrations"
        kind = "migrations"
        services = [
          { name = "billing", head = "abc", schema = "billing" },
          { name = "ledger", command = ["python3", "-c", "import sys; print('2 pending'); sys.exit(3)"] },
          { name = "ok-by-command", command = ["python3", "-c", "print('up to date')"] },
        ]
    """
    result = await run_check(plan_from_toml(tmp_path, config(pg_cluster, checks)), "mig", env(pg_cluster))
    assert result.status is Status.FAIL
    assert "billing: no table billing.alembic_version (never migrated?)" in result.details
    assert "ledger: python3 exited 3: 2 pending" in result.details
    assert not any(d.startswith("ok-by-command") for d in result.details)


async def test_migrations_by_query_and_head_command(pg_cluster: PgCluster, tmp_path: Path) -> None:
    head = EXPECTED_HEADS["compliance"]
    checks = f"""
        [[gates.checks]]
        id = "mig"
        title = "Migrations"
        kind = "migrations"
        services = [
          {{ name = "compliance", head = "{head}", query = "SELECT version_num FROM compliance.alembic_version" }},
          {{ name = "documents", schema = "documents", head_command = ["python3", "-c", "print('{EXPECTED_HEADS["documents"]} (head)')"] }},
          {{ name = "user-profile", head_command = ["python3", "-c", "print('ffff00001111 (head)')"] }},
        ]
    """
    result = await run_check(plan_from_toml(tmp_path, config(pg_cluster, checks)), "mig", env(pg_cluster))
    assert result.status is Status.FAIL
    services = result.evidence["services"]
    assert services["compliance"] == {"source": "query", "applied": [head], "expected": head}
    assert services["documents"]["source"] == "documents.alembic_version"
    assert result.summary == (
        f"user-profile: applied {EXPECTED_HEADS['user-profile']}, expected head ffff00001111 "
        "(user_profile.alembic_version)"
    )


async def test_backup_marker_fresh_then_stale(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, backup(marker=MARKER)))
    fresh = await run_check(plan, "backup", env(pg_cluster))
    assert fresh.status is Status.PASS, fresh.summary
    assert fresh.summary == "backup 2h old <= 24h (backup marker)"
    pg_cluster.apply_scenario("no-backup")
    try:
        stale = await run_check(plan, "backup", env(pg_cluster))
    finally:
        pg_cluster.apply_scenario("healthy")
    assert stale.status is Status.FAIL
    assert stale.summary == "backup 31h old > 24h (backup marker)"


async def test_backup_without_evidence_fails(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, config(pg_cluster, backup(marker="SELECT NULL::timestamptz")))
    result = await run_check(plan, "backup", env(pg_cluster))
    assert result.status is Status.FAIL
    assert result.summary == "no backup evidence: backup marker query returned no backup"


async def test_marker_query_runs_read_only(pg_cluster: PgCluster, tmp_path: Path) -> None:
    plan = plan_from_toml(
        tmp_path, config(pg_cluster, backup(marker="DELETE FROM ops.backups RETURNING finished_at"))
    )
    result = await run_check(plan, "backup", env(pg_cluster))
    assert result.status is Status.FAIL
    assert "read-only transaction" in result.summary
    with pg_cluster.admin() as conn:
        assert conn.execute("SELECT count(*) FROM ops.backups").fetchone()[0] == 1


async def test_pg_stat_archiver_evidence(pg_cluster: PgCluster, tmp_path: Path) -> None:
    pg_cluster.archive_wal()
    plan = plan_from_toml(tmp_path, config(pg_cluster, backup("1h", archiver=True, marker=MARKER)))
    result = await run_check(plan, "backup", env(pg_cluster))
    # The marker is 2h old: every source with evidence must be fresh.
    assert result.status is Status.FAIL
    assert result.summary == "backup 2h old > 1h (backup marker)"
    archived: dict[str, Any] = result.evidence["sources"]["pg_stat_archiver"]
    assert archived["archived_count"] >= 1 and archived["age_s"] < 60
    only_archiver = plan_from_toml(tmp_path, config(pg_cluster, backup("1h", archiver=True)), name="b.toml")
    result = await run_check(only_archiver, "backup", env(pg_cluster))
    assert result.status is Status.PASS, result.summary
    assert result.summary.endswith("<= 1h (pg_stat_archiver)")


def test_pgcluster_reports_missing_binaries_and_cleans_up() -> None:
    assert PgCluster.missing_reason("/nonexistent/bin") == "PostgreSQL binary initdb not found in /nonexistent/bin"
    reason = PgCluster.missing_reason()
    if reason:
        need_server(reason)
    cluster = PgCluster()
    cluster.start()
    root = cluster.root
    assert root is not None and os.path.isdir(root)
    cluster.stop()
    assert not os.path.exists(root)
    cluster.stop()  # idempotent
