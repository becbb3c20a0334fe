"""The session journal: append-only, hash-chained events, the rollout's source of truth.

Each event is one JSON line written in a canonical form (sorted keys, no spaces,
ASCII only) and fsync'd before ``append`` returns. ``hash`` is the SHA-256 of the
canonical JSON of ``{seq, time, actor, kind, data, prev}``, and ``prev`` is the
previous event's hash, so any edit, insertion, removal or reordering breaks the
chain. Because a line must also *be* the canonical serialisation of what it holds,
changing any single byte (even whitespace) is detected by ``verify``. (``verify`` hashes
each line's own text without its ``hash`` member, which is that canonical form for a
line gonogo wrote; only a line whose hash does not match is serialised again, to say
whether it was edited or is not canonical: 100,000 events verify in about a second.)

A crash can leave a torn last line (no newline, or not JSON). Opening the journal
moves such a line to ``events.jsonl.torn`` with a warning; the events before it are
untouched. A bad line anywhere else is corruption: ``read`` refuses it and
``verify`` names it.

Each line's ``kind`` and ``data`` are decoded once, when the line is read, into a
typed body (``gonogo.rollout.events``); ``Event.data`` keeps the data exactly as
recorded, which is what the hash covers. A kind this gonogo does not know, or data
that does not fit its kind, is a ``JournalError`` naming the line, never skipped.

``JournalStore`` is the interface the engine writes through, so that a PostgreSQL
store (shared sessions) can stand beside ``FileJournal``.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from gonogo.rollout.events import BodyError, EventBody, decode, encode, kind_of, plain
from gonogo.safefs import UnsafePath, open_private_dir

__all__ = [
    "GENESIS", "EVENTS_FILE", "TORN_SUFFIX", "JournalError", "SessionBusy", "Event", "Verification", "JournalStore",
    "FileJournal", "canonical", "chain_hash", "make_event", "plain", "verify_lines", "verify_file",
    "read_events", "iter_events", "session_file",
]

GENESIS = "0" * 64
EVENTS_FILE = "events.jsonl"
TORN_SUFFIX = ".torn"
FIELDS = frozenset({"seq", "time", "actor", "kind", "data", "prev", "hash"})


class JournalError(Exception):
    """The journal cannot be opened, read or written; the message names where."""


class SessionBusy(JournalError):
    """Another process drives the session (holds its journal's lock), or the release
    (``holder_session``: the session it drives, when known)."""

    def __init__(self, message: str, *, holder_session: str = "") -> None:
        super().__init__(message)
        self.holder_session = holder_session


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def chain_hash(
    seq: int, time: float, actor: str, kind: str, data: Any, prev: str, key: bytes | None = None
) -> str:
    """SHA-256 of the record, or HMAC-SHA256 under the session's key: without the key,
    nobody can recompute a keyed chain after editing it."""
    body = {"seq": seq, "time": time, "actor": actor, "kind": kind, "data": data, "prev": prev}
    payload = canonical(body).encode("ascii")
    if key is not None:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


UNKEYED = "sha256 chain (unkeyed: catches accidental damage and edits that do not recompute the chain)"


def keyed_method(key_ref: str) -> str:
    return f"hmac-sha256 chain keyed by {key_ref}"


@dataclass(frozen=True, slots=True)
class Event:
    """One journal record: the envelope, the typed ``body`` (decoded once, when the
    event is made or read) and ``data``, the body exactly as recorded, which the
    hash covers (an older journal's data may lack fields the body fills with defaults)."""

    seq: int
    time: float  # unix time (UTC)
    actor: str
    body: EventBody
    data: Mapping[str, Any]
    prev_hash: str = GENESIS
    hash: str = ""

    @property
    def kind(self) -> str:
        return kind_of(self.body)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "kind": self.kind,
            "data": self.data,
            "prev": self.prev_hash,
            "hash": self.hash,
        }

    def line(self) -> str:
        return canonical(self.to_dict())

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """The event a parsed journal line records; ``BodyError`` if its kind is unknown
        or its data does not fit the kind."""
        env = _Envelope.of(raw)
        return cls(env.seq, env.time, env.actor, decode(env.kind, env.data), env.data, env.prev,
                   env.hash)


@dataclass(frozen=True, slots=True)
class _Envelope:
    """A parsed line's fields, checked for type, the body not yet decoded."""

    seq: int
    time: float
    actor: str
    kind: str
    data: dict[str, Any]
    prev: str
    hash: str

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> _Envelope:
        seq, time, actor, kind = raw["seq"], raw["time"], raw["actor"], raw["kind"]
        data, prev, hash_ = raw["data"], raw["prev"], raw["hash"]
        if (not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(time, int | float)
                or isinstance(time, bool) or not isinstance(actor, str) or not isinstance(kind, str)
                or not isinstance(data, dict) or not isinstance(prev, str)
                or not isinstance(hash_, str)):
            raise TypeError("a journal field has the wrong type")
        return cls(seq, float(time), actor, kind, data, prev, hash_)


def make_event(
    seq: int, time: float, actor: str, body: EventBody, prev: str, key: bytes | None = None
) -> Event:
    """The event recording ``body``; its body is what a reader of the line will decode,
    so a live fold and a replay see the same values."""
    kind = kind_of(body)
    data = encode(body)
    try:
        recorded = decode(kind, data)
    except BodyError as exc:  # a value the journal could not read back (NaN weight...)
        raise JournalError(f"cannot record {kind}: {exc}") from None
    return Event(seq, time, actor, recorded, data, prev,
                 chain_hash(seq, time, actor, kind, data, prev, key))


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    events: int
    first_bad: int | None = None  # the 1-based line number of the first bad event
    problem: str = ""
    method: str = UNKEYED  # what was verified, and how
    head_seq: int = 0
    head_hash: str = ""
    torn_tail: bool = False  # the only problem: a last line a crash cut short


def declared_key_ref(lines: Iterable[bytes]) -> str | None:
    """The key reference a keyed session declared in its journal (never the key)."""
    for raw in itertools.islice(lines, 8):  # declared right after session_started
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        if isinstance(obj, dict) and obj.get("kind") == "chain_keyed":
            ref = obj.get("data", {}).get("key_ref")
            return ref if isinstance(ref, str) else None
    return None


Lines = Callable[[], Iterable[bytes]]  # each call: the journal's lines from the start


def verify_lines(
    lines: Iterable[bytes], *, key: bytes | None = None, key_ref: str = "", head: str | None = None
) -> Verification:
    """Check the canonical form, sequence numbers and hash chain of raw lines (the
    record's integrity; whether its kind is known is the reader's question).

    With ``key`` every hash must be the HMAC under it: a chain recomputed without the
    key (or with another) fails. With ``head`` (a hash recorded elsewhere, e.g. printed
    when a rollout stopped) the journal must still contain that event: a journal cut
    back to a line boundary, or rewritten, fails."""
    kept = lines if isinstance(lines, list) else list(lines)
    return _verify(lambda: kept, key=key, key_ref=key_ref, head=head)


def _verify(
    lines: Lines, *, key: bytes | None, key_ref: str, head: str | None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> Verification:
    """``verify_lines`` over a source read again only when needed (a failure's declared
    key, a ``head``): a file is verified line by line, never held in memory whole."""
    method = keyed_method(key_ref or "the given key") if key is not None else UNKEYED
    check = _verify_chain(lines(), key, on_record)
    check = Verification(check.ok, check.events, check.first_bad, check.problem, method,
                         check.head_seq, check.head_hash, check.torn_tail)
    if not check.ok:
        declared = declared_key_ref(lines())
        if key is None and declared is not None:
            return Verification(False, check.events, check.first_bad,
                                f"{check.problem}; this session's chain is keyed by {declared}: "
                                "verify with its key (--key REF, or [session] key in the config)",
                                method, torn_tail=check.torn_tail)
        return check
    if head is not None:
        found = _find_head(lines(), head)
        if found is None:
            return Verification(False, check.events, None,
                                f"head {head[:16]}… is not in this journal: it was cut back or rewritten "
                                f"after that head was recorded (its last event is #{check.head_seq})",
                                method, check.head_seq, check.head_hash)
        method += f"; head #{found} matches"
        if found < check.head_seq:
            method += f" ({check.head_seq - found} events recorded after it)"
    return Verification(True, check.events, None, "", method, check.head_seq, check.head_hash)


def _find_head(lines: Iterable[bytes], head: str) -> int | None:
    needle = head.strip().lower()
    for n, raw in enumerate(lines, start=1):
        if len(needle) >= 8 and _parse(raw)["hash"].startswith(needle):
            return n
    return None


def _parse(raw: bytes | str) -> Any:
    """A journal line's JSON. msgspec parses it several times faster than ``json``;
    what msgspec refuses (NaN, a huge integer...) goes to ``json`` as before, and the
    canonical form is judged on the parsed values either way."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


def _digest(payload: bytes, key: bytes | None) -> str:
    if key is not None:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def _hashed(raw: bytes, h: str) -> bytes | None:
    """The line's text without its ``hash`` member: for a canonical line (keys sorted),
    ``canonical`` of the rest, which is what ``chain_hash`` hashes, made without
    serialising ``data`` again. ``None`` when the hash is not plain text. The member is
    the last of its text in the line: what follows it is numbers and strings, and a
    bare quote cannot occur inside a string."""
    if not (h.isascii() and h.isalnum()):
        return None
    member = b',"hash":"' + h.encode("ascii") + b'"'
    at = raw.rfind(member + b',"kind":')
    if at < 0:
        return None
    return raw[:at] + raw[at + len(member):]


class _Shape(msgspec.Struct, forbid_unknown_fields=True):
    """A line's fields for ``verify``'s fast path: ``data`` left unparsed."""

    actor: str
    data: msgspec.Raw
    hash: str
    kind: str
    prev: str
    seq: int
    time: float


_decode_shape = msgspec.json.Decoder(_Shape).decode


def _verify_chain(
    lines: Iterable[bytes], key: bytes | None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    after: int = 0, prev: str = GENESIS,
) -> Verification:
    """``after``/``prev``: the lines continue a chain whose event ``after`` has hash ``prev``
    (a follower verifies only what was appended since it last looked)."""
    n = after
    for n, raw in enumerate(lines, start=after + 1):
        if on_record is None:  # verify only: a line that is what was hashed costs one parse
            try:
                shape = _decode_shape(raw)
            except msgspec.MsgspecError:
                shape = None
            if (shape is not None and shape.seq == n and shape.prev == prev
                    and memoryview(shape.data)[:1].tobytes() == b"{" and raw.endswith(b"\n") and raw.isascii()):
                payload = _hashed(raw[:-1], shape.hash)
                if payload is not None and hmac.compare_digest(shape.hash, _digest(payload, key)):
                    prev = shape.hash
                    continue
            # anything else goes the whole way, which says what is wrong
        if not raw.endswith(b"\n"):
            return Verification(False, n - 1, n, f"event {n}: incomplete last line (torn write)",
                                torn_tail=True)
        body = raw[:-1]
        try:
            if not body.isascii():
                raise ValueError("not ASCII")
            obj = _parse(body)
            seq, kind, hash_ = obj["seq"], obj["kind"], obj["hash"]
            if not (type(seq) is int and type(kind) is str and type(hash_) is str
                    and type(obj["prev"]) is str and type(obj["actor"]) is str
                    and type(obj["data"]) is dict and type(obj["time"]) in (float, int)):
                _Envelope.of(obj)  # raises, with the reason, for what these exact types miss
            fields = obj.keys() == FIELDS
            # The hash of the line's own text without its hash member: when it is the
            # recorded hash, the line is byte for byte what was hashed, and the writer
            # hashed ``canonical`` of the record. Only when it is not (an edit, or a
            # line of another shape) is the canonical form judged, to say what is wrong.
            payload = _hashed(body, hash_) if fields else None
            same = payload is not None and hmac.compare_digest(hash_, _digest(payload, key))
            exact = same or (fields and raw[:-1].decode("ascii") == canonical(obj))
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return Verification(False, n - 1, n, f"event {n}: not a valid journal record")
        if not exact:
            return Verification(False, n - 1, n, f"event {n} ({kind}): edited (not canonical)")
        if seq != n:
            return Verification(False, n - 1, n, f"event {n}: sequence number {seq}, expected {n}")
        if obj["prev"] != prev:
            return Verification(False, n - 1, n, f"event {n} ({kind}): chain broken (prev hash)")
        if not same:
            expected = chain_hash(seq, obj["time"], obj["actor"], kind, obj["data"], prev, key)
            if not hmac.compare_digest(hash_, expected):
                why = "content edited or chain recomputed without the key" if key else "content edited"
                return Verification(False, n - 1, n, f"event {n} ({kind}): {why} (hash mismatch)")
        prev = hash_
        if on_record is not None:
            on_record(obj)
    return Verification(True, n, head_seq=n, head_hash=prev if n else "")


class JournalStore(Protocol):
    """Where a session's events live (a directory here; PostgreSQL for shared sessions)."""

    location: str
    key_ref: str  # where the chain's HMAC key lives ("" for an unkeyed chain)

    def append(self, body: EventBody, actor: str, time: float) -> Event: ...

    def read(self) -> list[Event]: ...

    def verify(self) -> Verification: ...

    def close(self) -> None: ...


def _split_lines(raw: bytes) -> list[bytes]:
    return raw.splitlines(keepends=True)


class FileJournal:
    """A session directory holding ``events.jsonl``.

    The directory must be the operator's own and not writable by group or others
    (or is created fresh, 0700), and every file in it is opened relative to the
    directory without following links (``gonogo.safefs``): a session directory
    someone else prepared cannot steer a write to another of the operator's files.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        warn: Callable[[str], None] | None = None,
        key: bytes | None = None,
        key_ref: str = "",
    ) -> None:
        self.dir = Path(directory)
        self.key = key
        self.key_ref = key_ref
        self.location = str(self.dir)
        self.path = self.dir / EVENTS_FILE
        self._warn = warn or (lambda _msg: None)
        self._fd = -1
        created = not os.path.lexists(self.dir)
        try:
            self._dir = open_private_dir(self.dir)
        except UnsafePath as exc:
            raise JournalError(f"refusing session {self.dir}: {exc}") from None
        except OSError as exc:
            raise JournalError(f"cannot open session {self.dir}: {exc.strerror}") from None
        try:
            if created:
                _fsync_dir(self.dir.parent)
            fresh = not self._dir.exists(EVENTS_FILE)
            self._fd = self._dir.open(EVENTS_FILE, os.O_RDWR | os.O_CREAT | os.O_APPEND)
            try:  # one writer per session; the lock dies with its process (even on SIGKILL)
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SessionBusy(
                    f"session {self.dir} is being driven by another gonogo process; "
                    "watch it read-only or wait until it stops"
                ) from None
            if fresh:
                os.fsync(self._fd)
                self._dir.fsync()
            self._last = self._tail(self._load())
        except UnsafePath as exc:
            self.close()
            raise JournalError(f"refusing session {self.dir}: {exc}") from None
        except OSError as exc:
            self.close()
            raise JournalError(f"cannot open session {self.dir}: {exc.strerror}") from None
        except JournalError:
            self.close()
            raise

    # Reading ----------------------------------------------------------
    def _read_all(self) -> bytes:
        size = os.fstat(self._fd).st_size
        chunks, offset = [], 0
        while offset < size:
            chunk = os.pread(self._fd, min(1 << 20, size - offset), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def _load(self, *, set_aside: bool = True) -> list[Event]:
        raw = self._read_all()
        lines = _split_lines(raw)
        if set_aside and lines and (not lines[-1].endswith(b"\n") or not _parses(lines[-1])):
            self._set_aside(lines[-1], len(raw) - len(lines[-1]))
            lines = lines[:-1]
        elif lines and not lines[-1].endswith(b"\n"):
            lines = lines[:-1]  # a write under way in another thread: not an event yet
        records: list[dict[str, Any]] = []
        check = _verify(lambda: lines, key=self.key, key_ref=self.key_ref, head=None,
                        on_record=records.append)
        if not check.ok:
            raise JournalError(f"{self.path}: {check.problem}; run `gonogo log verify {self.dir}`")
        return _decode_records(records, self.path)

    def _set_aside(self, torn: bytes, keep: int) -> None:
        name = EVENTS_FILE + TORN_SUFFIX
        fd = self._dir.open(name, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            _write_all(fd, torn if torn.endswith(b"\n") else torn + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)
        self._warn(
            f"journal {self.path}: the last line was torn by a crash ({len(torn)} bytes); "
            f"set aside in {name}"
        )

    @staticmethod
    def _tail(events: list[Event]) -> Event | None:
        return events[-1] if events else None

    def read(self) -> list[Event]:
        """Every event so far, read back from the file and verified again. Only the last
        one is kept in memory (what the next append chains to): a 12-hour canary is
        ~9,000 polls, ~3 KB each as objects, and a long session must not grow by that
        (bench figure 7); the few readers (a resume, the panel's start, an incident)
        read the file (after ``close`` too)."""
        if self._fd < 0:
            return read_events(self.dir, key=self.key, key_ref=self.key_ref)
        return self._load(set_aside=False)

    def verify(self) -> Verification:
        return verify_lines(_split_lines(self._read_all()), key=self.key, key_ref=self.key_ref)

    # Writing ----------------------------------------------------------
    def append(self, body: EventBody, actor: str, time: float) -> Event:
        last = self._last
        event = make_event(
            (last.seq if last else 0) + 1, time, actor, body, last.hash if last else GENESIS, self.key
        )
        payload = (event.line() + "\n").encode("ascii")
        end = os.fstat(self._fd).st_size
        try:
            _write_all(self._fd, payload)
            os.fsync(self._fd)
        except OSError as exc:
            # A full disk may have taken part of the line: cut it off again, so the
            # journal stays whole and the next append (or a resume) starts clean.
            try:
                os.ftruncate(self._fd, end)
            except OSError:
                pass  # the torn tail is set aside when the session is next opened
            raise JournalError(f"cannot write to {self.path}: {exc.strerror or exc}") from None
        self._last = event
        return event

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        d = getattr(self, "_dir", None)
        if d is not None:
            d.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(28, "no space left on device")
        view = view[written:]


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _decode_lines(lines: Iterable[bytes], path: Path) -> list[Event]:
    """Verified lines as events (``_decode_records`` of each line parsed)."""
    return _decode_records((_parse(line) for line in lines), path)


def _decode_records(records: Iterable[Mapping[str, Any]], path: Path) -> list[Event]:
    """Verified records as events; a kind this gonogo does not know, or data that does
    not fit its kind, is an error naming the line (never silently skipped)."""
    return list(_events_of(records, path))


def _events_of(records: Iterable[Mapping[str, Any]], path: Path) -> Iterator[Event]:
    for n, record in enumerate(records, start=1):
        try:
            yield Event.from_dict(record)
        except BodyError as exc:
            raise JournalError(f"{path} line {n}: {exc}") from None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def session_file(session: str | os.PathLike[str]) -> Path:
    p = Path(session)
    return p / EVENTS_FILE if p.is_dir() else p


def _file_lines(path: str | os.PathLike[str]) -> Lines:
    def lines() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            yield from fh

    return lines


def verify_file(
    path: str | os.PathLike[str], *, key: bytes | None = None, key_ref: str = "",
    head: str | None = None, on_record: Callable[[dict[str, Any]], None] | None = None,
) -> Verification:
    """``verify_lines`` of a journal file, read line by line (memory independent of its
    length); ``on_record`` sees each verified record, parsed."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return Verification(False, 0, None, f"cannot read {path}: {exc.strerror}")
    return _verify(_file_lines(path), key=key, key_ref=key_ref, head=head, on_record=on_record)


def read_declared_key_ref(session: str | os.PathLike[str]) -> str | None:
    try:
        with open(session_file(session), "rb") as fh:
            return declared_key_ref(fh)
    except OSError:
        return None


def read_events(
    session: str | os.PathLike[str], *, key: bytes | None = None, key_ref: str = ""
) -> list[Event]:
    """Read a session's events without opening it for writing (exports, watchers)."""
    path = session_file(session)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"cannot read {path}: {exc.strerror}") from None
    lines = _split_lines(raw)
    if lines and not lines[-1].endswith(b"\n"):
        lines = lines[:-1]  # a torn tail is set aside when the session is next opened
    records: list[dict[str, Any]] = []
    check = _verify(lambda: lines, key=key, key_ref=key_ref, head=None, on_record=records.append)
    if not check.ok:
        raise JournalError(f"{path}: {check.problem}")
    return _decode_records(records, path)


def iter_events(path: str | os.PathLike[str]) -> Iterator[Event]:
    """The events of a journal file already verified (``verify_file``), one at a time:
    memory independent of the journal's length (exports). A torn last line is skipped,
    as ``read_events`` does; an unknown kind is a ``JournalError`` naming the line."""
    def complete() -> Iterator[dict[str, Any]]:
        for raw in _file_lines(path)():
            if raw.endswith(b"\n"):
                yield _parse(raw)

    yield from _events_of(complete(), Path(path))
