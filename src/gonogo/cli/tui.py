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
from gonogo.cli.session import SessionRefused, head_line, locate, open_session

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan


def run_tui(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    speed = float(getattr(args, "speed", None) or 1.0)
    return open_panel(plan, session=getattr(args, "session", None), speed=speed,
                      theme=getattr(args, "theme", None), actor=getattr(args, "actor", None),
                      store=getattr(args, "store", None))


def open_panel(plan: Plan, *, session: str | None, speed: float = 1.0, theme: str | None = None,
               actor: str | None = None, session_root: Path | None = None,
               store: str | None = None) -> int:
    from gonogo.rollout.engine import EngineRefused
    from gonogo.rollout.journal import JournalError

    warnings: list[str] = []
    try:
        opened = open_session(plan, session, actor=actor, warn=warnings.append,
                              session_root=session_root, store=store)
    except SessionRefused as exc:
        err(str(exc))
        if not exc.busy:
            return exits.USAGE
        watchable = exc.place is not None and (session or exc.place.dsn is not None)
        if watchable and sys.stdin.isatty() and _yes("watch it read-only instead? [Y/n] "):
            return watch_panel(plan, session, actor=actor, theme=theme, store=store)
        where_args = exc.place.resume_args if exc.place is not None else f"--session {session or '<dir>'}"
        err(f"watch it with: gonogo watch --config {plan.source} {where_args}")
        return exits.DRIVEN
    where, engine, place = opened.where, opened.engine, opened.place
    try:
        engine.start(speed=speed)
    except (EngineRefused, JournalError) as exc:
        err(str(exc))
        opened.journal.close()
        return exits.USAGE
    from gonogo.app import GonogoApp
    from gonogo.untrusted import printable

    hint = f"session {place.name} kept; resume with: gonogo tui --config {plan.source} {place.resume_args}"
    app = GonogoApp(
        plan, engine, clock=engine.clock,
        tick_interval=max(0.2, plan.canary.interval.seconds / speed),
        theme=theme, session_dir=str(where), on_exit_hint=hint, warnings=warnings,
    )
    code = app.run()
    print(printable(hint), file=sys.stderr)
    print(head_line(engine.state, place.log_args), file=sys.stderr)
    return int(code) if code else exits.OK


def _yes(prompt: str) -> bool:
    try:
        return input(prompt).strip().lower() in ("", "y", "yes")
    except EOFError:
        return False


def run_watch(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    return watch_panel(plan, args.session, actor=getattr(args, "actor", None),
                       theme=getattr(args, "theme", None), store=getattr(args, "store", None))


def watch_panel(plan: Plan, session: str | None, *, actor: str | None, theme: str | None,
                store: str | None = None) -> int:
    """The panel on a driven session, read-only, following it live."""
    from gonogo.rollout.engine import default_actor
    from gonogo.rollout.watch import WatchControl

    key: bytes | None = None
    if plan.session.key is not None:
        from gonogo.context import make_context
        from gonogo.secrets import SecretError

        try:
            key = make_context(plan).resolver.resolve_sync(plan.session.key).encode("utf-8")
        except SecretError as exc:
            err(f"session.key: {exc}")
            return exits.USAGE
    warnings: list[str] = []
    try:
        place = locate(plan, session, store=store)
        if place.dsn is None and not session:
            err("--session is required: give the directory the driver uses")
            return exits.USAGE
        follower = place.open_follower(warn=warnings.append, key=key,
                                       key_ref=str(plan.session.key) if key is not None else "")
    except SessionRefused as exc:
        err(str(exc))
        return exits.USAGE
    control = WatchControl(plan, follower, place.inbox(), actor=default_actor(plan, actor))
    from gonogo.app import GonogoApp

    app = GonogoApp(plan, control, tick_interval=0.2, theme=theme, session_dir=str(place.work_dir),
                    warnings=warnings)
    code = app.run()
    follower.close()
    return int(code) if code else exits.OK


def demo_actor(plan: Plan, override: str | None) -> str:
    """In the demo you play the sandbox's release manager (the owner who signs its
    staging smoke test), unless ``--actor`` or ``$GONOGO_ACTOR`` says otherwise."""
    import os

    from gonogo.rollout.engine import default_actor

    if (override and override.strip()) or os.environ.get("GONOGO_ACTOR", "").strip():
        return default_actor(plan, override)
    owner = plan.owners.get("release_manager", "").strip()
    return owner if owner and owner.upper() != "TBD" else default_actor(plan)


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
    actor = demo_actor(plan, getattr(args, "actor", None))
    print(f"you are {actor} in this demo (--actor NAME to be someone else)", file=sys.stderr)
    try:
        return open_panel(plan, session=str(session / "journal"), speed=speed,
                          theme=getattr(args, "theme", None), actor=actor)
    finally:
        fleet.stop()
