"""Headless rollout driver and session-log tools (``gonogo rollout``, ``gonogo log``).

``gonogo rollout --config F [--session S] [--yes] [--speed X] [--actor NAME]`` prints
one line per journal event. Exit codes: 0 stable, 1 blocked by NO-GO (or left waiting
for a decision), 2 bad usage or config, 3 rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gonogo.rollout.export import line, to_json, to_toml
from gonogo.rollout.journal import FileJournal, JournalError, read_events, session_file, verify_file

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.engine import Engine

EXIT_STABLE, EXIT_NOGO, EXIT_USAGE, EXIT_ROLLED_BACK = 0, 1, 2, 3
CHECK_RETRIES = 3  # exit checks re-run this many times before the driver gives up
TRAFFIC_RETRIES = 3
MIN_POLL_S = 0.2


def _err(msg: str) -> None:
    print(f"gonogo: {msg}", file=sys.stderr, flush=True)


def run_rollout(args: argparse.Namespace) -> int:
    from gonogo.cli import load_or_report
    from gonogo.rollout.engine import Engine, default_actor

    raw_speed = getattr(args, "speed", None)
    speed = 1.0 if raw_speed is None else float(raw_speed)
    if not speed > 0 or speed > 100_000:
        _err("--speed must be a number between 0 and 100000")
        return EXIT_USAGE
    plan = load_or_report(args.config)
    if plan is None:
        return EXIT_USAGE
    if args.session:
        session = Path(args.session)
    else:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        session = Path("sessions") / f"{plan.release.name}-{stamp}"
    if session.exists() and not session.is_dir():
        _err(f"--session {session} is a file; give a session directory")
        return EXIT_USAGE
    try:
        journal = FileJournal(session, warn=lambda m: _err(f"warning: {m}"))
    except JournalError as exc:
        _err(str(exc))
        return EXIT_USAGE
    events = journal.read()
    started = next((e for e in events if e.kind == "session_started"), None)
    if started is not None and started.data.get("release") != plan.release.name:
        _err(f"session {session} is for release {started.data.get('release')!r}, "
             f"not {plan.release.name!r}")
        journal.close()
        return EXIT_USAGE
    engine = Engine(plan, journal, actor=default_actor(plan, getattr(args, "actor", None)),
                    session_dir=str(session))
    engine.subscribe(lambda event, _state: print(line(event), flush=True))
    print(f"gonogo: session {session}", file=sys.stderr, flush=True)
    return asyncio.run(_drive(engine, speed, bool(args.yes)))


async def _ask(prompt: str) -> str:
    try:
        return (await asyncio.to_thread(input, prompt)).strip().lower()
    except EOFError:
        return ""


async def _drive(engine: Engine, speed: float, yes: bool) -> int:
    from gonogo.rollout.engine import EngineRefused
    try:
        engine.start(speed=speed)
        await engine.recover()
        return await _loop(engine, speed, yes)
    except EngineRefused as exc:
        _err(str(exc))
        return EXIT_NOGO
    except JournalError as exc:  # disk full, permissions: stop before doing anything unrecorded
        _err(f"{exc}; stopped (the session stays resumable up to its last recorded event)")
        return EXIT_NOGO
    finally:
        await engine.aclose()


async def _loop(engine: Engine, speed: float, yes: bool) -> int:
    from gonogo.rollout.state import Phase
    # A floor on the real poll period keeps a high --speed from flooding the journal.
    interval = max(MIN_POLL_S, engine.plan.canary.interval.seconds / speed)
    check_attempts = 0
    traffic_failures = 0
    while True:
        s = engine.state
        if s.phase == Phase.STABLE:
            _err(f"{s.release} is stable")
            return EXIT_STABLE
        if s.phase == Phase.ROLLED_BACK:
            _err(f"{s.release} rolled back: {s.stop_reason}")
            return EXIT_ROLLED_BACK
        if s.phase == Phase.ROLLING_BACK:
            code = await _runbook_turn(engine, yes)
            if code is not None:
                return code
            continue
        if s.phase == Phase.PAUSED and s.rollback_proposed:
            if yes or (await _ask(f"{s.stop_reason}\nroll back now? [y/N] ")) in ("y", "yes"):
                await engine.rollback(s.stop_reason or "proposed rollback confirmed")
            else:
                await engine.resume("rollback declined by the driver")
            continue
        if s.phase == Phase.SHIFTING:
            if yes or await _ask(f"set the canary weight to {s.weight_intended:g}%, then press Enter ") == "":
                await engine.confirm_traffic("auto-confirmed (--yes)" if yes else "")
            continue
        if s.phase == Phase.IDLE:
            await engine.run_checks()
            verdict = engine.verdict()
            if not verdict.go:
                _err("NO-GO: " + "; ".join(f"{b.id}: {b.reason}" for b in verdict.blocking))
                return EXIT_NOGO
            if not await _confirm(engine, yes):
                return EXIT_NOGO
            await engine.advance()
            continue
        if s.traffic_error is not None:
            traffic_failures += 1
            if traffic_failures >= TRAFFIC_RETRIES:
                _err(f"traffic driver failed {traffic_failures} times: {s.traffic_error}; "
                     "the session is left resumable")
                return EXIT_NOGO
        await engine.tick()
        if engine.state.phase not in (Phase.HOLDING, Phase.READY):
            continue  # the tick tripped a criterion (or paused): decide from the new phase
        pv = engine.advance_preview()
        if pv.can_advance:
            if not await _confirm(engine, yes):
                return EXIT_NOGO
            await engine.advance()
            check_attempts = 0
            continue
        signoffs = [b.removeprefix("sign-off needed: ") for b in pv.blockers
                    if b.startswith("sign-off needed: ")]
        if signoffs and engine.state.phase == Phase.READY:
            if not await _sign(engine, signoffs[0], yes):
                _err(f"blocked: sign-off {signoffs[0]} not given")
                return EXIT_NOGO
            continue
        if engine.state.phase == Phase.READY and not _only_waiting(pv.blockers):
            check_attempts += 1
            if check_attempts > CHECK_RETRIES:
                _err("blocked: " + "; ".join(pv.blockers))
                return EXIT_NOGO
            failing = [b.split(":")[0].removeprefix("exit check ") for b in pv.blockers
                       if b.startswith("exit check ")]
            failing += [b.id for b in engine.verdict().blocking if not b.id.startswith(("owners.", "issues."))]
            if failing:
                await engine.run_checks(list(dict.fromkeys(failing)))
        remaining = engine.state.hold_remaining(engine.clock()) / speed
        await asyncio.sleep(min(interval, max(0.02, remaining)) if remaining > 0 else interval)


async def _sign(engine: Engine, what: str, yes: bool) -> bool:
    """A stage's sign-off: typed by the driver, or recorded as auto-confirmed under --yes."""
    if yes:
        note = "auto-confirmed (--yes)"
    else:
        if (await _ask(f"sign off {what}? [y/N] ")) not in ("y", "yes"):
            return False
        note = await _ask("note: ")
    await engine.sign_off(what, note)
    return True


