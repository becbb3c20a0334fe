"""Session log rendering: one line per event, and TOML / JSON exports.

The exports carry every event with its sequence number, UTC time, actor, kind, a
one-line summary, its data and its hash, so a reader can audit the rollout without
gonogo. TOML has no null: ``None`` values are left out of tables and written as
``"null"`` inside arrays (the JSON export is the lossless one).

The journal holds text gonogo did not write (service bodies, command output, names
typed by operators), and a journal written by an older version holds it raw: every
rendering here passes ``gonogo.untrusted`` — one-line descriptions are ``printable``,
and both exports write what a terminal would act on as ``\\uXXXX`` escapes (exactly
the same characters to a JSON or TOML reader).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gonogo.rollout.events import SessionStarted
from gonogo.rollout.journal import Event, Verification
from gonogo.untrusted import json_safe, printable, toml_safe


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(event: Event) -> str:
    """A one-line, human summary of an event (the headless CLI, the panel and the
    incident timeline show these): control characters shown escaped, never acted on."""
    return printable(event.body.describe())


def line(event: Event) -> str:
    return f"{utc(event.time)} #{event.seq} {printable(event.actor)}: {describe(event)}"


def _record(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "time": event.time,
        "utc": utc(event.time),
        "actor": event.actor,
        "kind": event.kind,
        "summary": describe(event),
        "data": dict(event.data),
        "prev": event.prev_hash,
        "hash": event.hash,
    }


@dataclass
class Summary:
    """What an export's header says about the whole journal, gathered while it streams
    past (``add`` each record, as ``journal.verify_file`` hands them over)."""

    release: str = ""
    events: int = 0
    first_time: float | None = None
    last_time: float | None = None
    head_hash: str = ""
    head_seq: int = 0

    def add(self, record: Mapping[str, Any]) -> None:
        if self.events == 0:
            self.first_time = float(record["time"])
        self.events += 1
        self.last_time = float(record["time"])
        self.head_hash, self.head_seq = str(record["hash"]), int(record["seq"])
        if not self.release and record.get("kind") == "session_started":
            data = record.get("data")
            release = data.get("release") if isinstance(data, Mapping) else None
            self.release = release if isinstance(release, str) else ""

    @classmethod
    def of(cls, events: Sequence[Event]) -> Summary:
        started = next((e.body for e in events if isinstance(e.body, SessionStarted)), None)
        summary = cls(release=started.release if started else "", events=len(events))
        if events:
            summary.first_time, summary.last_time = events[0].time, events[-1].time
            summary.head_hash, summary.head_seq = events[-1].hash, events[-1].seq
        return summary


def _header(summary: Summary, verification: Verification | None) -> dict[str, Any]:
    head: dict[str, Any] = {
        "release": summary.release,
        "events": summary.events,
        "head_hash": summary.head_hash,
    }
    if summary.first_time is not None and summary.last_time is not None:
        head["started"] = utc(summary.first_time)
        head["last"] = utc(summary.last_time)
        head["head_seq"] = summary.head_seq
    if verification is not None:
        head["verified"] = verification.ok
        head["verification"] = verification.method if verification.ok else verification.problem
    return head


def _indented(text: str, by: str) -> str:
    return text.replace("\n", "\n" + by)


def json_chunks(events: Iterable[Event], summary: Summary,
                verification: Verification | None = None) -> Iterator[str]:
    """The JSON export a piece at a time: the same text as ``json.dumps`` of the whole
    document with ``indent=2``, without holding the document (or the events) in memory."""
    header = json.dumps(_header(summary, verification), indent=2, ensure_ascii=False)
    yield json_safe('{\n  "session": ' + _indented(header, "  ") + ',\n  "events": [')
    first = True
    for event in events:
        record = json.dumps(_record(event), indent=2, ensure_ascii=False)
        yield json_safe(("\n    " if first else ",\n    ") + _indented(record, "    "))
        first = False
    yield "]\n}\n" if first else "\n  ]\n}\n"


def to_json(events: Sequence[Event], verification: Verification | None = None) -> str:
    return "".join(json_chunks(events, Summary.of(events), verification))


def _tomlable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [("null" if v is None else _tomlable(v)) for v in value]
    return value


def toml_chunks(events: Iterable[Event], summary: Summary,
                verification: Verification | None = None) -> Iterator[str]:
    """The TOML export a piece at a time (``[session]``, then one ``[[events]]`` table
    per event): the text tomlkit writes for the whole document, never held whole."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("gonogo session log export"))
    doc["session"] = _header(summary, verification)
    # tomlkit writes an empty array of tables first, as an inline array
    yield toml_safe(("events = []\n" if summary.events == 0 else "") + tomlkit.dumps(doc))
    for e in events:
        one = tomlkit.document()
        records = tomlkit.aot()
        records.append(tomlkit.item(_tomlable(_record(e))))
        one["events"] = records
        yield toml_safe("\n" + tomlkit.dumps(one))


def to_toml(events: Sequence[Event], verification: Verification | None = None) -> str:
    return "".join(toml_chunks(events, Summary.of(events), verification))
