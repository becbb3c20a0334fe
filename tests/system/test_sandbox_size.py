"""``gonogo sandbox --services N``: a fleet of N services, the grown config written to
its runtime dir, and the health check covering every one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.fleet import free_port_base, gonogo_check

pytestmark = pytest.mark.timeout(240)


def test_a_sandbox_of_40_services_is_healthy_on_all_40(tmp_path: Path) -> None:
    env = {**os.environ, "GONOGO_SANDBOX_DIR": str(tmp_path / "rt")}
    base = free_port_base(span=300 + 25)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gonogo", "sandbox", "--services", "40", "--port-base", str(base),
         "--speed", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sandbox ready", proc.communicate()[1]
        config = tmp_path / f"rt-{base}" / "sandbox.toml"
        assert 'name = "svc-040"' in config.read_text(encoding="utf-8")
        code, report, _ = gonogo_check(config, "--gate", "security")
        health = next(c for g in report["gates"] for c in g["checks"] if c["id"] == "health-all")
        assert health["status"] == "pass", health
        assert "40" in health["summary"], health["summary"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err
    assert "40 services" in err and f"config for this sandbox: {config}" in err
    assert not config.exists()  # removed with the sandbox
