"""Session log rendering: one line per event, and TOML / JSON exports.

The exports carry every event with its sequence number, UTC time, actor, kind, a
one-line summary, its data and its hash, so a reader can audit the rollout without
gonogo. TOML has no null: ``None`` values are left out of tables and written as
``"null"`` inside arrays (the JSON export is the lossless one).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gonogo.rollout.journal import Event, Verification


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pct(v: Any) -> str:
    try:
        return f"{float(v):g}%"
    except (TypeError, ValueError):
        return "?"


def describe(event: Event) -> str:
    """A one-line, human summary of an event (the headless CLI prints these)."""
    d = event.data
    k = event.kind
    if k == "session_started":
        return f"session started for {d.get('release')} ({d.get('commit')}), speed x{d.get('speed', 1):g}"
    if k == "session_resumed":
        return f"session resumed, speed x{d.get('speed', 1):g}"
    if k == "check_result":
        r = d.get("result", {})
        return f"check {r.get('id')}: {r.get('status')} - {r.get('summary', '')}"[:200]
    if k == "owner_set":
        return f"owner {d.get('role')} = {d.get('name')}"
    if k == "signed_off":
        return f"signed off {d.get('check_id')}" + (f": {d.get('note')}" if d.get("note") else "")
    if k == "advance_confirmed":
        forced = f" FORCED: {d.get('reason')}" if d.get("forced") else ""
        return f"advance {d.get('from_stage') or 'start'} -> {d.get('to_stage')} confirmed{forced}"
    if k == "traffic_intended":
        return f"traffic: shifting canary to {_pct(d.get('weight'))} ({d.get('purpose')}, {d.get('stage')})"
    if k == "traffic_confirmed":
        return f"traffic: canary at {_pct(d.get('weight'))} confirmed ({d.get('detail', '')})"[:200]
    if k == "traffic_failed":
        return f"traffic: shift to {_pct(d.get('weight'))} FAILED: {d.get('error', '')}"[:200]
    if k == "stage_entered":
        return f"stage {d.get('stage')} entered at {_pct(d.get('weight'))}"
    if k == "hold_completed":
        return f"hold of stage {d.get('stage')} completed"
    if k in ("paused", "resumed"):
        return k + (f": {d.get('reason')}" if d.get("reason") else "")
    if k == "samples":
        vals = d.get("values", {})
        shown = ", ".join(
            f"{m}={v[0]:.4g}/{v[1]:.4g}" if isinstance(v, list) and None not in v
            else f"{m}={'n/a' if not isinstance(v, list) or v[0] is None else format(v[0], '.4g')}"
            for m, v in vals.items()
        )
        return f"metrics (canary/baseline): {shown}"[:200]
    if k == "criterion_tripped":
        return (f"STOP {d.get('metric')}: canary {d.get('canary')} baseline {d.get('baseline')} "
                f"threshold {d.get('threshold')} - {d.get('reason')}")[:240]
    if k == "rollback_proposed":
        return f"rollback proposed: {d.get('reason')}"
    if k == "rollback_started":
        return f"ROLLBACK started ({d.get('trigger')}): {d.get('reason')}"[:240]
    if k == "runbook_step_started":
        return f"runbook {d.get('step')}: started"
    if k == "runbook_step_finished":
        return f"runbook {d.get('step')}: {d.get('status')} - {d.get('detail', '')}"[:240]
    if k == "runbook_decision":
        return f"runbook {d.get('step')}: operator decided {d.get('decision')} ({d.get('reason')})"
    if k == "rollback_finished":
        return "rollback finished: canary traffic at " + _pct(d.get("weight"))
    if k == "reconciled":
        return f"reconciliation {d.get('item')} marked done"
    if k == "release_stable":
        return f"release {d.get('release')} marked STABLE"
    return k


def line(event: Event) -> str:
    return f"{utc(event.time)} #{event.seq} {event.actor}: {describe(event)}"


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
    started = next((e for e in events if e.kind == "session_started"), None)
    head: dict[str, Any] = {
        "release": started.data.get("release", "") if started else "",
        "events": len(events),
        "head_hash": events[-1].hash if events else "",
    }
    if events:
        head["started"] = utc(events[0].time)
        head["last"] = utc(events[-1].time)
    if verification is not None:
        head["verified"] = verification.ok
    return head


def to_json(events: Sequence[Event], verification: Verification | None = None) -> str:
    doc = {"session": _header(events, verification), "events": [_record(e) for e in events]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


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
    return tomlkit.dumps(doc)
