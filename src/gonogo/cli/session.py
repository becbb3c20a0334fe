"""Opening a session: the one way ``tui``, ``demo``, ``rollout`` and ``signoff`` get an engine.

A session lives in a *store*. By default that is a directory holding one release's
journal. With ``--store DSN`` (or ``[session] store`` in the config) it is a
PostgreSQL database (``docs/postgres-store.md``): ``--session`` then names the
session's key in the store (default: the release's name), and what a session writes
besides its journal (runbook output, incident files) goes to the local directory
``sessions/KEY``. ``locate`` is the one place that makes this choice; ``open_session``
opens the place as its driver.

Opening creates or resumes the session; one for another release is refused (its
events would be folded against the wrong plan).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.follow import Follower
    from gonogo.rollout.intents import IntentInbox
    from gonogo.rollout.journal import JournalStore
    from gonogo.rollout.pgstore import Dsn
    from gonogo.rollout.state import RolloutState
    from gonogo.secrets import SecretResolver
    from gonogo.values import SecretRef

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")



DEMO_JOURNAL = "journal"  # a demo folder keeps its session journal here (gonogo demo)

class SessionRefused(Exception):
    """The session cannot be opened; the message says why (the command exits 2).
    ``busy``: another process drives it (the command exits 4); ``place``: where it is,
    when that is known (a busy session's inbox still takes intents)."""

    def __init__(self, message: str, *, busy: bool = False, place: Place | None = None) -> None:
        super().__init__(message)
        self.busy = busy
        self.place = place


@dataclass(frozen=True, slots=True)
class Place:
    """Where one session lives, before it is opened.

    ``session`` is the directory (file store) or the session's key (PostgreSQL);
    ``work_dir`` is the local directory for what the session writes besides its
    journal; ``dsn`` is ``None`` for the file store; ``store`` is the store as the
    operator wrote it (a reference, or a URL without a password): safe to print."""

    session: str
    work_dir: Path
    dsn: Dsn | None = field(default=None, repr=False)
    store: str = ""

    @property
    def name(self) -> str:
        """The session as a person reads it."""
        if self.dsn is None:
            return self.session
        return f"{self.session} in {self.dsn.label}"

    @property
    def log_args(self) -> str:
        """What names this session to ``gonogo log verify|export``."""
        return f"--store {self.store} {self.session}" if self.dsn is not None else self.session

    @property
    def resume_args(self) -> str:
        """What names this session to ``gonogo tui|rollout``."""
        store = f"--store {self.store} " if self.dsn is not None else ""
        return f"{store}--session {self.session}"

    def exists(self) -> bool:
        """Whether the session has been started (its journal exists)."""
        from gonogo.rollout.journal import EVENTS_FILE, JournalError

        if self.dsn is None:
            return (Path(self.session) / EVENTS_FILE).is_file()
        from gonogo.rollout.pgstore import session_release

        try:
            return session_release(self.dsn, self.session) is not None
        except JournalError as exc:
            raise SessionRefused(str(exc), place=self) from None

    def open_driver(self, *, release: str, actor: str, warn: Callable[[str], None],
                    key: bytes | None = None, key_ref: str = "") -> JournalStore:
        """The session's journal, as the driver of ``release``: ``SessionRefused(busy=True)``
        (naming the holder) when another process drives it; ``SessionRefused`` says why
        else it cannot be opened."""
        from gonogo.rollout.journal import FileJournal, JournalError, SessionBusy

        try:
            if self.dsn is not None:
                from gonogo.rollout.pgstore import PgJournal

                return PgJournal(self.dsn, self.session, role="driver", release=release, actor=actor,
                                 key=key, key_ref=key_ref, warn=warn)
            return FileJournal(self.session, warn=warn, key=key, key_ref=key_ref)
        except SessionBusy as exc:
            raise SessionRefused(str(exc), busy=True, place=self) from None
        except JournalError as exc:
            raise SessionRefused(str(exc), place=self) from None

    def open_follower(self, *, warn: Callable[[str], None], key: bytes | None = None,
                      key_ref: str = "") -> Follower:
        """The session's journal read-only, for a watcher: no lock, ``read()``, ``poll()``
        and ``follow(after_seq)``. ``key`` (the chain's, when keyed) lets it check each new
        event's hash too; without it a keyed PostgreSQL chain is checked for order and links."""
        from gonogo.rollout.journal import JournalError

        try:
            if self.dsn is None:
                from gonogo.rollout.follow import FileFollower

                return FileFollower(self.session, key=key, key_ref=key_ref)
            from gonogo.rollout.pgstore import PgJournal

            return PgJournal(self.dsn, self.session, role="follower", key=key, key_ref=key_ref, warn=warn)
        except JournalError as exc:
            raise SessionRefused(str(exc), place=self) from None

    def inbox(self, journal: JournalStore | None = None) -> IntentInbox:
        """The session's intents: over ``journal``'s connection when it is the driver's
        PostgreSQL journal, else on their own (close a ``PgInbox`` when done)."""
        if self.dsn is None:
            from gonogo.rollout.intents import Inbox

            return Inbox(self.session)
        from gonogo.rollout.pgstore import PgInbox, PgJournal

        if isinstance(journal, PgJournal):
            return journal.inbox()
        return PgInbox(self.dsn, self.session)


@dataclass(frozen=True, slots=True)
class Session:
    where: Path  # the local directory: the session directory, or a PostgreSQL session's work dir
    journal: JournalStore
    engine: Engine
    place: Place


def default_session(release: str, root: Path | None = None) -> Path:
    """``sessions/RELEASE-20250101T120000Z``: a new directory per run."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return (root or Path("sessions")) / f"{release}-{stamp}"


def default_key(release: str) -> str:
    """A PostgreSQL session's default key: the release's name, in the characters a key
    (and its local work directory) may hold."""
    key = re.sub(r"[^A-Za-z0-9_.\-]", "_", release).lstrip("._-")[:128]
    return key or "session"


def locate(
    plan: Plan | None,
    session: str | None,
    *,
    store: str | None = None,
    session_root: Path | None = None,
    resolver: SecretResolver | None = None,
) -> Place:
    """Where ``session`` lives: the store chosen by ``store`` (``--store``), else the
    plan's ``[session] store``, else session directories.

    ``store`` is a ``postgresql://`` URL without a password, or a reference to a DSN
    (``env:``/``file:``/``vault:``, resolved by ``resolver``; vault needs the plan's).
    ``SessionRefused`` names what is wrong, never the DSN or its password."""
    from gonogo.values import Value, dsn_problem

    spec: Value | None
    if store is not None and store.strip():
        try:
            spec = Value.parse(store.strip())
        except ValueError as exc:
            raise SessionRefused(f"--store: {exc}") from None
        if spec.literal is not None and (why := dsn_problem(spec.literal)):
            raise SessionRefused(f"--store: {why}")
        origin = "--store"
    else:
        spec = plan.session.store if plan is not None else None
        origin = "session.store"
    if spec is None:
        if plan is None and session is None:
            raise SessionRefused("name the session directory")
        where = Path(session) if session else default_session(plan.release.name if plan else "session",
                                                              session_root)
        if where.exists() and not where.is_dir():
            raise SessionRefused(f"--session {where} is a file; give a session directory")
        if (where / DEMO_JOURNAL / "events.jsonl").exists() and not (where / "events.jsonl").exists():
            # a demo folder: opening it here would start a second, empty session beside the demo's
            raise SessionRefused(
                f"--session {where} is a demo folder (its journal is {where / DEMO_JOURNAL}); "
                f"resume the demo with: gonogo demo --session {where}")
        return Place(str(where), where)
    key = session if session is not None else default_key(plan.release.name if plan else "")
    if not _KEY.match(key):
        raise SessionRefused(f"--session {key!r}: a session in a PostgreSQL store is named by a key of "
                             "letters, digits, '.', '_' and '-' (at most 128), not a path")
    from gonogo.rollout.pgstore import StoreUnavailable, parse_dsn

    if spec.literal is not None:
        text = spec.literal
    else:
        assert spec.ref is not None
        text = _resolve(plan, spec.ref, resolver, origin)
    try:
        dsn = parse_dsn(text)
    except StoreUnavailable as exc:
        raise SessionRefused(f"{origin}: {exc}") from None
    if resolver is not None:  # the whole DSN and its password are secrets from here on
        resolver.redactor.add(text, declared=True)
        if dsn.password:
            resolver.redactor.add(dsn.password, declared=True)
    return Place(key, (session_root or Path("sessions")) / key, dsn, str(spec))


def _resolve(plan: Plan | None, ref: SecretRef, resolver: SecretResolver | None, origin: str) -> str:
    import os

    from gonogo.secrets import Redactor, SecretError, SecretResolver

    if resolver is None:
        if ref.scheme == "vault" and plan is not None:
            from gonogo.context import make_context

            resolver = make_context(plan).resolver
        else:
            base = os.path.dirname(os.path.abspath(plan.source)) if plan and plan.source else "."
            resolver = SecretResolver(Redactor(), base_dir=base)
    try:
        return resolver.resolve_sync(ref)
    except SecretError as exc:
        raise SessionRefused(f"{origin}: {exc}") from None


def open_session(
    plan: Plan,
    session: str | None,
    *,
    actor: str | None,
    warn: Callable[[str], None],
    session_root: Path | None = None,
    store: str | None = None,
) -> Session:
    """The journal and engine for ``session`` (a new default directory when ``None``;
    the release's name in a PostgreSQL store), opened as its driver.

    ``warn`` receives what the journal finds odd but survivable (a torn last line).
    """
    from gonogo.context import make_context
    from gonogo.rollout.driverlock import DriverLock
    from gonogo.rollout.engine import Engine, default_actor
    from gonogo.rollout.events import SessionStarted
    from gonogo.rollout.journal import SessionBusy
    from gonogo.secrets import SecretError

    ctx = None
    if plan.session.key is not None or plan.session.store is not None or store:
        ctx = make_context(plan)
    place = locate(plan, session, store=store, session_root=session_root,
                   resolver=ctx.resolver if ctx is not None else None)
    key: bytes | None = None
    if plan.session.key is not None:  # the journal's chain is an HMAC under this key
        assert ctx is not None
        try:
            key = ctx.resolver.resolve_sync(plan.session.key).encode("utf-8")
        except SecretError as exc:
            raise SessionRefused(f"session.key: {exc}") from None
    who = default_actor(plan, actor)
    journal = place.open_driver(release=plan.release.name, actor=who, warn=warn, key=key,
                                key_ref=str(plan.session.key) if key is not None else "")
    started = next((e.body for e in journal.read() if isinstance(e.body, SessionStarted)), None)
    if started is not None and started.release != plan.release.name:
        journal.close()
        raise SessionRefused(f"session {place.name} is for release {started.release!r}, "
                             f"not {plan.release.name!r}")
    engine = Engine(plan, journal, actor=who, session_dir=str(place.work_dir),
                    context_factory=(lambda: ctx) if ctx is not None else None,
                    inbox=place.inbox(journal))
    if plan.notify:  # the driver tells [[notify]] targets; off the rollout's path
        from gonogo.notify import attach

        attach(engine)
    try:  # one driver per release and environment on this host, whatever directory it uses
        lock = DriverLock(plan.release.name, actor=engine.actor, session=place.name,
                          environment=plan.release.environment)
    except SessionBusy as exc:
        journal.close()
        # the release is driven from another session: that one is what to watch
        holder = place
        if exc.holder_session and place.dsn is None:
            holder = Place(exc.holder_session, Path(exc.holder_session))
        raise SessionRefused(str(exc), busy=True, place=holder) from None

    async def release() -> None:
        lock.release_lock()

    engine.on_close(release)
    return Session(place.work_dir, journal, engine, place)


def head_line(state: RolloutState, where: Path | str) -> str:
    """What to write down when a session stops: its head, to check the journal later
    against (``gonogo log verify SESSION --head HASH``). ``where``: the session as
    ``gonogo log`` names it (``Place.log_args``)."""
    if not state.events:
        return f"journal {where}: empty"
    return (f"journal head #{state.events} {state.last_hash} "
            f"(later: gonogo log verify {where} --head {state.last_hash[:16]})")
