"""``gonogo rollout``: drive the rollout in a plain terminal, one line per journal event.

``gonogo rollout --config F [--session S] [--yes] [--speed X] [--actor NAME]``. Exit
codes: 0 stable, 1 blocked by NO-GO (or left waiting for a decision), 2 bad usage or
config, 3 rolled back.

Every line printed here holds text gonogo did not write (stop reasons, driver and
runbook output, titles from the config, names typed by operators): event lines come
from ``export.line`` (sanitised there) and every other message passes ``printable``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import SessionRefused, head_line, open_session
from gonogo.rollout.export import line
from gonogo.rollout.journal import JournalError
from gonogo.untrusted import printable as p

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.engine import Engine

CHECK_RETRIES = 3  # exit checks re-run this many times before the driver gives up
TRAFFIC_RETRIES = 3
MIN_POLL_S = 0.2


def run_rollout(args: argparse.Namespace) -> int:
    raw_speed = getattr(args, "speed", None)
    speed = 1.0 if raw_speed is None else float(raw_speed)
    if not speed > 0 or speed > 100_000:
        err("--speed must be a number between 0 and 100000")
        return exits.USAGE
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    try:
        opened = open_session(plan, args.session, actor=getattr(args, "actor", None),
                              warn=lambda m: err(f"warning: {m}"))
    except SessionRefused as exc:
        err(p(exc))
        return exits.USAGE
    engine = opened.engine
    engine.subscribe(lambda event, _state: print(line(event), flush=True))
    print(f"gonogo: session {p(opened.where)}", file=sys.stderr, flush=True)
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
        err(p(exc))
        return exits.NOGO
    except JournalError as exc:  # disk full, permissions: stop before doing anything unrecorded
        err(f"{p(exc)}; stopped (the session stays resumable up to its last recorded event)")
        return exits.NOGO
    finally:
        await engine.aclose()
        err(head_line(engine.state, engine.session_dir))


async def _loop(engine: Engine, speed: float, yes: bool) -> int:
    from gonogo.rollout.state import Phase
    # A floor on the real poll period keeps a high --speed from flooding the journal.
    interval = max(MIN_POLL_S, engine.plan.canary.interval.seconds / speed)
    check_attempts = 0
    while True:
        s = engine.state
        if s.phase == Phase.STABLE:
            err(f"{p(s.release)} is stable")
            return exits.OK
        if s.phase == Phase.ROLLED_BACK:
            err(f"{p(s.release)} rolled back: {p(s.stop_reason)}")
            return exits.ROLLED_BACK
        if s.phase == Phase.ROLLING_BACK:
            code = await _runbook_turn(engine, yes)
            if code is not None:
                return code
            continue
        if s.phase == Phase.PAUSED and s.rollback_proposed:
            if yes or (await _ask(f"{p(s.stop_reason)}\nroll back now? [y/N] ")) in ("y", "yes"):
                await engine.rollback(s.stop_reason or "proposed rollback confirmed")
            else:
                await engine.resume("rollback declined by the driver")
            continue
        if s.phase == Phase.SHIFTING:
            # A manual shift is confirmed by a person who made it, --yes or not: the
            # journal must never say the canary is at 5% because nobody was asked.
            answer = await _ask(f"set the canary weight to {s.weight_intended:g}% by hand, "
                                "then type 'done' (anything else stops here): ")
            if answer != "done":
                err(f"waiting for a manual traffic shift to {s.weight_intended:g}%; "
                    "the session stays resumable")
                return exits.NOGO
            await engine.confirm_traffic(f"set by hand, confirmed by {engine.actor}")
            continue
        if s.traffic_error is not None and s.shift_failures >= TRAFFIC_RETRIES:
            err(f"the traffic driver failed {s.shift_failures} times in a row "
                f"({p(s.traffic_error)}); stopped without re-running the checklist. Fix the "
                "driver, then run the same command again to resume")
            return exits.NOGO
        if s.phase == Phase.IDLE and s.traffic_error is not None:
            # the first shift failed: try the shift again, not the whole checklist
            # (which would run the smoke journeys against production each time)
            await asyncio.sleep(min(interval, 1.0))
            await engine.advance()
            continue
        if s.phase == Phase.IDLE:
            await engine.run_checks()
            verdict = engine.verdict()
            if not verdict.go:
                err("NO-GO: " + "; ".join(f"{p(b.id)}: {p(b.reason)}" for b in verdict.blocking))
                return exits.NOGO
            if not await _confirm(engine, yes):
                return exits.NOGO
            await engine.advance()
            continue
        await engine.tick()
        if engine.state.phase not in (Phase.HOLDING, Phase.READY):
            continue  # the tick tripped a criterion (or paused): decide from the new phase
        pv = engine.advance_preview()
        if pv.can_advance:
            if not await _confirm(engine, yes):
                return exits.NOGO
            await engine.advance()
            check_attempts = 0
            continue
        signoffs = [b.removeprefix("sign-off needed: ") for b in pv.blockers
                    if b.startswith("sign-off needed: ")]
        if signoffs and engine.state.phase == Phase.READY:
            if not await _sign(engine, signoffs[0], yes):
                err(f"blocked: sign-off {p(signoffs[0])} not given")
                return exits.NOGO
            continue
        if engine.state.phase == Phase.READY and not _only_waiting(pv.blockers):
            check_attempts += 1
            if check_attempts > CHECK_RETRIES:
                err("blocked: " + "; ".join(p(b) for b in pv.blockers))
                return exits.NOGO
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
        if (await _ask(f"sign off {p(what)}? [y/N] ")) not in ("y", "yes"):
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
    answer = await _ask(f"advance {p(pv.from_stage or 'start')} -> {p(target)} ({pv.weight_to:g}%)? [y/N] ")
    return answer in ("y", "yes")


async def _runbook_turn(engine: Engine, yes: bool) -> int | None:
    s = engine.state
    waiting = s.runbook_waiting
    if waiting is not None:
        if yes:
            err(f"runbook step {p(waiting.id)} failed: {p(waiting.detail)}. Retry or skip it from the "
                 "panel or re-run without --yes; stopping.")
            return exits.ROLLED_BACK
        answer = await _ask(f"runbook step {p(waiting.id)} failed: {p(waiting.detail)}\n"
                            "[r]etry, [s]kip or [q]uit? ")
        if answer in ("r", "retry", "s", "skip"):
            reason = await _ask("reason: ") or "operator decision"
            await engine.runbook_decision(waiting.id, "retry" if answer.startswith("r") else "skip", reason)
            return None
        return exits.ROLLED_BACK
    running = next((st for st in s.runbook if st.status == "running"), None)
    if running is not None:
        step = engine.steps[running.id]
        if step.action != "manual":  # a manual traffic driver: the shift back is made by hand
            answer = await _ask(f"{p(step.title)}: set the canary weight to 0% by hand, then type "
                                "'done' (anything else stops here): ")
            if answer != "done":
                err("waiting for the manual shift back to 0%; the session stays resumable")
                return exits.NOGO
            await engine.confirm_traffic(f"set by hand, confirmed by {engine.actor}")
        elif yes or await _ask(f"{p(step.title)}: confirm done? [Enter] ") == "":
            await engine.confirm_step(running.id, "auto-confirmed (--yes)" if yes else "")
        return None
    await engine.continue_rollback()
    return None
