"""``gonogo tui`` and ``gonogo demo``: build the engine for a session and open the panel.

Quitting the panel never stops a rollout: the session's journal stays on disk and
``gonogo tui --config F --session DIR`` resumes it (same stage, same hold).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 1


def _err(msg: str) -> None:
    print(f"gonogo: {msg}", file=sys.stderr, flush=True)


def run_tui(args: argparse.Namespace) -> int:
    from gonogo.cli import load_or_report

    plan = load_or_report(args.config)
    if plan is None:
        return EXIT_USAGE
    speed = float(getattr(args, "speed", None) or 1.0)
    return open_panel(plan, session=getattr(args, "session", None), speed=speed,
                      theme=getattr(args, "theme", None), actor=getattr(args, "actor", None))


def default_session(release: str, root: Path | None = None) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return (root or Path("sessions")) / f"{release}-{stamp}"


def open_panel(plan: Any, *, session: str | None, speed: float = 1.0, theme: str | None = None,
               actor: str | None = None, session_root: Path | None = None) -> int:
    from gonogo.rollout.engine import Engine, EngineRefused, default_actor
    from gonogo.rollout.journal import FileJournal, JournalError

    where = Path(session) if session else default_session(plan.release.name, session_root)
    if where.exists() and not where.is_dir():
        _err(f"--session {where} is a file; give a session directory")
        return EXIT_USAGE
    warnings: list[str] = []
    try:
        journal = FileJournal(where, warn=warnings.append)
    except JournalError as exc:
        _err(str(exc))
        return EXIT_USAGE
    started = next((e for e in journal.read() if e.kind == "session_started"), None)
    if started is not None and started.data.get("release") != plan.release.name:
        _err(f"session {where} is for release {started.data.get('release')!r}, "
             f"not {plan.release.name!r}")
        journal.close()
        return EXIT_USAGE
    engine = Engine(plan, journal, actor=default_actor(plan, actor), session_dir=str(where))
    try:
        engine.start(speed=speed)
    except EngineRefused as exc:
        _err(str(exc))
        return EXIT_USAGE
    from gonogo.app import GonogoApp

    hint = f"session {where} kept; resume with: gonogo tui --config {plan.source} --session {where}"
    app = GonogoApp(
        plan, engine, clock=engine.clock,
        tick_interval=max(0.2, plan.canary.interval.seconds / speed),
        theme=theme, session_dir=str(where), on_exit_hint=hint, warnings=warnings,
    )
    code = app.run()
    print(hint, file=sys.stderr)
    return int(code or 0)


def run_demo(args: argparse.Namespace) -> int:
    """Start the built-in sandbox in-process and open the panel on it."""
    from importlib import resources

    from gonogo.cli import load_or_report
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed

    try:
        check_scenario(args.scenario)
        speed = check_speed(args.speed)
    except (UnknownScenario, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    # Work on a copy of the built-in config: owner edits are written back to it,
    # and an installed package's files are not ours to change.
    session = Path(args.session) if args.session else Path(tempfile.mkdtemp(prefix="gonogo-demo-"))
    session.mkdir(parents=True, exist_ok=True)
    config = session / "sandbox.toml"
    custom = getattr(args, "config", None)
    if custom and not Path(custom).is_file():
        _err(f"--config {custom}: no such file")
        return EXIT_USAGE
    if not config.exists():
        if custom:
            shutil.copyfile(custom, config)
        else:
            source = resources.files("gonogo").joinpath("data/sandbox.toml")
            with resources.as_file(source) as path:
                shutil.copyfile(path, config)
    plan = load_or_report(str(config))
    if plan is None:
        return EXIT_USAGE
    print(f"starting the sandbox (scenario {args.scenario}, speed {speed:g}x)…", file=sys.stderr)
    try:
        fleet = start_sandbox(args.scenario, speed, session / "sandbox.log", config)
    except SandboxFailed as exc:
        _err(f"sandbox: {exc}")
        return EXIT_FAILED
    try:
        return open_panel(plan, session=str(session / "journal"), speed=speed,
                          theme=getattr(args, "theme", None))
    finally:
        fleet.stop()


class SandboxFailed(Exception):
    pass


class SandboxProcess:
    """The fleet in a child process (``gonogo sandbox``): its request handling and the
    panel's check runs then never compete for one interpreter lock, which in-process
    (``FleetThread``) pushed /health latencies past their budgets on a busy machine."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()  # the sandbox stops cleanly on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sandbox(scenario: str, speed: float, log_path: Path, config: Path,
                  timeout: float = 90.0) -> SandboxProcess:
    import subprocess
    import threading

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
