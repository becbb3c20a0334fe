"""The CLI's contract for version, validation and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gonogo.config import load_plan

ROOT = Path(__file__).resolve().parents[2]


def gonogo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gonogo", *args], capture_output=True, text=True, timeout=60
    )


def test_version_prints_the_package_version() -> None:
    from gonogo import __version__

    out = gonogo("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"gonogo {__version__}"


def test_every_sample_config_validates() -> None:
    files = sorted(str(p) for p in (ROOT / "sample-configs").glob("*.toml"))
    assert files, "no sample configs"
    out = gonogo("config", "validate", *files)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_subcommand_is_usage_error() -> None:
    out = gonogo("frobnicate")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_traffic_examples_validate() -> None:
    for name in ("traffic-nginx.toml", "traffic-istio.toml"):
        proc = subprocess.run(
            [sys.executable, "-m", "gonogo", "config", "validate", str(ROOT / "sample-configs" / name)],
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    nginx = load_plan(ROOT / "sample-configs" / "traffic-nginx.toml")
    assert nginx.rollout.traffic.driver == "command"
    assert any("canary-weight={weight}" in a for a in nginx.rollout.traffic.command)
    istio = load_plan(ROOT / "sample-configs" / "traffic-istio.toml")
    assert any("{stable_weight}" in a and "{weight}" in a for a in istio.rollout.traffic.command)
