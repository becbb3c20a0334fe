"""``gonogo rollout``: drive the rollout in a plain terminal, one line per journal event.

``gonogo rollout --config F [--session S] [--store DSN] [--yes] [--auto-signoff]
[--speed X] [--actor NAME]``. Exit codes: 0 stable, 1 blocked by NO-GO (or left
waiting for a decision), 2 bad usage or config, 3 rolled back, 4 another process
drives the release (the message names it).

It never waits silently: what it waits for (hold left, metrics, sign-offs and who must
give them) is printed when it changes and at least once a minute — on a terminal as
one updating status line, otherwise as plain ``waiting:`` lines on stderr. ``--yes``
confirms the driver's own advances and nothing else: a sign-off is given by its owner
(``gonogo signoff`` from any terminal, journaled by this driver within a second), or
by ``--auto-signoff`` in a rehearsal, recorded as automatic.

Every line printed here holds text gonogo did not write (stop reasons, driver and
runbook output, titles from the config, names typed by operators): event lines come
from ``export.line`` (sanitised there) and every other message passes ``printable``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import SessionRefused, head_line, open_session
from gonogo.rollout.events import CheckRecorded
from gonogo.rollout.export import line
from gonogo.rollout.journal import Event, JournalError
from gonogo.untrusted import printable as p

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.engine import Engine

log = logging.getLogger(__name__)
CHECK_RETRIES = 3  # exit checks re-run this many times before the driver gives up
TRAFFIC_RETRIES = 3
MIN_POLL_S = 0.2
MAX_SILENCE_S = 60.0  # the waiting line is printed at least this often
AUTO_SIGNOFF = "--auto-signoff"
INTENT_POLL_S = 0.25


class Reporter:
    """Event lines on stdout; the waiting line on stderr: rewritten in place on a
    terminal (rich), else printed when what is awaited changes and once a minute."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._key: tuple[object, ...] | None = None
        self._at = 0.0
        self._live: Any = None
        self._status: dict[str, str] = {}  # check id -> the status last printed

    def __enter__(self) -> Reporter:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(stderr=True), auto_refresh=False, transient=True,
                              redirect_stdout=True, redirect_stderr=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def event(self, event: Event) -> None:
        """One line per event, except a guard's re-run that changed nothing (the
        journal keeps every one; the terminal shows what changed)."""
        if isinstance(event.body, CheckRecorded):
            result = event.body.result
            if self._status.get(result.id) == result.status:
                return
            self._status[result.id] = result.status
        print(line(event), flush=True)

    def waiting(self, key: tuple[object, ...], text: str) -> None:
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text("waiting: " + text, no_wrap=True, overflow="ellipsis"),
                              refresh=True)
            return
        now = time.monotonic()
        if key != self._key or now - self._at >= MAX_SILENCE_S:
            self._key, self._at = key, now
            print(f"waiting: {text}", file=sys.stderr, flush=True)


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
                              warn=lambda m: err(f"warning: {m}"), store=getattr(args, "store", None))
    except SessionRefused as exc:
        err(p(exc))
        return exits.DRIVEN if exc.busy else exits.USAGE
    engine = opened.engine
    print(f"gonogo: session {p(opened.place.name)}", file=sys.stderr, flush=True)
    auto = bool(getattr(args, "auto_signoff", False))
    with Reporter(sys.stderr.isatty()) as reporter:
        engine.subscribe(lambda event, _state: reporter.event(event))
        return asyncio.run(_drive(engine, speed, bool(args.yes), auto, reporter, opened.place.log_args))


async def _ask(prompt: str) -> str:
    try:
        return (await asyncio.to_thread(input, prompt)).strip().lower()
    except EOFError:
        return ""


async def _drive(engine: Engine, speed: float, yes: bool, auto: bool, reporter: Reporter,
                 log_args: str = "") -> int:
    from gonogo.rollout.engine import EngineRefused
    try:
        engine.start(speed=speed)
        await engine.recover()
        pump = asyncio.create_task(_take_intents(engine))
        try:
            code = await _loop(engine, speed, yes, auto, reporter)
        finally:
            pump.cancel()
        automatic = [k for k, v in engine.state.signoffs.items() if v.automatic]
        if automatic:
            err(f"sign-offs given AUTOMATICALLY ({AUTO_SIGNOFF}), by no person: "
                + ", ".join(p(k) for k in automatic))
        return code
    except EngineRefused as exc:
        err(p(exc))
        return exits.NOGO
    except JournalError as exc:  # disk full, permissions: stop before doing anything unrecorded
        err(f"{p(exc)}; stopped (the session stays resumable up to its last recorded event)")
        return exits.NOGO
    finally:
        await engine.aclose()
        err(head_line(engine.state, log_args or engine.session_dir))


