"""What every figure script shares: the line it prints for the runner, loopback
servers in a child process, a config written to a temporary directory."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent


def report(
    figure: str,
    name: str,
    value: float | str,
    unit: str,
    budget: str,
    ok: bool | None,
    anchor: str = "",
    **extra: object,
) -> None:
    """One measured figure, as the JSON line ``bench/run.py`` tabulates."""
    line = {"figure": figure, "name": name, "value": value, "unit": unit, "budget": budget,
            "ok": ok, "anchor": anchor, **extra}
    print("BENCH " + json.dumps(line), flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def loopback(count: int, delay_s: float = 0.0) -> Iterator[list[int]]:
    """``count`` HTTP servers answering ``{"status": "ok"}`` in a child process."""
    child = subprocess.Popen(
        [sys.executable, str(HERE / "loopback.py"), str(count), str(delay_s)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        yield [int(p) for p in ports]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def env_for_child() -> dict[str, str]:
    """This environment for a gonogo command, bytecode cached as on a user's machine."""
    env = dict(os.environ)
    for name in ("COLUMNS", "LINES", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def state_env(tmp: Path) -> dict[str, str]:
    """A private gonogo state dir under ``tmp`` (``GONOGO_STATE_DIR``): the driver lock
    is per release on the host, and another demo of the sandbox may be running."""
    where = tmp / "state"
    where.mkdir(mode=0o700, exist_ok=True)
    return {"GONOGO_STATE_DIR": str(where)}
