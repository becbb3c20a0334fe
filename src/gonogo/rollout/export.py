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
from collections.abc import Mapping, Sequence
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


def _header(events: Sequence[Event], verification: Verification | None) -> dict[str, Any]:
    started = next((e.body for e in events if isinstance(e.body, SessionStarted)), None)
    head: dict[str, Any] = {
        "release": started.release if started else "",
        "events": len(events),
        "head_hash": events[-1].hash if events else "",
    }
    if events:
        head["started"] = utc(events[0].time)
        head["last"] = utc(events[-1].time)
    if events:
        head["head_seq"] = events[-1].seq
    if verification is not None:
        head["verified"] = verification.ok
        head["verification"] = verification.method if verification.ok else verification.problem
    return head


def to_json(events: Sequence[Event], verification: Verification | None = None) -> str:
    doc = {"session": _header(events, verification), "events": [_record(e) for e in events]}
    return json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def _tomlable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [("null" if v is None else _tomlable(v)) for v in value]
    return value


def to_toml(events: Sequence[Event], verification: Verification | None = None) -> str:
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("gonogo session log export"))
    doc["session"] = _header(events, verification)
    records = tomlkit.aot()
    for e in events:
        records.append(tomlkit.item(_tomlable(_record(e))))
    doc["events"] = records
    return toml_safe(tomlkit.dumps(doc))
