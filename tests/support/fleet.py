"""Helpers to run the sandbox fleet in tests (the shared ``module_fleet`` fixture is
in tests/system/conftest.py).

Tests never use the fixed sandbox ports (another helper or a demo may hold them):
``relocate`` writes a copy of the built-in sandbox.toml where every loopback port is
a free one and every /tmp/gonogo-sandbox path is a private temp dir, and the fleet
and ``gonogo check`` both run against that copy.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomlkit

from gonogo.config import load_plan
from gonogo.sandbox.fleet import FleetThread
from gonogo.sandbox.layout import DEFAULT_RUNTIME_DIR, builtin_config

_ADDR = re.compile(r"127\.0\.0\.1:(\d+)")
_PORT_KEY = re.compile(r"^(port\s*=\s*)(\d+)", re.M)


@dataclass(frozen=True)
class SandboxFiles:
    config: Path
    runtime_dir: Path


def relocate(tmp: Path) -> SandboxFiles:
    """A copy of sandbox.toml on free ports, with its secrets under ``tmp``."""
    text = builtin_config().read_text(encoding="utf-8")
    ports: dict[str, int] = {}
    held: list[socket.socket] = []  # held open until all are chosen: no port twice

    def remap(port: str) -> int:
        if port not in ports:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
            ports[port] = int(sock.getsockname()[1])
        return ports[port]

    try:
        text = _ADDR.sub(lambda m: f"127.0.0.1:{remap(m.group(1))}", text)
        text = _PORT_KEY.sub(lambda m: f"{m.group(1)}{remap(m.group(2))}", text)
    finally:
        for sock in held:
            sock.close()
    runtime = tmp / "runtime"
    text = text.replace(DEFAULT_RUNTIME_DIR, str(runtime))
    config = tmp / "sandbox.toml"
    config.write_text(text, encoding="utf-8")
    return SandboxFiles(config, runtime)


def start_fleet(tmp: Path, scenario: str = "healthy", **kwargs: Any) -> tuple[FleetThread, SandboxFiles]:
    files = relocate(tmp)
    fleet = FleetThread(scenario=scenario, config_path=files.config, runtime_dir=files.runtime_dir, **kwargs)
    fleet.start()
    return fleet, files


def admin(fleet: FleetThread, method: str, path: str, body: Any = None, timeout: float = 10) -> httpx.Response:
    return httpx.request(method, fleet.url("admin") + path, json=body, timeout=timeout)


def gonogo_check(config: Path, *extra: str, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    """``gonogo check --format json`` in a subprocess: exit code, parsed report, stderr."""
    out = subprocess.run(
        [sys.executable, "-m", "gonogo", "check", "--config", str(config), "--format", "json", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in out.stderr, out.stderr
    try:
        report = json.loads(out.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {out.returncode}): {out.stdout[:500]} {out.stderr[:500]}") from None
    return out.returncode, report, out.stderr


def trimmed(files: SandboxFiles, out: Path, *, holds: dict[str, str],
            keep: tuple[str, ...] = (), rollout: dict[str, Any] | None = None) -> Path:
    """sandbox.toml keeping only the checks its stages and runbook use (and ``keep``),
    holds shortened, ``rollout`` keys (``on_stop``...) overridden."""
    doc = tomlkit.parse(files.config.read_text(encoding="utf-8"))
    data = doc.unwrap()
    data["rollout"].update(rollout or {})
    used: set[str] = set(keep)
    for stage in data["rollout"]["stages"]:
        used.update(stage.get("entry_checks", []), stage.get("exit_checks", []))
        if stage.get("signoff"):
            used.add(stage["signoff"])
    for step in data["runbook"]["steps"]:
        used.update(step.get("checks", []))
    gates = []
    for gate in data["gates"]:
        if gate["id"] in used:
            gates.append(gate)
            continue
        checks = [c for c in gate.get("checks", []) if c["id"] in used]
        if checks:
            gates.append({**gate, "checks": checks})
    data["gates"] = gates
    data["issues"] = []
    for stage in data["rollout"]["stages"]:
        stage["hold"] = holds.get(stage["id"], stage["hold"])
    out.write_text(tomlkit.dumps(data), encoding="utf-8")
    load_plan(out)  # still a valid plan
    return out


# -- a machine without the real servers ----------------------------------------------
SERVER_BINARIES = ("prometheus", "prometheus-alertmanager")


def without_servers(tmp: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which the sandbox finds none of its real servers, as on a
    fresh machine: GONOGO_PG_BIN points at nothing, and PATH is the current one with
    every directory holding ``prometheus`` or ``prometheus-alertmanager`` replaced by a
    copy (of links) without them."""
    import os

    base = dict(os.environ if env is None else env)
    dirs: list[str] = []
    for i, entry in enumerate(base.get("PATH", "").split(os.pathsep)):
        here = Path(entry)
        if not any((here / b).exists() for b in SERVER_BINARIES):
            dirs.append(entry)
            continue
        masked = tmp / f"path-{i}"
        masked.mkdir(parents=True, exist_ok=True)
        for item in here.iterdir():
            if item.name not in SERVER_BINARIES and not (masked / item.name).exists():
                (masked / item.name).symlink_to(item)
        dirs.append(str(masked))
    base["PATH"] = os.pathsep.join(dirs)
    base["GONOGO_PG_BIN"] = str(tmp / "no-postgresql-here")
    return base


def free_port_base(span: int = 300) -> int:
    """A port base N (for ``--port-base``) with all of N..N+span-1 free right now."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 60000 - span, 100)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + span):
                sock = socket.socket()
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base
    raise RuntimeError("no free block of ports for a sandbox")
