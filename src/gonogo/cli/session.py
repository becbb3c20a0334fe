"""Opening a session: the one way ``tui``, ``demo`` and ``rollout`` get an engine.

A session is a directory holding one release's journal. Opening it creates it or
resumes it; one for another release is refused (its events would be folded against
the wrong plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.journal import FileJournal
    from gonogo.rollout.state import RolloutState


DEMO_JOURNAL = "journal"  # a demo folder keeps its session journal here (gonogo demo)


class SessionRefused(Exception):
    """The session cannot be opened; the message says why (the command exits 2).
    ``busy``: another process drives it."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


@dataclass(frozen=True, slots=True)
class Session:
    where: Path
    journal: FileJournal
    engine: Engine


def default_session(release: str, root: Path | None = None) -> Path:
    """``sessions/RELEASE-20250101T120000Z``: a new directory per run."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return (root or Path("sessions")) / f"{release}-{stamp}"


def open_session(
    plan: Plan,
    session: str | None,
    *,
    actor: str | None,
    warn: Callable[[str], None],
    session_root: Path | None = None,
) -> Session:
    """The journal and engine for ``session`` (a new default directory when ``None``).

    ``warn`` receives what the journal finds odd but survivable (a torn last line).
    """
    from gonogo.context import make_context
    from gonogo.rollout.driverlock import DriverLock
    from gonogo.rollout.engine import Engine, default_actor
    from gonogo.rollout.events import SessionStarted
    from gonogo.rollout.intents import Inbox
    from gonogo.rollout.journal import EVENTS_FILE, FileJournal, JournalError, SessionBusy
    from gonogo.secrets import SecretError

    where = Path(session) if session else default_session(plan.release.name, session_root)
    if where.exists() and not where.is_dir():
        raise SessionRefused(f"--session {where} is a file; give a session directory")
    if (where / DEMO_JOURNAL / EVENTS_FILE).exists() and not (where / EVENTS_FILE).exists():
        # a demo folder: opening it here would start a second, empty session beside the demo's
        raise SessionRefused(
            f"--session {where} is a demo folder (its journal is {where / DEMO_JOURNAL}); "
            f"resume the demo with: gonogo demo --session {where}")
    ctx = None
    key: bytes | None = None
    if plan.session.key is not None:  # the journal's chain is an HMAC under this key
        ctx = make_context(plan)
        try:
            key = ctx.resolver.resolve_sync(plan.session.key).encode("utf-8")
        except SecretError as exc:
            raise SessionRefused(f"session.key: {exc}") from None
    try:
        journal = FileJournal(where, warn=warn, key=key,
                              key_ref=str(plan.session.key) if key is not None else "")
    except SessionBusy as exc:
        raise SessionRefused(str(exc), busy=True) from None
    except JournalError as exc:
        raise SessionRefused(str(exc)) from None
    started = next((e.body for e in journal.read() if isinstance(e.body, SessionStarted)), None)
    if started is not None and started.release != plan.release.name:
        journal.close()
        raise SessionRefused(f"session {where} is for release {started.release!r}, not {plan.release.name!r}")
    engine = Engine(plan, journal, actor=default_actor(plan, actor), session_dir=str(where),
                    context_factory=(lambda: ctx) if ctx is not None else None,
                    inbox=Inbox(where))
    if plan.notify:  # the driver tells [[notify]] targets; off the rollout's path
        from gonogo.notify import attach

        attach(engine)
    try:  # one driver per release on this host, whatever directory it uses
        lock = DriverLock(plan.release.name, actor=engine.actor, session=str(where))
    except SessionBusy as exc:
        journal.close()
        raise SessionRefused(str(exc), busy=True) from None

    async def release() -> None:
        lock.release_lock()

    engine.on_close(release)
    return Session(where, journal, engine)


def head_line(state: RolloutState, where: Path) -> str:
    """What to write down when a session stops: its head, to check the journal later
    against (``gonogo log verify SESSION --head HASH``)."""
    if not state.events:
        return f"journal {where}: empty"
    return (f"journal head #{state.events} {state.last_hash} "
            f"(later: gonogo log verify {where} --head {state.last_hash[:16]})")