def _only_waiting(blockers: tuple[str, ...]) -> bool:
    """Blockers that time may clear on its own (hold, metrics) rather than checks or owners."""
    return all(b.startswith(("hold:", "metric ", "paused")) for b in blockers)


async def _confirm(engine: Engine, yes: bool) -> bool:
    pv = engine.advance_preview()
    target = pv.to_stage or "stable"
    if yes:
        return True
    answer = await _ask(f"advance {pv.from_stage or 'start'} -> {target} ({pv.weight_to:g}%)? [y/N] ")
    return answer in ("y", "yes")


async def _runbook_turn(engine: Engine, yes: bool) -> int | None:
    s = engine.state
    waiting = s.runbook_waiting
    if waiting is not None:
        if yes:
            _err(f"runbook step {waiting.id} failed: {waiting.detail}. Retry or skip it from the "
                 "panel or re-run without --yes; stopping.")
            return EXIT_ROLLED_BACK
        answer = await _ask(f"runbook step {waiting.id} failed: {waiting.detail}\n[r]etry, [s]kip or [q]uit? ")
        if answer in ("r", "retry", "s", "skip"):
            reason = await _ask("reason: ") or "operator decision"
            await engine.runbook_decision(waiting.id, "retry" if answer.startswith("r") else "skip", reason)
            return None
        return EXIT_ROLLED_BACK
    running = next((st for st in s.runbook if st.status == "running"), None)
    if running is not None:
        step = engine.steps[running.id]
        if yes or await _ask(f"{step.title}: confirm done? [Enter] ") == "":
            if step.action == "manual":
                await engine.confirm_step(running.id, "auto-confirmed (--yes)" if yes else "")
            else:
                await engine.confirm_traffic("auto-confirmed (--yes)" if yes else "")
        return None
    await engine.continue_rollback()
    return None


def run_log(args: argparse.Namespace) -> int:
    path = session_file(args.session)
    if not path.exists():
        _err(f"no session log at {path}")
        return EXIT_USAGE
    if args.log_command == "verify":
        result = verify_file(path)
        if result.ok:
            print(f"{path}: ok, {result.events} events, hash chain intact")
            return 0
        print(f"{path}: FAILED at event {result.first_bad}: {result.problem}")
        return 1
    try:
        events = read_events(args.session)
    except JournalError as exc:
        _err(f"{exc}; not exported")
        return 1
    check = verify_file(path)
    text = to_toml(events, check) if args.format == "toml" else to_json(events, check)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            _err(f"cannot write {args.out}: {exc.strerror}")
            return EXIT_USAGE
        print(f"exported {len(events)} events to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
