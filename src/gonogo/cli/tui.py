"""``gonogo tui`` and ``gonogo demo``: open a session and the panel on it.

Quitting the panel never stops a rollout: the session's journal stays on disk and
``gonogo tui --config F --session DIR`` resumes it (same stage, same hold).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import SessionRefused, head_line, open_session

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan


# The panel polls (and so redraws) at most once a second: a time-compressed demo (5 s
# at speed 60) redrew 5 times a second, faster than anyone reads and 5x the bytes
# over SSH; a stop criterion is still seen within a second of its data.
MIN_TICK_S = 1.0


def run_tui(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    speed = float(getattr(args, "speed", None) or 1.0)
    return open_panel(plan, session=getattr(args, "session", None), speed=speed,
                      theme=getattr(args, "theme", None), actor=getattr(args, "actor", None))


def open_panel(plan: Plan, *, session: str | None, speed: float = 1.0, theme: str | None = None,
               actor: str | None = None, session_root: Path | None = None) -> int:
    from gonogo.rollout.engine import EngineRefused
    from gonogo.rollout.journal import JournalError

    warnings: list[str] = []
    try:
        opened = open_session(plan, session, actor=actor, warn=warnings.append,
                              session_root=session_root)
    except SessionRefused as exc:
        err(str(exc))
        return exits.USAGE
    where, engine = opened.where, opened.engine
    try:
        engine.start(speed=speed)
    except (EngineRefused, JournalError) as exc:
        err(str(exc))
        opened.journal.close()
        return exits.USAGE
    from gonogo.app import GonogoApp
    from gonogo.untrusted import printable

    hint = f"session {where} kept; resume with: gonogo tui --config {plan.source} --session {where}"
    app = GonogoApp(
        plan, engine, clock=engine.clock,
        tick_interval=max(MIN_TICK_S, plan.canary.interval.seconds / speed),
        theme=theme, session_dir=str(where), on_exit_hint=hint, warnings=warnings,
    )
    code = app.run()
    print(printable(hint), file=sys.stderr)
    print(head_line(engine.state, where), file=sys.stderr)
    return int(code) if code else exits.OK


def run_demo(args: argparse.Namespace) -> int:
    """Start the built-in sandbox in a child process and open the panel on it."""
    from importlib import resources

    from gonogo.cli.sandbox import SandboxFailed, start_sandbox
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed

    try:
        check_scenario(args.scenario)
        speed = check_speed(args.speed)
    except (UnknownScenario, ValueError) as exc:
        err(str(exc))
        return exits.USAGE
    # Work on a copy of the built-in config: owner edits are written back to it,
    # and an installed package's files are not ours to change.
    session = Path(args.session) if args.session else Path(tempfile.mkdtemp(prefix="gonogo-demo-"))
    session.mkdir(parents=True, exist_ok=True)
    config = session / "sandbox.toml"
    custom = getattr(args, "config", None)
    if custom and not Path(custom).is_file():
        err(f"--config {custom}: no such file")
        return exits.USAGE
    if not config.exists():
        if custom:
            shutil.copyfile(custom, config)
        else:
            source = resources.files("gonogo").joinpath("data/sandbox.toml")
            with resources.as_file(source) as path:
                shutil.copyfile(path, config)
    plan = load_or_report(str(config))
    if plan is None:
        return exits.USAGE
    print(f"starting the sandbox (scenario {args.scenario}, speed {speed:g}x)…", file=sys.stderr)
    try:
        fleet = start_sandbox(args.scenario, speed, session / "sandbox.log", config)
    except SandboxFailed as exc:
        err(f"sandbox: {exc}")
        return exits.FAILED
    try:
        return open_panel(plan, session=str(session / "journal"), speed=speed,
                          theme=getattr(args, "theme", None))
    finally:
        fleet.stop()
