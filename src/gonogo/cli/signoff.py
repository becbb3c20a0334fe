"""``gonogo signoff``: sign off a check from any terminal, while a driver runs or not.

``gonogo signoff --config F --session DIR CHECK --as NAME --note TEXT``. When another
process drives the session, the sign-off goes to it as an intent (only the driver
writes the journal) and this command waits for its answer; when nobody drives it,
the sign-off is journaled here. Either way the journal records NAME as the signer,
the check's owner role, and the note. Exit codes: 0 recorded, 1 refused or no answer,
2 bad usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.cli.session import SessionRefused, open_session
from gonogo.untrusted import printable as p

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.intents import Inbox

ANSWER_WAIT_S = 10.0


def run_signoff(args: argparse.Namespace) -> int:
    from gonogo.rollout.engine import default_actor
    from gonogo.rollout.intents import Inbox
    from gonogo.rollout.journal import EVENTS_FILE

    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    if not (args.note or "").strip():
        err("--note is required: say what was checked, and how")
        return exits.USAGE
    session = args.session
    if not (Path(session) / EVENTS_FILE).is_file():
        err(f"no session at {p(session)} (no {EVENTS_FILE}); give the directory the driver uses")
        return exits.USAGE
    signer = default_actor(plan, args.as_name)
    try:
        opened = open_session(plan, session, actor=signer, warn=lambda m: err(f"warning: {p(m)}"))
    except SessionRefused as exc:
        if not exc.busy:
            err(p(exc))
            return exits.USAGE
        return _through_driver(Inbox(session), args.check, signer, args.note, float(args.wait))
    return asyncio.run(_here(opened.engine, args.check, signer, args.note))


def _through_driver(inbox: Inbox, check: str, signer: str, note: str, wait: float) -> int:
    intent = inbox.submit("signoff", signer, check_id=check, note=note)
    err(f"gonogo: a driver runs this session; sign-off of {p(check)} by {p(signer)} sent to it, "
        f"waiting up to {wait:g}s for its answer")
    answer = inbox.wait(intent.id, wait)
    if answer is None:
        withdrawn = inbox.withdraw(intent.id)
        err(f"no answer from the driver within {wait:g}s; "
            + ("the sign-off was withdrawn: nothing was recorded" if withdrawn
               else "it took the sign-off but has not answered: check the session log"))
        return exits.NOGO
    if answer.applied:
        print(f"signed off {p(check)} as {p(signer)}: {p(answer.detail)}", flush=True)
        return exits.OK
    err(f"refused: {p(answer.detail)}")
    return exits.NOGO


async def _here(engine: Engine, check: str, signer: str, note: str) -> int:
    from gonogo.rollout.engine import EngineRefused

    try:
        event = await engine.record_signoff(check, note, signer=signer)
    except EngineRefused as exc:
        err(f"refused: {p(exc)}")
        return exits.NOGO
    finally:
        await engine.aclose()
    print(f"signed off {p(check)} as {p(signer)}: journaled as event #{event.seq} "
          "(no driver was running)", flush=True)
    return exits.OK
