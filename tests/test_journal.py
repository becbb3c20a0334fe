"""The session journal: hash chain, canonical lines, torn tails, exports."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.rollout.export import to_json, to_toml
from gonogo.rollout.journal import (
    EVENTS_FILE,
    Event,
    FileJournal,
    JournalError,
    read_events,
    verify_file,
)
from gonogo.rollout.state import Phase, RolloutState, fold


def _write(tmp_path: Path, n: int = 4) -> Path:
    j = FileJournal(tmp_path / "s")
    j.append("session_started", {"release": "r-1", "speed": 1.0}, "ada", 1000.0)
    for i in range(1, n):
        j.append("check_result", {"result": {"id": f"c{i}", "status": "pass", "note": "é ✓"}},
                 "ada@host", 1000.0 + i)
    j.close()
    return tmp_path / "s"


def test_append_and_reopen_keep_the_chain(tmp_path: Path) -> None:
    session = _write(tmp_path)
    j = FileJournal(session)
    events = j.read()
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[1].prev_hash == events[0].hash
    assert events[2].data["result"]["note"] == "é ✓"
    e5 = j.append("owner_set", {"role": "sre", "name": "Grace"}, "grace", 2000.0)
    assert e5.seq == 5 and e5.prev_hash == events[-1].hash
    j.close()
    assert verify_file(session / EVENTS_FILE).ok
    assert [e.kind for e in read_events(session)][-1] == "owner_set"


def test_every_single_byte_change_is_detected(tmp_path: Path) -> None:
    session = _write(tmp_path, n=3)
    path = session / EVENTS_FILE
    original = path.read_bytes()
    assert verify_file(path).ok
    undetected = []
    for i in range(len(original)):
        for replacement in {(original[i] + 1) % 256, ord(" ") if original[i] != 32 else ord("x")}:
            mutated = bytearray(original)
            mutated[i] = replacement
            path.write_bytes(bytes(mutated))
            if verify_file(path).ok:
                undetected.append((i, replacement))
    path.write_bytes(original)
    assert undetected == []


def test_verify_names_the_first_bad_event(tmp_path: Path) -> None:
    session = _write(tmp_path)
    path = session / EVENTS_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"c2"', b'"c9"')
    path.write_bytes(b"".join(lines))
    result = verify_file(path)
    assert not result.ok and result.first_bad == 3
    assert "hash" in result.problem
    # Removing an event breaks the chain at the next one.
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:1] + lines[2:]))
    assert verify_file(path).first_bad == 2


def test_torn_last_line_is_set_aside_with_a_warning(tmp_path: Path) -> None:
    session = _write(tmp_path)
    path = session / EVENTS_FILE
    good = path.read_bytes()
    path.write_bytes(good + b'{"actor":"ada","data":{"resu')
    assert not verify_file(path).ok
    warnings: list[str] = []
    j = FileJournal(session, warn=warnings.append)
    assert len(j.read()) == 4
    assert warnings and "torn" in warnings[0]
    assert path.read_bytes() == good
    assert (session / (EVENTS_FILE + ".torn")).read_bytes().startswith(b'{"actor":"ada"')
    j.append("paused", {"reason": "lunch"}, "ada", 3000.0)
    j.close()
    assert verify_file(path).ok


def test_corruption_in_the_middle_refuses_to_open(tmp_path: Path) -> None:
    session = _write(tmp_path)
    path = session / EVENTS_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = b"garbage\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match="event 2"):
        FileJournal(session)


def test_exports_parse_and_carry_actor_and_time(tmp_path: Path) -> None:
    session = _write(tmp_path)
    events = read_events(session)
    check = verify_file(session / EVENTS_FILE)
    js = json.loads(to_json(events, check))
    assert js["session"]["verified"] is True and js["session"]["release"] == "r-1"
    assert [e["actor"] for e in js["events"]] == ["ada", "ada@host", "ada@host", "ada@host"]
    assert js["events"][0]["utc"].startswith("1970-01-01T00:16:40")
    tm = tomllib.loads(to_toml(events, check))
    assert len(tm["events"]) == 4
    assert tm["events"][1]["kind"] == "check_result" and tm["events"][1]["time"] == 1001.0
    assert tm["events"][1]["hash"] == events[1].hash


def test_data_is_stored_as_it_reads_back(tmp_path: Path) -> None:
    j = FileJournal(tmp_path / "s")
    j.append("samples", {"values": {"x": [float("nan"), 1.0], "y": (1.0, None)}, 2: Path("/a")},
             "ada", 1.0)
    j.close()
    (event,) = read_events(tmp_path / "s")
    assert event.data == {"values": {"x": [None, 1.0], "y": [1.0, None]}, "2": "/a"}
    assert verify_file(tmp_path / "s" / EVENTS_FILE).ok


def test_one_writer_per_session(tmp_path: Path) -> None:
    session = _write(tmp_path)
    first = FileJournal(session)
    with pytest.raises(JournalError, match="another gonogo process"):
        FileJournal(session)
    assert len(read_events(session)) == 4  # readers are never locked out
    first.close()
    FileJournal(session).close()


# -- journals recorded by earlier versions of gonogo must still read, fold and verify --
FIXTURES = Path(__file__).parent / "fixtures" / "journals"


def _fixture(name: str) -> tuple[list[Event], RolloutState]:
    session = FIXTURES / name
    assert verify_file(session / EVENTS_FILE).ok
    events = read_events(session)
    return events, fold(events, load_plan(session / "plan.toml"))


def test_v1_stable_journal_folds_to_the_recorded_rollout() -> None:
    events, s = _fixture("v1-stable")
    assert len(events) == 170 and s.events == 170 and s.last_hash == events[-1].hash
    assert s.phase == Phase.STABLE
    assert s.stage is not None and s.stage.id == "full"
    assert (s.weight_intended, s.weight_confirmed) == (100.0, 100.0)
    assert s.traffic_error is None and s.target_index is None
    assert s.forced == ("change window closes at 18:00; SRE approved",)
    assert s.driver == "grace" and s.speed == 2.0  # a second driver resumed at 2x
    assert s.owners["security"] == "Alan Turing"
    assert {k: (v.actor, v.note) for k, v in s.signoffs.items()} == {
        "smoke-signoff": ("ada", "checkout and login by hand: fine")}
    assert {k: str(v.status) for k, v in s.results.items()} == {
        "unit": "pass", "smoke": "pass", "smoke-signoff": "pass"}
    assert {k: v.state for k, v in s.evaluations.items()} == {"http-5xx": "ok", "failed-writes": "ok"}
    assert [(r.id, r.status) for r in s.runbook] == [
        ("shift", "pending"), ("health", "pending"), ("disable", "pending"), ("incident", "pending")]
    assert s.rollbacks == 0 and s.stop_reason is None


def test_v1_rollback_journal_folds_to_the_recorded_rollback() -> None:
    events, s = _fixture("v1-rollback")
    assert len(events) == 74 and s.events == 74
    assert s.phase == Phase.ROLLED_BACK and s.stage is None
    assert (s.weight_intended, s.weight_confirmed) == (0.0, 0.0)
    assert s.rollbacks == 1 and s.stop_reason == "5xx confirmed in the logs"
    assert not s.rollback_proposed and not s.trip_pending
    assert s.evaluations["http-5xx"].state == "tripped"
    assert [(r.id, r.status, r.attempts) for r in s.runbook] == [
        ("shift", "done", 1), ("health", "done", 1), ("disable", "skipped", 2), ("incident", "done", 1)]
    assert s.runbook[2].detail == "skipped by ada: flags removed by hand"
    assert s.reconciliation == {"ledger": True}
    assert s.signoffs == {}