async def _loop(engine: Engine, speed: float, yes: bool, auto: bool, reporter: Reporter) -> int:
    from gonogo.rollout.state import Phase
    from gonogo.rollout.status import waiting_for
    # A floor on the real poll period keeps a high --speed from flooding the journal;
    # a ceiling keeps intents (a sign-off from another terminal) answered within a second.
    interval = min(1.0, max(MIN_POLL_S, engine.plan.canary.interval.seconds / speed))
    check_attempts = 0
    asked: set[str] = set()
    while True:
        s = engine.state
        if s.phase == Phase.STABLE:
            err(f"{p(s.release)} is stable")
            return exits.OK
        if s.phase == Phase.ROLLED_BACK:
            err(f"{p(s.release)} rolled back: {p(s.stop_reason)}")
            return exits.ROLLED_BACK
        if s.drift is not None and s.phase == Phase.PAUSED:  # the reality check held it
            err(f"{p(s.drift)}: the rollout is held and nothing was shifted. Set the weight back "
                "and run the same command again to resume, or roll back from the panel")
            return exits.NOGO
        if s.phase == Phase.ROLLING_BACK:
            code = await _runbook_turn(engine, yes)
            if code is not None:
                return code
            continue
        if s.phase == Phase.PAUSED and s.rollback_proposed:
            if yes or (await _ask(f"{p(s.stop_reason)}\nroll back now? [y/N] ")) in ("y", "yes"):
                await engine.rollback(s.stop_reason or "proposed rollback confirmed")
            else:  # declined: the same proposal stays quiet for rollout.propose_snooze
                await engine.resume(await _ask("why not (goes into the session log): ")
                                    or "rollback declined by the driver")
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
        if pv.signoffs and engine.state.phase == Phase.READY:
            need = pv.signoffs[0]
            if auto:
                await engine.record_signoff(need.check_id, automatic=True, rule=AUTO_SIGNOFF)
                continue
            if not yes and need.check_id not in asked and sys.stdin.isatty():
                asked.add(need.check_id)  # asked once; then it waits for the owner
                if await _sign(engine, need.check_id):
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
        wait = waiting_for(engine.state, engine.advance_preview(), engine.clock())
        reporter.waiting(wait.key, wait.text)
        remaining = engine.state.hold_remaining(engine.clock()) / speed
        await asyncio.sleep(min(interval, max(0.02, remaining)) if remaining > 0 else interval)


async def _take_intents(engine: Engine) -> None:
    """What others submit (a sign-off, a note, a request) is taken every quarter second,
    whatever the loop is busy with (a guard run, a shift): within a second of sending."""
    while True:
        await asyncio.sleep(INTENT_POLL_S)
        try:
            await engine.take_intents()
        except Exception:  # the loop reports what matters; an intent must not kill the driver
            log.exception("taking intents failed; trying again")


async def _sign(engine: Engine, what: str) -> bool:
    """The driver signs ``what`` themselves, with a note, if they are its owner."""
    from gonogo.rollout.engine import EngineRefused

    if (await _ask(f"sign off {p(what)} yourself, as {p(engine.actor)}? [y/N] ")) not in ("y", "yes"):
        err(f"waiting for the sign-off of {p(what)} (gonogo signoff {p(what)} --as NAME --note TEXT)")
        return False
    note = await _ask("note (what was checked, and how): ")
    try:
        await engine.sign_off(what, note)
    except EngineRefused as exc:
        err(f"not signed: {p(exc)}")
        return False
    return True


def _only_waiting(blockers: tuple[str, ...]) -> bool:
    """Blockers that time or people may clear (hold, metrics, sign-offs) rather than checks."""
    return all(b.startswith(("hold:", "metric ", "paused", "sign-off needed")) for b in blockers)


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
