"""Intents: what someone other than the driver asks of a driven session.

Only the driver writes a session's journal. Anyone else with the session directory
*submits an intent*: a small JSON file in ``SESSION/intents/``, written atomically.
The driver takes each intent on its next tick (well under a second), journals it
under the submitter's name or refuses it, and writes the answer beside it
(``ID.answer``), which the submitter waits for.

An intent file is untrusted input: it is read without following links, at most
``INTENT_LIMIT`` bytes, decoded strictly; a malformed one is answered "refused" and
removed, never crashes the driver.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import msgspec

from gonogo.safefs import PrivateDir, UnsafePath, open_private_dir

__all__ = ["Intent", "IntentKind", "Answer", "Inbox", "IntentInbox", "Presence", "INBOX_DIR", "INTENT_LIMIT"]

INBOX_DIR = "intents"
INTENT_LIMIT = 16 * 1024
TEXT_LIMIT = 2000  # a note, a name


IntentKind = Literal["signoff", "note", "pause", "rollback"]


class Intent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``signoff`` a check (applied when the submitter owns its role); add a ``note``;
    request a ``pause`` or propose a ``rollback`` (journaled, then the driver decides)."""

    id: str
    kind: IntentKind
    actor: str  # who submits it; the journal records the intent under this name
    submitted_at: float
    check_id: str = ""
    note: str = ""  # the sign-off's note, the note's text, the request's reason


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    applied: bool
    detail: str
    seq: int = 0  # the journal event that recorded it
    delay_s: float = 0.0  # from submission to the driver's answer (wall clock)


@dataclass(frozen=True, slots=True)
class Received:
    """An intent as the driver read it: the intent, or why its file was refused."""

    id: str
    intent: Intent | None
    problem: str = ""


class IntentInbox(Protocol):
    """What the engine and ``gonogo signoff`` need of an inbox: ``Inbox`` (a session
    directory) or ``pgstore.PgInbox`` (a PostgreSQL session)."""

    def submit(self, kind: IntentKind, actor: str, *, check_id: str = "", note: str = "",
               now: float | None = None) -> Intent: ...

    def answer_for(self, intent_id: str) -> Answer | None: ...

    def wait(self, intent_id: str, timeout: float, poll: float = 0.1) -> Answer | None: ...

    def withdraw(self, intent_id: str) -> bool: ...

    def take(self) -> Iterator[Received]: ...

    def answer(self, answer: Answer) -> None: ...


def _valid_id(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isalnum() or c in "-_" for c in name)


class Inbox:
    """``SESSION/intents``: submitted by anyone with the session, taken by its driver."""

    def __init__(self, session_dir: str | os.PathLike[str]) -> None:
        self.path = Path(session_dir) / INBOX_DIR

    def _open(self, create: bool) -> PrivateDir:
        return open_private_dir(self.path, create=create)

    # Submitter side ------------------------------------------------------
    def submit(self, kind: IntentKind, actor: str, *, check_id: str = "", note: str = "",
               now: float | None = None) -> Intent:
        intent = Intent(id=f"{int(time.time() * 1000):x}-{secrets.token_hex(4)}", kind=kind,
                        actor=actor[:TEXT_LIMIT], submitted_at=time.time() if now is None else now,
                        check_id=check_id[:TEXT_LIMIT], note=note[:TEXT_LIMIT])
        with self._open(create=True) as d:
            d.write_file(f"{intent.id}.intent", msgspec.json.encode(intent))
        return intent

    def answer_for(self, intent_id: str) -> Answer | None:
        try:
            with self._open(create=False) as d:
                data = _read(d, f"{intent_id}.answer")
        except (FileNotFoundError, UnsafePath):
            return None
        try:
            return msgspec.json.decode(data, type=Answer)
        except msgspec.DecodeError:
            return None

    def wait(self, intent_id: str, timeout: float, poll: float = 0.1) -> Answer | None:
        """The driver's answer, or ``None`` when none came within ``timeout`` seconds."""
        return wait_for_answer(self.answer_for, intent_id, timeout, poll)

    def withdraw(self, intent_id: str) -> bool:
        """Remove an intent nobody took yet; ``False`` when the driver already has it."""
        try:
            with self._open(create=False) as d:
                os.unlink(f"{intent_id}.intent", dir_fd=d.fd)
        except (FileNotFoundError, UnsafePath):
            return False
        return True

    # Driver side ----------------------------------------------------------
    def take(self) -> Iterator[Received]:
        """Every waiting intent, oldest first; each is removed from the inbox as it is
        yielded (answer it with ``answer``)."""
        if not self.path.is_dir():
            return
        try:
            d = self._open(create=False)
        except UnsafePath:
            return
        with d:
            names = sorted(n for n in os.listdir(d.fd) if n.endswith(".intent"))
            for name in names:
                ident = name.removesuffix(".intent")
                try:
                    data = _read(d, name)
                except FileNotFoundError:
                    continue  # withdrawn meanwhile
                except (UnsafePath, OSError) as exc:
                    _unlink(d, name)
                    yield Received(ident if _valid_id(ident) else "", None, f"unreadable intent: {exc}")
                    continue
                _unlink(d, name)
                if not _valid_id(ident):
                    continue  # nobody can wait for an answer under that name
                try:
                    intent = msgspec.json.decode(data, type=Intent)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    yield Received(ident, None, f"malformed intent: {exc}")
                    continue
                if intent.id != ident:
                    yield Received(ident, None, "malformed intent: its id does not match its file")
                    continue
                yield Received(ident, intent)

    def answer(self, answer: Answer) -> None:
        if not _valid_id(answer.id):
            return
        with self._open(create=True) as d:
            d.write_file(f"{answer.id}.answer", msgspec.json.encode(answer))


