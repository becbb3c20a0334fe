"""``gonogo tui`` and ``gonogo demo``: open a session and the panel on it.

Quitting the panel never stops a rollout: the session's journal stays on disk and
``gonogo tui --config F --session DIR`` resumes it (same stage, same hold). A demo
lives in one folder (its config copy, the sandbox's log and secrets, the journal in
``journal/``); ``gonogo demo --session FOLDER`` resumes it with a sandbox behind it.
A demo folder gonogo made itself is removed when the demo ends, unless a rollout is
still under way in it (then it is kept, and the hint says where and how to resume).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import DEMO_JOURNAL, SessionRefused, head_line, locate, open_session

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.cli.session import Place
    from gonogo.config import Plan
    from gonogo.rollout.state import RolloutState

DEMO_CONFIG = "sandbox.toml"
DEMO_RUNTIME = "sandbox"  # the demo's sandbox secrets, inside its folder


# The panel polls (and so redraws) at most once a second: a time-compressed demo (5 s
# at speed 60) redrew 5 times a second, faster than anyone reads and 5x the bytes
# over SSH; a stop criterion is still seen within a second of its data.
MIN_TICK_S = 1.0
WATCH_TICK_S = 0.1  # gonogo watch: how often the panel takes what its follower has


def run_tui(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    speed = float(getattr(args, "speed", None) or 1.0)
    return open_panel(plan, session=getattr(args, "session", None), speed=speed,
                      theme=getattr(args, "theme", None), actor=getattr(args, "actor", None),
                      store=getattr(args, "store", None))


@dataclass(frozen=True, slots=True)
class PanelRun:
    code: int
    where: Path | None  # the session directory (None: it never opened)
    state: RolloutState | None
    place: Place | None = None  # where the session lives (a directory, or a store's key)


def open_panel(plan: Plan, *, session: str | None, speed: float = 1.0, theme: str | None = None,
               actor: str | None = None, session_root: Path | None = None,
               store: str | None = None) -> int:
    """``gonogo tui``: the panel on a session; on exit, how to resume it (once)."""
    from gonogo.untrusted import printable

    def hint(place: Place) -> str:
        return f"gonogo tui --config {plan.source} {place.resume_args}"

    run = run_panel(plan, session=session, speed=speed, theme=theme, actor=actor,
                    session_root=session_root, resume=hint, store=store)
    if run.place is not None and run.state is not None:
        print(printable(f"session {run.place.name} kept; resume with: {hint(run.place)}"),
              file=sys.stderr)
        print(head_line(run.state, run.place.log_args), file=sys.stderr)
    return run.code


def run_panel(plan: Plan, *, session: str | None, speed: float = 1.0, theme: str | None = None,
              actor: str | None = None, session_root: Path | None = None,
              resume: Callable[[Place], str] | None = None,
              notices: Iterable[str] = (), store: str | None = None) -> PanelRun:
    """Open the session and run the panel on it until it exits. ``resume(where)`` is
    the command that resumes the session (the quit dialog shows it). Prints nothing on
    a normal exit: the caller says what happens to the session, once."""
    from gonogo.rollout.engine import EngineRefused
    from gonogo.rollout.journal import JournalError

    warnings: list[str] = []
    try:
        opened = open_session(plan, session, actor=actor, warn=warnings.append,
                              session_root=session_root, store=store)
    except SessionRefused as exc:
        err(str(exc))
        if not exc.busy:
            return PanelRun(exits.USAGE, None, None)
        watchable = exc.place is not None
        if watchable and sys.stdin.isatty() and _yes("watch it read-only instead? [Y/n] "):
            watched = exc.place.session if exc.place is not None and exc.place.dsn is None else session
            return PanelRun(watch_panel(plan, watched, actor=actor, theme=theme, store=store),
                            None, None)
        where_args = exc.place.resume_args if exc.place is not None else f"--session {session or '<dir>'}"
        err(f"watch it with: gonogo watch --config {plan.source} {where_args}")
        return PanelRun(exits.DRIVEN, None, None)
    where, engine, place = opened.where, opened.engine, opened.place
    try:
        engine.start(speed=speed)
    except (EngineRefused, JournalError) as exc:
        err(str(exc))
        opened.journal.close()
        return PanelRun(exits.USAGE, None, None)
    from gonogo.app import GonogoApp

    app = GonogoApp(
        plan, engine, clock=engine.clock,
        tick_interval=max(MIN_TICK_S, plan.canary.interval.seconds / speed),
        theme=theme, session_dir=str(where),
        on_exit_hint=resume(place) if resume is not None else "",
        warnings=warnings, notices=notices,
    )
    code = app.run()
    return PanelRun(int(code) if code else exits.OK, where, engine.state, place)


# -- gonogo demo ------------------------------------------------------------------------
class DemoRefused(Exception):
    """The demo cannot start as asked; the message says why (exit 2)."""


def demo_folder(session: str | None) -> tuple[Path, bool]:
    """(the demo's folder, whether gonogo made it). ``--session`` names the folder; its
    ``journal/`` subfolder is taken for the folder it belongs to (never a nested
    ``journal/journal``), and any other session journal is refused."""
    from gonogo.rollout.journal import EVENTS_FILE

    if not session:
        return Path(tempfile.mkdtemp(prefix="gonogo-demo-")), True
    path = Path(session)
    if (path / EVENTS_FILE).exists():  # a journal, not a demo folder
        parent = path.parent
        if path.name == DEMO_JOURNAL and (parent / DEMO_CONFIG).is_file():
            err(f"note: --session {path} is the journal of the demo in {parent}; resuming that demo")
            return parent, False
        raise DemoRefused(
            f"--session {path} is a session journal, not a demo folder; resume it with "
            f"gonogo tui --config CONFIG --session {path}")
    if path.exists() and not path.is_dir():
        raise DemoRefused(f"--session {path} is a file; give a demo folder")
    return path, False


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def demo_config(folder: Path, custom: str | None, port_base: int | None,
                services: int | None = None) -> tuple[Path, Path | None]:
    """(the demo's config copy, the sandbox runtime dir it names). A new demo copies the
    built-in sandbox.toml (or ``custom``), grown to ``services`` services, moved to
    ``port_base`` and with its secrets inside the folder; a resumed one keeps its copy
    (ports, services and all)."""
    from importlib import resources

    from gonogo.sandbox.layout import relocate, with_services

    config = folder / DEMO_CONFIG
    runtime = folder / DEMO_RUNTIME
    if config.exists():
        for flag, value in (("--port-base", port_base), ("--services", services)):
            if value is not None:
                err(f"note: {flag} ignored: the demo in {folder} keeps its {DEMO_CONFIG}")
    else:
        if custom:
            text = Path(custom).read_text(encoding="utf-8")
        else:
            source = resources.files("gonogo").joinpath("data", DEMO_CONFIG)
            text = source.read_text(encoding="utf-8")
        text = with_services(text, services, source=custom or DEMO_CONFIG)
        _write_private(config, relocate(text, port_base=port_base, runtime_dir=str(runtime),
                                        source=custom or DEMO_CONFIG))
    # an older demo's copy may still name the shared default runtime dir
    named = str(runtime) in config.read_text(encoding="utf-8")
    return config, runtime if named else None


def servers_notice(line: str) -> str:
    """The sandbox's ``real servers:`` line as the panel's one notice, a server a line."""
    return "Real servers in this sandbox:\n" + "\n".join(f"• {part}" for part in line.split("; "))


def resumable(state: RolloutState | None) -> bool:
    """Whether a demo session is worth keeping: a rollout is under way in it."""
    from gonogo.rollout.phases import is_active

    return state is not None and is_active(state.phase)


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

    # a watcher reads what its follower has on each tick: 0.1 s keeps an event's way to
    # its screen under 200 ms (bench figure 8) for ~0.5 % more of a core than 0.2 s
    app = GonogoApp(plan, control, tick_interval=WATCH_TICK_S, theme=theme, session_dir=str(place.work_dir),
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
    from gonogo.cli.sandbox import SandboxFailed, start_sandbox
    from gonogo.sandbox.layout import LayoutError, check_port_base, check_services
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed
    from gonogo.untrusted import printable

    port_base = getattr(args, "port_base", None)
    services = getattr(args, "services", None)
    custom = getattr(args, "config", None)
    try:
        check_scenario(args.scenario)
        speed = check_speed(args.speed)
        if services is not None:
            check_services(services)
        if port_base is not None:
            check_port_base(port_base, services)
    except (UnknownScenario, ValueError) as exc:
        err(str(exc))
        return exits.USAGE
    if custom and not Path(custom).is_file():
        err(f"--config {custom}: no such file")
        return exits.USAGE
    try:
        folder, made = demo_folder(args.session)
    except DemoRefused as exc:
        err(str(exc))
        return exits.USAGE
    finished = False  # True once the folder is known to be kept
    why_removed = "the demo did not start"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Work on a copy of the config: owner edits are written back to it, and an
        # installed package's files are not ours to change.
        try:
            config, runtime = demo_config(folder, custom, port_base, services)
        except (OSError, LayoutError) as exc:
            err(f"cannot prepare the demo in {folder}: {getattr(exc, 'strerror', None) or exc}")
            return exits.FAILED
        plan = load_or_report(str(config))
        if plan is None:
            return exits.USAGE
        print(f"starting the sandbox (scenario {args.scenario}, speed {speed:g}x)…", file=sys.stderr)
        try:
            fleet = start_sandbox(args.scenario, speed, folder / "sandbox.log", config,
                                  runtime_dir=runtime)
        except SandboxFailed as exc:
            err(f"sandbox: {exc}")
            return exits.FAILED
        flags = "" if args.scenario == "healthy" else f" --scenario {args.scenario}"
        flags += f" --speed {speed:g}" if speed != 60.0 else ""
        command = f"gonogo demo --session {folder}{flags}"
        servers = fleet.servers_line()
        actor = demo_actor(plan, getattr(args, "actor", None))
        print(f"you are {actor} in this demo (--actor NAME to be someone else)", file=sys.stderr)
        try:
            run = run_panel(plan, session=str(folder / DEMO_JOURNAL), speed=speed,
                            theme=getattr(args, "theme", None), resume=lambda _where: command,
                            actor=actor,
                            notices=[servers_notice(servers)] if servers else ())
        finally:
            fleet.stop()
        if made and not resumable(run.state):
            why_removed = "no rollout under way to resume; gonogo demo --session DIR keeps one"
            return run.code  # the finally below removes the folder
        finished = True
        if run.where is not None and run.state is not None:
            print(printable(f"demo kept in {folder}; resume with: {command}"), file=sys.stderr)
            print(head_line(run.state, run.where), file=sys.stderr)
        return run.code
    finally:
        if made and not finished:
            shutil.rmtree(folder, ignore_errors=True)
            print(printable(f"demo folder {folder} removed ({why_removed})"), file=sys.stderr)
