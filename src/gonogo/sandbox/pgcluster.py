"""A throwaway PostgreSQL cluster for the sandbox and the tests.

Started from the machine's PostgreSQL binaries (``/usr/lib/postgresql/15/bin`` by
default, or ``GONOGO_PG_BIN``). ``initdb`` and ``pg_ctl`` refuse to run as root, so
when we are root they run as the ``postgres`` user via ``runuser``, in a temp dir
chowned to it. The server listens on ``127.0.0.1:<port>`` and on a unix socket in
the temp dir; TCP logins need a SCRAM password (so a wrong password really fails),
the socket is trusted for our own administration.

Seeded with what the database checks read: one schema per migrated service, each
with alembic's ``alembic_version(version_num)`` table, and ``ops.backups``, a
backup marker table. ``apply_scenario`` moves it between the healthy state and the
``no-backup`` / ``pending-migration`` faults.

Blocking by design (subprocesses, a sync psycopg connection): call it from a
thread (``asyncio.to_thread``) when on an event loop.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
SUPERUSER = "postgres"

# service -> schema holding its alembic_version table
SERVICE_SCHEMAS: dict[str, str] = {
    "user-profile": "user_profile",
    "transactions": "transactions",
    "compliance": "compliance",
    "documents": "documents",
}
# The heads the target commit expects (sample-configs/sandbox.toml names these).
EXPECTED_HEADS: dict[str, str] = {
    "user-profile": "7c1e4b2a9f30",
    "transactions": "b41f0d6e2c87",
    "compliance": "5e9a3c1d7b24",
    "documents": "d20c8f61a5e3",
}
# pending-migration: transactions is one revision behind.
PENDING_SERVICE = "transactions"
PREVIOUS_HEAD = "9a7d2b5c0e11"
HEALTHY_BACKUP_AGE_S = 2 * 3600.0
STALE_BACKUP_AGE_S = 31 * 3600.0
SCENARIOS = ("healthy", "no-backup", "pending-migration")


class PgClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """``with PgCluster() as pg: ...`` or ``pg.start()`` … ``pg.stop()``."""

    def __init__(
        self,
        *,
        port: int = 0,
        user: str = "gonogo",
        password: str | None = None,
        dbname: str = "gonogo",
        archive: bool = False,
        bin_dir: str | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.user = user
        self.password = password if password is not None else secrets.token_urlsafe(18)
        self.dbname = dbname
        self.archive = archive  # WAL archiving, so pg_stat_archiver has real evidence
        self.bin_dir = bin_dir or os.environ.get("GONOGO_PG_BIN", DEFAULT_BIN)
        self.root: Path | None = None
        self._running = False

    # -- discovery -------------------------------------------------------------
    @classmethod
    def available(cls, bin_dir: str | None = None) -> bool:
        return cls.missing_reason(bin_dir) is None

    @classmethod
    def missing_reason(cls, bin_dir: str | None = None) -> str | None:
        """Why a cluster cannot start here, or None."""
        where = bin_dir or os.environ.get("GONOGO_PG_BIN", DEFAULT_BIN)
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not os.access(os.path.join(where, tool), os.X_OK):
                return f"PostgreSQL binary {tool} not found in {where}"
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                return "running as root but runuser is missing"
            try:
                import pwd

                pwd.getpwnam(SUPERUSER)
            except KeyError:
                return "running as root but there is no 'postgres' user to run initdb as"
        return None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> PgCluster:
        reason = self.missing_reason(self.bin_dir)
        if reason:
            raise PgClusterError(reason)
        self.root = Path(tempfile.mkdtemp(prefix="gonogo-pg-"))
        try:
            self._init()
            self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_path, "-w", "-t", "30", "start")
            self._running = True
            self.seed()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediately: it is throwaway) and delete every file."""
        if self.root is None:
            return
        if self._running:
            try:
                self._run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop")
            except PgClusterError:
                pass
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def data_dir(self) -> str:
        assert self.root is not None, "cluster not started"
        return str(self.root / "data")

    @property
    def socket_dir(self) -> str:
        assert self.root is not None, "cluster not started"
        return str(self.root)

    @property
    def log_path(self) -> str:
        assert self.root is not None, "cluster not started"
        return str(self.root / "server.log")

    def conninfo(self) -> dict[str, Any]:
        """How a client (the checks) logs in over TCP."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }

    def _init(self) -> None:
        assert self.root is not None
        if self.archive:
            (self.root / "archive").mkdir()
        _chown_to_postgres(self.root, *self.root.iterdir())
        # initdb costs seconds on a busy machine; every cluster of this process starts
        # from one initdb'd template, copied as the postgres user (keeps owner and 0700).
        template = _template(self.bin_dir)
        _as_postgres(["cp", "-a", template, self.data_dir], "cp")
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",  # throwaway: durability buys nothing, costs start-up time
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "max_connections": "40",
        }
        if self.archive:
            settings["archive_mode"] = "on"
            settings["archive_command"] = f"'cp %p {self.root}/archive/%f'"
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as conf:
            conf.write("\n# gonogo throwaway cluster\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _run(self, tool: str, *args: str) -> None:
        log = self.log_path if tool == "pg_ctl" and self.root is not None else None
        _as_postgres([os.path.join(self.bin_dir, tool), *args], tool, log)

    # -- data ------------------------------------------------------------------
    def admin(self, dbname: str | None = None) -> Any:
        """A superuser connection over the trusted unix socket (autocommit)."""
        import psycopg

        return psycopg.connect(
            host=self.socket_dir,
            port=self.port,
            user=SUPERUSER,
            dbname=dbname or self.dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def seed(self) -> None:
        """Create the app role and database, the alembic tables and the backup marker."""
        from psycopg import sql

        with self.admin("postgres") as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(self.password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.dbname), sql.Identifier(self.user)
                )
            )
        with self.admin() as conn:
            for schema in [*SERVICE_SCHEMAS.values(), "ops"]:
                conn.execute(
                    sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                        sql.Identifier(schema), sql.Identifier(self.user)
                    )
                )
                if schema != "ops":
                    conn.execute(
                        sql.SQL(
                            "CREATE TABLE {}.alembic_version ("
                            "version_num varchar(32) NOT NULL PRIMARY KEY)"
                        ).format(sql.Identifier(schema))
                    )
            conn.execute(
                "CREATE TABLE ops.backups (id serial PRIMARY KEY, "
                "finished_at timestamptz NOT NULL, kind text NOT NULL DEFAULT 'base', "
                "ok boolean NOT NULL DEFAULT true)"
            )
            for schema in [*SERVICE_SCHEMAS.values(), "ops"]:
                conn.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(self.user)
                    )
                )
        self.apply_scenario("healthy")

    def apply_scenario(self, scenario: str) -> None:
        """Put the data in the state a scenario needs; any other name means healthy."""
        from psycopg import sql

        heads = dict(EXPECTED_HEADS)
        backup_age = HEALTHY_BACKUP_AGE_S
        if scenario == "pending-migration":
            heads[PENDING_SERVICE] = PREVIOUS_HEAD
        if scenario == "no-backup":
            backup_age = STALE_BACKUP_AGE_S
        with self.admin() as conn, conn.transaction():
            for service, schema in SERVICE_SCHEMAS.items():
                table = sql.SQL("{}.alembic_version").format(sql.Identifier(schema))
                conn.execute(sql.SQL("DELETE FROM {}").format(table))
                conn.execute(
                    sql.SQL("INSERT INTO {} (version_num) VALUES (%s)").format(table),
                    (heads[service],),
                )
            self._set_backup_age(conn, backup_age)

    def set_backup_age(self, seconds: float) -> None:
        with self.admin() as conn, conn.transaction():
            self._set_backup_age(conn, seconds)

    def set_head(self, service: str, revision: str) -> None:
        from psycopg import sql

        table = sql.SQL("{}.alembic_version").format(sql.Identifier(SERVICE_SCHEMAS[service]))
        with self.admin() as conn, conn.transaction():
            conn.execute(sql.SQL("DELETE FROM {}").format(table))
            conn.execute(sql.SQL("INSERT INTO {} (version_num) VALUES (%s)").format(table), (revision,))

    @staticmethod
    def _set_backup_age(conn: Any, seconds: float) -> None:
        conn.execute("DELETE FROM ops.backups")
        conn.execute(
            "INSERT INTO ops.backups (finished_at, kind) VALUES "
            "(now() - make_interval(secs => %s), 'base')",
            (float(seconds),),
        )

    def archive_wal(self, timeout: float = 15.0) -> None:
        """Force a WAL segment switch and wait until the archiver reports it (archive=True)."""
        if not self.archive:
            raise PgClusterError("cluster started without archive=True")
        with self.admin() as conn:
            before = conn.execute("SELECT archived_count FROM pg_stat_archiver").fetchone()[0]
            conn.execute("CREATE TABLE IF NOT EXISTS ops.wal_tick (t timestamptz)")
            conn.execute("INSERT INTO ops.wal_tick VALUES (now())")
            conn.execute("SELECT pg_switch_wal()")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                row = conn.execute("SELECT archived_count FROM pg_stat_archiver").fetchone()
                if row[0] > before:
                    return
                time.sleep(0.1)  # polling the server's own progress, not waiting out a hold
        raise PgClusterError(f"WAL not archived within {timeout:g}s")


_templates: dict[str, str] = {}  # bin dir -> an initdb'd data dir to copy
_templates_lock = threading.Lock()


def _chown_to_postgres(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(SUPERUSER)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _as_postgres(argv: list[str], tool: str, log_path: str | None = None) -> None:
    """Run a PostgreSQL tool, as the postgres user when we are root."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", SUPERUSER, "--", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        log = ""
        if log_path is not None and os.path.exists(log_path):
            log = " | " + " ".join(Path(log_path).read_text().strip().splitlines()[-3:])
        raise PgClusterError(f"{tool} failed ({proc.returncode}): {' '.join(tail)}{log}")


def _template(bin_dir: str) -> str:
    """This process's template data dir for ``bin_dir``, made by initdb on first use."""
    with _templates_lock:
        path = _templates.get(bin_dir)
        if path and os.path.isdir(path):
            return path
        root = Path(tempfile.mkdtemp(prefix="gonogo-pg-template-"))
        atexit.register(shutil.rmtree, root, True)
        pwfile = root / "superuser.pw"
        # Logins over TCP need a password; the superuser's is random and never used
        # (we administer over the trusted unix socket).
        pwfile.write_text(secrets.token_urlsafe(18) + "\n")
        _chown_to_postgres(root, pwfile)
        data = str(root / "data")
        _as_postgres(
            [os.path.join(bin_dir, "initdb"), "-D", data, "-U", SUPERUSER, "-E", "UTF8",
             "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
        _templates[bin_dir] = data
        return data
