"""The demo is GO on any machine, and sandboxes run side by side.

On a machine without PostgreSQL, ``prometheus`` and ``prometheus-alertmanager`` (here:
GONOGO_PG_BIN pointing at nothing, both binaries hidden from PATH) the sandbox says
which real servers it could not run, the five checks that need them are skipped
through their ``skip_if`` with that reason (listed, not blocking), and ``gonogo
check`` is GO. Two sandboxes moved with ``--port-base`` run at once, each GO.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.fleet import free_port_base, gonogo_check, without_servers

pytestmark = pytest.mark.timeout(240)

NEED_SERVERS = {
    "postgres-reachable": "postgresql-15",
    "postgres-backup": "postgresql-15",
    "migrations": "postgresql-15",
    "prometheus-targets": "prometheus",
    "alert-receivers": "prometheus-alertmanager",
}


def start(port_base: int, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gonogo", "sandbox", "--port-base", str(port_base), "--speed", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the fleet listens (or exits)
    if line.strip() != "sandbox ready":
        proc.kill()
        raise AssertionError(f"not ready: {line!r} {proc.communicate()[1]}")
    return proc


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


def test_two_sandboxes_without_real_servers_are_each_go(tmp_path: Path) -> None:
    env = without_servers(tmp_path / "masked")
    env["GONOGO_SANDBOX_DIR"] = str(tmp_path / "rt")
    procs: list[subprocess.Popen[str]] = []
    bases: list[int] = []
    try:
        for _ in range(2):  # the second is chosen while the first holds its ports
            bases.append(free_port_base())
            procs.append(start(bases[-1], env))
        assert bases[0] != bases[1]
        for base in bases:
            config = tmp_path / f"rt-{base}" / "sandbox.toml"
            text = config.read_text(encoding="utf-8")
            # every address and path of the config moved together
            assert f"127.0.0.1:{base + 80}" in text and "127.0.0.1:18" not in text
            assert "/tmp/gonogo-sandbox/" not in text and f"rt-{base}/secrets/" in text
            health = httpx.get(f"http://127.0.0.1:{base + 80}/health", timeout=10)
            assert health.status_code == 200
            code, report, _ = gonogo_check(config)
            assert (code, report["verdict"]) == (0, "GO"), report["blocking_reasons"]
            statuses = {c["id"]: c["status"] for g in report["gates"] for c in g["checks"]}
            assert {i for i, s in statuses.items() if s == "skipped"} == set(NEED_SERVERS)
            assert set(report["skipped"]) == set(NEED_SERVERS) and report["blocking"] == []
            for check_id, package in NEED_SERVERS.items():
                reason = report["skipped_reasons"][check_id]
                assert "the sandbox has no" in reason and f"package {package})" in reason, reason
                assert not reason.startswith("skipped:"), reason  # said once, by the status
    finally:
        errs = [stop(p) for p in procs if p.poll() is None]
    for err in errs:
        assert "Traceback" not in err
        assert ("real servers: PostgreSQL 15 not running: its checks are skipped (the "
                "postgresql-15 package adds it); Prometheus not running") in err
    for base in bases:
        assert not (tmp_path / f"rt-{base}").exists(), "the moved config and secrets stay behind"


def test_the_table_report_says_why_the_five_are_skipped(tmp_path: Path) -> None:
    env = without_servers(tmp_path / "masked")
    env["GONOGO_SANDBOX_DIR"] = str(tmp_path / "rt")
    base = free_port_base()
    proc = start(base, env)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "gonogo", "check", "--config",
             str(tmp_path / f"rt-{base}" / "sandbox.toml")],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    finally:
        stop(proc)
    assert out.returncode == 0, out.stdout[-2000:]
    text = " ".join(out.stdout.split())  # the table wraps long lines
    assert "Verdict: GO" in text
    assert "5 skipped by the config (skip_if), not blocking:" in text
    assert "skipped: skipped:" not in text
    assert ("– prometheus-targets: the sandbox has no Prometheus: binary 'prometheus' not found "
            "on PATH (Debian package prometheus)") in text


@pytest.mark.parametrize("base", ["80", "65500"])
def test_a_port_base_that_does_not_fit_is_a_usage_error(base: str) -> None:
    out = subprocess.run([sys.executable, "-m", "gonogo", "sandbox", "--port-base", base],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--port-base" in out.stderr and "Traceback" not in out.stderr
