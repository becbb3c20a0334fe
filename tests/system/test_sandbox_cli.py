"""`gonogo sandbox`: ready line, clean stop on SIGINT/SIGTERM, usage errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gonogo.sandbox.layout import load_layout
from support.fleet import gonogo_check, relocate

pytestmark = pytest.mark.timeout(120)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gonogo", "sandbox", *args], capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip


def test_unknown_scenario_is_a_usage_error_with_a_suggestion() -> None:
    out = run("--scenario", "canary-regresion")
    assert out.returncode == 2
    assert "did you mean 'canary-regression'" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_speed_is_a_usage_error() -> None:
    out = run("--speed", "0")
    assert out.returncode == 2 and "speed" in out.stderr and "Traceback" not in out.stderr


def test_unreadable_config_exits_1_without_traceback(tmp_path: Path) -> None:
    out = run("--config", str(tmp_path / "missing.toml"))
    assert out.returncode == 1 and "missing.toml" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "sig, scenario, verdict",
    [(signal.SIGINT, "healthy", "GO"), (signal.SIGTERM, "leaky-gateway", "NO-GO")],
)
def test_runs_in_the_foreground_and_stops_cleanly(
    tmp_path: Path, sig: signal.Signals, scenario: str, verdict: str
) -> None:
    """The acceptance path: `gonogo sandbox` in one process, `gonogo check` in another
    (on a copy of sample-configs/sandbox.toml moved to free ports)."""
    files = relocate(tmp_path)
    layout = load_layout(files.config)
    env = {**os.environ, "GONOGO_SANDBOX_DIR": str(files.runtime_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gonogo", "sandbox", "--config", str(files.config), "--speed", "60",
         "--scenario", scenario],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the fleet listens (or exits)
        assert line.strip() == "sandbox ready", proc.stderr.read() if proc.stderr else ""
        state = httpx.get(layout.admin.url + "/admin/state", timeout=5).json()
        assert (state["scenario"], state["speed"]) == (scenario, 60.0)
        assert (files.runtime_dir / "secrets" / "service_token").exists()
        code, report, _ = gonogo_check(files.config)
        assert (code, report["verdict"]) == ((0, "GO") if verdict == "GO" else (1, "NO-GO")), report["blocking"]
        if verdict == "NO-GO":
            assert "internal-routes-blocked" in report["blocking"]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(layout.gateway.url + "/health", timeout=5)
    assert not files.runtime_dir.exists()
