"""``gonogo sandbox [--scenario NAME] [--speed X] [--config F]``: the fleet in the foreground.

Prints ``sandbox ready`` once everything listens, then waits; SIGINT/SIGTERM stop it
cleanly (exit 0). An unknown scenario or a bad speed is a usage error (exit 2); a
port already in use or an unreadable config exits 1 with the reason.

``start_sandbox`` runs the same command as a child process (``gonogo demo``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path

from gonogo.cli import exits


def run_sandbox(args: argparse.Namespace) -> int:
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed

    try:
        check_scenario(args.scenario)
        check_speed(args.speed)
    except (UnknownScenario, ValueError) as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return exits.USAGE
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from gonogo.sandbox.fleet import Fleet, FleetError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    fleet = Fleet(scenario=args.scenario, speed=args.speed, config_path=getattr(args, "config", None))
    try:
        await fleet.start()
    except FleetError as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return exits.FAILED
    try:
        layout = fleet.layout
        assert layout is not None
        for note in fleet.notes:
            print(f"note: {note}", file=sys.stderr)
        print(
            f"gateway {layout.gateway.url}  admin {layout.admin.url}  "
            f"{len(layout.services)} services  scenario {args.scenario}  speed {args.speed:g}x",
            file=sys.stderr,
        )
        print(f"secrets and env files in {fleet.runtime_dir}", file=sys.stderr)
        print("sandbox ready", flush=True)
        await stop.wait()
    finally:
        await fleet.stop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    print("sandbox stopped", file=sys.stderr)
    return exits.OK


class SandboxFailed(Exception):
    pass


class SandboxProcess:
    """The fleet in a child process (``gonogo sandbox``): its request handling and the
    panel's check runs then never compete for one interpreter lock, which in-process
    pushed /health latencies past their budgets on a busy machine."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the sandbox stops cleanly on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sandbox(scenario: str, speed: float, log_path: Path, config: Path,
                  timeout: float = 90.0) -> SandboxProcess:
    """``gonogo sandbox`` as a child that dies with us; returns once it says ready."""
    from gonogo.procs import die_with_parent

    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gonogo", "sandbox", "--scenario", scenario, "--speed", f"{speed:g}",
             "--config", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            preexec_fn=die_with_parent(),
        )
    finally:
        log.close()
    ready = threading.Event()

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == b"sandbox ready":
                ready.set()
        ready.set()  # EOF: the child exited

    threading.Thread(target=watch, name="sandbox-ready", daemon=True).start()
    handle = SandboxProcess(proc)
    if not ready.wait(timeout) or proc.poll() is not None:
        handle.stop()
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise SandboxFailed("did not start: " + (" / ".join(tail) or f"no answer in {timeout:g}s"))
    return handle
