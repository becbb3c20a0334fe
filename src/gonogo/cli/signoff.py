"""``gonogo signoff``, ``note`` and ``propose-rollback``: act on a session from any
terminal, while a driver runs or not.

``gonogo signoff --config F --session DIR CHECK --as NAME --note TEXT`` (or
``--store DSN [--session KEY]`` for a PostgreSQL session). When another
process drives the session, the sign-off goes to it as an intent (only the driver
writes the journal) and this command waits for its answer; when nobody drives it,
the sign-off is journaled here. Either way the journal records NAME as the signer,
the check's owner role, and the note. Exit codes: 0 recorded, 1 refused or no answer,
2 bad usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import SessionRefused, locate, open_session
from gonogo.rollout.journal import JournalError
from gonogo.untrusted import printable as p

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.intents import IntentInbox, IntentKind

ANSWER_WAIT_S = 10.0


def run_signoff(args: argparse.Namespace) -> int:
    if not (args.note or "").strip():
        err("--note is required: say what was checked, and how")
        return exits.USAGE
    return _act(args, "signoff", args.note, check=args.check, what=f"sign-off of {args.check}")


def run_note(args: argparse.Namespace) -> int:
    if not (args.text or "").strip():
        err("a note needs a text")
        return exits.USAGE
    return _act(args, "note", args.text, what="note")


def run_propose_rollback(args: argparse.Namespace) -> int:
    if not (args.reason or "").strip():
        err("--reason is required: why roll back")
        return exits.USAGE
    return _act(args, "rollback", args.reason, what="rollback proposal")


def _act(args: argparse.Namespace, kind: IntentKind, text: str, *, what: str,
         check: str = "") -> int:
    from gonogo.rollout.engine import default_actor
    from gonogo.rollout.journal import EVENTS_FILE

    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    store = getattr(args, "store", None)
    try:
        place = locate(plan, args.session, store=store)
        if place.dsn is None and not args.session:
            err("--session is required: give the directory the driver uses")
            return exits.USAGE
        if not place.exists():
            err(f"no session at {p(place.session)} (no {EVENTS_FILE}); give the directory the driver uses"
                if place.dsn is None else f"no session {p(place.session)} in the store {p(place.dsn.label)}")
            return exits.USAGE
    except SessionRefused as exc:
        err(p(exc))
        return exits.USAGE
    who = default_actor(plan, args.as_name)
    try:
        opened = open_session(plan, args.session, actor=who, warn=lambda m: err(f"warning: {p(m)}"),
                              store=store)
    except SessionRefused as exc:
        if not exc.busy:
            err(p(exc))
            return exits.USAGE
        inbox = (exc.place or place).inbox()
        try:
            return _through_driver(inbox, kind, who, text, check, what, float(args.wait))
        except JournalError as exc:  # the store went away between the two
            err(p(exc))
            return exits.NOGO
        finally:
            close = getattr(inbox, "close", None)  # a PgInbox's own connection
            if close is not None:
                close()
    return asyncio.run(_here(opened.engine, kind, who, text, check, what))


def _through_driver(inbox: IntentInbox, kind: IntentKind, who: str, text: str, check: str, what: str,
                    wait: float) -> int:
    intent = inbox.submit(kind, who, check_id=check, note=text)
    err(f"a driver runs this session; {p(what)} by {p(who)} sent to it, "
        f"waiting up to {wait:g}s for its answer")
    answer = inbox.wait(intent.id, wait)
    if answer is None:
        withdrawn = inbox.withdraw(intent.id)
        err(f"no answer from the driver within {wait:g}s; "
            + ("withdrawn: nothing was recorded" if withdrawn
               else "it took it but has not answered: check the session log"))
        return exits.NOGO
    if answer.applied:
        print(f"{p(what)} by {p(who)}: {p(answer.detail)} ({answer.delay_s:.2f}s after it was sent)",
              flush=True)
        return exits.OK
    err(f"refused: {p(answer.detail)}")
    return exits.NOGO


async def _here(engine: Engine, kind: IntentKind, who: str, text: str, check: str,
                what: str) -> int:
    """Nobody drives the session: journal it here, under ``who``."""
    from gonogo.rollout.engine import EngineRefused

    try:
        event = await engine.apply_intent(kind, who, check_id=check, text=text)
    except EngineRefused as exc:
        err(f"refused: {p(exc)}")
        return exits.NOGO
    finally:
        await engine.aclose()
    print(f"{p(what)} by {p(who)}: journaled as event #{event.seq} (no driver was running)",
          flush=True)
    return exits.OK