def wait_for_answer(answer_for: Callable[[str], Answer | None], intent_id: str, timeout: float,
                    poll: float = 0.1) -> Answer | None:
    """Poll ``answer_for`` until it answers or ``timeout`` seconds pass (any inbox)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = answer_for(intent_id)
        if answer is not None or time.monotonic() >= deadline:
            return answer
        time.sleep(poll)


def _read(d: PrivateDir, name: str) -> bytes:
    fd = d.open(name, os.O_RDONLY | os.O_NONBLOCK)
    try:
        data = os.read(fd, INTENT_LIMIT + 1)
    finally:
        os.close(fd)
    if len(data) > INTENT_LIMIT:
        raise UnsafePath(f"{name} is over {INTENT_LIMIT} bytes")
    return data


def _unlink(d: PrivateDir, name: str) -> None:
    try:
        os.unlink(name, dir_fd=d.fd)
    except FileNotFoundError:
        pass


PRESENCE_DIR = "watchers"
PRESENCE_TTL_S = 15.0  # a watcher not heard from for this long has gone


class Presence:
    """Who is watching a file session: each watcher touches ``SESSION/watchers/ID``
    every few seconds; the driver lists the ones heard from lately. Best effort: a
    watcher that cannot write there is simply not listed."""

    def __init__(self, session_dir: str | os.PathLike[str]) -> None:
        self.path = Path(session_dir) / PRESENCE_DIR
        self._name = f"{os.getpid()}-{secrets.token_hex(3)}.json"

    def beat(self, actor: str, now: float | None = None) -> None:
        record = {"actor": actor[:TEXT_LIMIT], "at": time.time() if now is None else now}
        try:
            with open_private_dir(self.path, create=True) as d:
                d.write_file(self._name, msgspec.json.encode(record))
        except (UnsafePath, OSError):
            pass

    def leave(self) -> None:
        try:
            with open_private_dir(self.path, create=False) as d:
                _unlink(d, self._name)
        except (UnsafePath, OSError):
            pass

    def present(self, now: float | None = None) -> list[str]:
        """The names of the watchers heard from in the last ``PRESENCE_TTL_S`` seconds."""
        now = time.time() if now is None else now
        if not self.path.is_dir():
            return []
        names: list[str] = []
        try:
            with open_private_dir(self.path, create=False) as d:
                for name in sorted(os.listdir(d.fd)):
                    if not name.endswith(".json"):
                        continue
                    try:
                        record = msgspec.json.decode(_read(d, name))
                        if now - float(record["at"]) <= PRESENCE_TTL_S:
                            names.append(str(record["actor"]))
                    except (OSError, UnsafePath, msgspec.DecodeError, KeyError, TypeError, ValueError):
                        continue
        except (UnsafePath, OSError):
            return []
        return sorted(set(names))
