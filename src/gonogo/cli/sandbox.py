"""``gonogo sandbox [--scenario NAME] [--speed X] [--config F] [--port-base N]
[--services N]``: the fleet in the foreground.

Prints ``sandbox ready`` once everything listens, then waits; SIGINT/SIGTERM stop it
cleanly (exit 0). An unknown scenario, a bad speed or port base is a usage error (exit
2); a port already in use or an unreadable config exits 1 with the reason.

``--port-base N`` moves the whole sandbox: every port of its config by N - 18000 and
its runtime dir to /tmp/gonogo-sandbox-N (``$GONOGO_SANDBOX_DIR-N`` when that is set). The moved config is written into that dir
(``sandbox.toml``, named on stderr) for ``gonogo check --config``, and goes with it.

``--services N`` grows the sandbox to N services (the config's own, then generated
``svc-016``... on ports from 18300, each with a /health and /metrics): the grown config
is written into the runtime dir the same way, and the health grid and the checks that
name no services cover all N.

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
    from gonogo.sandbox.layout import check_port_base, check_services
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed

    services = getattr(args, "services", None)
    try:
        check_scenario(args.scenario)
        check_speed(args.speed)
        if services is not None:
            check_services(services)
        if getattr(args, "port_base", None) is not None:
            check_port_base(args.port_base, services)
    except (UnknownScenario, ValueError) as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return exits.USAGE
    return asyncio.run(_serve(args))


def moved_config(config: str | None, port_base: int | None,
                 services: int | None = None) -> tuple[str | None, str | None]:
    """(config, runtime dir) for a sandbox on ``port_base`` with ``services`` services:
    the config (default: the built-in one) grown and moved there and written into its
    runtime dir, or the config as given and the default runtime dir when the sandbox
    stays where it is, as it is. ``LayoutError``/``OSError``/``RuntimeDirError`` say
    why it cannot be moved."""
    from gonogo.sandbox import runtime
    from gonogo.sandbox.layout import (
        DEFAULT_PORT_BASE,
        builtin_config,
        relocate,
        runtime_dir_for,
        with_services,
    )

    if (port_base is None or port_base == DEFAULT_PORT_BASE) and services is None:
        return config, None
    src = Path(config) if config else builtin_config()
    where = runtime_dir_for(port_base)
    text = with_services(src.read_text(encoding="utf-8"), services, source=str(src))
    text = relocate(text, port_base=port_base, runtime_dir=where, source=str(src))
    return str(runtime.write_file(where, "sandbox.toml", text)), where


async def _serve(args: argparse.Namespace) -> int:
    from gonogo.sandbox import runtime
    from gonogo.sandbox.fleet import Fleet, FleetError
    from gonogo.sandbox.layout import LayoutError

    port_base = getattr(args, "port_base", None)
    services = getattr(args, "services", None)
    try:
        config, runtime_dir = moved_config(getattr(args, "config", None), port_base, services)
    except (LayoutError, OSError, runtime.RuntimeDirError) as exc:
        what = " and ".join(f"--{k} {v}" for k, v in (("port-base", port_base), ("services", services))
                            if v is not None)
        print(f"gonogo sandbox: cannot prepare the sandbox's config for {what}: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return exits.FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    fleet = Fleet(scenario=args.scenario, speed=args.speed, config_path=config,
                  runtime_dir=runtime_dir)
    try:
        await fleet.start()
    except FleetError as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        if runtime_dir is not None:  # the moved config written above goes too
            runtime.remove(runtime_dir)
        return exits.FAILED
    try:
        layout = fleet.layout
        assert layout is not None
        for note in fleet.notes:
            print(f"note: {note}", file=sys.stderr)
        if fleet.servers_line:
            print(f"real servers: {fleet.servers_line}", file=sys.stderr)
        print(
            f"gateway {layout.gateway.url}  admin {layout.admin.url}  "
            f"{len(layout.services)} services  scenario {args.scenario}  speed {args.speed:g}x",
            file=sys.stderr,
        )
        print(f"secrets and env files in {fleet.runtime_dir}", file=sys.stderr)
        if runtime_dir is not None:
            print(f"config for this sandbox: {config}  (gonogo check --config {config})",
                  file=sys.stderr)
        sys.stderr.flush()
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

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path | None = None) -> None:
        self.proc = proc
        self.log_path = log_path

    def servers_line(self) -> str:
        """What the child said about real servers (``real servers: …``), or ``""``."""
        if self.log_path is None:
            return ""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        found = [line for line in lines if line.startswith("real servers: ")]
        return found[-1].removeprefix("real servers: ") if found else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the sandbox stops cleanly on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sandbox(scenario: str, speed: float, log_path: Path, config: Path,
                  timeout: float = 90.0, runtime_dir: Path | None = None) -> SandboxProcess:
    """``gonogo sandbox`` as a child that dies with us; returns once it says ready.
    ``runtime_dir``: where it keeps its secrets (what ``config``'s file: references
    name)."""
    import os

    from gonogo.procs import die_with_parent

    env = dict(os.environ)
    if runtime_dir is not None:
        env["GONOGO_SANDBOX_DIR"] = str(runtime_dir)
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gonogo", "sandbox", "--scenario", scenario, "--speed", f"{speed:g}",
             "--config", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            preexec_fn=die_with_parent(), env=env,
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
    handle = SandboxProcess(proc, log_path)
    if not ready.wait(timeout) or proc.poll() is not None:
        handle.stop()
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise SandboxFailed("did not start: " + (" / ".join(tail) or f"no answer in {timeout:g}s"))
    return handle
