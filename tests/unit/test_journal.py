"""The session journal: hash chain, canonical lines, torn tails, exports."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import msgspec
import pytest

from gonogo.config import load_plan
from gonogo.model import Status
from gonogo.rollout.events import (
    KINDS,
    AdvanceConfirmed,
    ChainKeyed,
    CheckRecorded,
    CheckResultRecord,
    GuardFailed,
    NotifyFailed,
    OwnerSet,
    Paused,
    ProposalDeclined,
    RunbookStepStarted,
    Samples,
    SessionStarted,
    SignedOff,
    WeightDrifted,
    WeightVerified,
    encode,
)
from gonogo.rollout.export import describe, line, to_json, to_toml
from gonogo.rollout.journal import (
    EVENTS_FILE,
    Event,
    FileJournal,
    JournalError,
    canonical,
    chain_hash,
    make_event,
    read_events,
    verify_file,
)
from gonogo.rollout.state import Phase, RolloutState, fold


def _write(tmp_path: Path, n: int = 4) -> Path:
    j = FileJournal(tmp_path / "s")
    j.append(SessionStarted(release="r-1", speed=1.0), "ada", 1000.0)
    for i in range(1, n):
        j.append(CheckRecorded(result=CheckResultRecord(id=f"c{i}", status=Status.PASS, summary="é ✓")),
                 "ada@host", 1000.0 + i)
    j.close()
    return tmp_path / "s"


def test_append_and_reopen_keep_the_chain(tmp_path: Path) -> None:
    session = _write(tmp_path)
    j = FileJournal(session)
    events = j.read()
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[1].prev_hash == events[0].hash
    assert events[2].data["result"]["summary"] == "é ✓"
    assert events[2].body == CheckRecorded(result=CheckResultRecord(id="c2", status=Status.PASS,
                                                                    summary="é ✓"))
    e5 = j.append(OwnerSet(role="sre", name="Grace"), "grace", 2000.0)
    assert e5.seq == 5 and e5.prev_hash == events[-1].hash
    j.close()
    assert verify_file(session / EVENTS_FILE).ok
    assert [e.kind for e in read_events(session)][-1] == "owner_set"


def test_a_long_session_does_not_keep_its_events_in_memory(tmp_path: Path) -> None:
    """A 12-hour canary is ~9,000 polls: the journal keeps the last event (what the next
    one chains to), and reads the rest back from its file when asked."""
    import gc
    import tracemalloc

    j = FileJournal(tmp_path / "s")
    j.append(SessionStarted(release="r-1", speed=1.0), "ada", 1000.0)
    poll = {f"m{i}": (0.001 * i, 0.002 * i) for i in range(7)}
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2000):
            j.append(Samples(values=poll, requests={"m0": float(n)}), "ada", 1001.0 + n)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 100_000, f"{kept} bytes kept after 2,000 polls"  # as objects: ~5 MB
    events = j.read()
    assert [e.seq for e in events] == list(range(1, 2002))
    assert events[-1].body == Samples(values=poll, requests={"m0": 1999.0})
    assert j.append(OwnerSet(role="sre", name="Grace"), "grace", 9000.0).prev_hash == events[-1].hash
    j.close()
    assert verify_file(tmp_path / "s" / EVENTS_FILE).ok
    assert [e.seq for e in j.read()][-2:] == [2001, 2002]  # a closed journal still reads back


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
    j.append(Paused(reason="lunch"), "ada", 3000.0)
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
    live = j.append(Samples(values={"x": (float("nan"), 1.0), "y": None}, errors={"y": "timeout"}),
                    "ada", 1.0)
    j.close()
    (event,) = read_events(tmp_path / "s")
    assert event.data == {"values": {"x": [None, 1.0], "y": None}, "errors": {"y": "timeout"}}
    assert event.body == live.body == Samples(values={"x": (None, 1.0), "y": None},
                                              errors={"y": "timeout"})
    assert verify_file(tmp_path / "s" / EVENTS_FILE).ok


def _forge(session: Path, kind: str, data: dict[str, object]) -> None:
    """Append a well-chained line with any kind and data (a newer gonogo, or a hand edit
    that kept the chain)."""
    path = session / EVENTS_FILE
    last = json.loads(path.read_bytes().splitlines()[-1])
    seq, time, prev = last["seq"] + 1, last["time"] + 1, last["hash"]
    line = {"seq": seq, "time": time, "actor": "ada", "kind": kind, "data": data, "prev": prev,
            "hash": chain_hash(seq, time, "ada", kind, data, prev)}
    with open(path, "a", encoding="ascii") as fh:
        fh.write(canonical(line) + "\n")


def test_an_unknown_kind_is_an_error_naming_the_line(tmp_path: Path) -> None:
    session = _write(tmp_path)  # 4 events
    _forge(session, "stop_tripped", {"metric": "http-5xx"})
    assert verify_file(session / EVENTS_FILE).ok  # the chain is intact; the kind is not ours
    with pytest.raises(JournalError, match=r"events\.jsonl line 5: unknown event kind 'stop_tripped'"):
        read_events(session)
    with pytest.raises(JournalError, match=r"events\.jsonl line 5: unknown event kind 'stop_tripped'"):
        FileJournal(session)
    FileJournal(tmp_path / "other").close()  # a refused session is not left locked
    with pytest.raises(JournalError, match="line 5"):
        FileJournal(session)


def test_data_of_the_wrong_shape_is_an_error_naming_the_line_and_field(tmp_path: Path) -> None:
    session = _write(tmp_path)
    _forge(session, "stage_entered", {"index": "first", "stage": "canary", "weight": 5.0})
    with pytest.raises(JournalError, match=r"line 5: stage_entered: Expected `int`, got `str` - at `\$\.index`"):
        read_events(session)


def test_fields_missing_from_an_older_journal_take_their_defaults(tmp_path: Path) -> None:
    session = _write(tmp_path)
    _forge(session, "advance_confirmed", {"to_index": 0})
    _forge(session, "runbook_step_started", {"step": "shift"})
    advance, step = read_events(session)[-2:]
    assert advance.body == AdvanceConfirmed(to_index=0, from_index=-1, forced=False, reason="")
    assert step.body == RunbookStepStarted(step="shift", action="")
    assert advance.data == {"to_index": 0}  # the record itself is untouched (the hash covers it)


def test_one_writer_per_session(tmp_path: Path) -> None:
    session = _write(tmp_path)
    first = FileJournal(session)
    with pytest.raises(JournalError, match="another gonogo process"):
        FileJournal(session)
    assert len(read_events(session)) == 4  # readers are never locked out
    first.close()
    FileJournal(session).close()


# -- journals recorded by earlier versions of gonogo must still read, fold and verify --
FIXTURES = Path(__file__).parents[1] / "fixtures" / "journals"


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


def test_the_v1_fixtures_cover_every_event_kind_and_re_encode_byte_for_byte() -> None:
    events = _fixture("v1-stable")[0] + _fixture("v1-rollback")[0]
    assert {e.kind for e in events} == set(KINDS) - SINCE_V1

    def added_since(e: Event) -> dict[str, object]:  # fields added later read as their defaults
        fields = {f.name: f.default for f in msgspec.structs.fields(type(e.body))}
        return {k: v for k, v in encode(e.body).items() if k not in e.data and v == fields[k]}

    assert [e.seq for e in events if {**e.data, **added_since(e)} != encode(e.body)] == []


# kinds the v1 code could not write: keyed sessions, guards, declined proposals,
# notifications, notes, pause requests, the reality check and stalls came later
SINCE_V1 = {"chain_keyed", "guard_failed", "proposal_declined", "notify_failed", "note",
            "pause_requested", "weight_drifted", "weight_verified",
            "stalled"}

DESCRIBED = {  # one recorded event of each kind and the line the log shows for it
    "session_started": "session started for shop-2.4.0 (9f1c2ab), speed x1",
    "session_resumed": "session resumed, speed x2",
    "check_result": "check smoke-signoff: pending - awaiting sign-off by an operator",
    "owner_set": "owner security = Alan Turing",
    "signed_off": "signed off smoke-signoff: checkout and login by hand: fine",
    "advance_confirmed": "advance start -> canary confirmed",
    "traffic_intended": "traffic: shifting canary to 5% (advance, canary)",
    "traffic_confirmed": "traffic: canary at 5% confirmed (router exited 0: canary 5%)",
    "traffic_failed": "traffic: shift to 5% FAILED: router exited 1: upstream busy",
    "stage_entered": "stage canary entered at 5%",
    "hold_completed": "hold of stage canary completed",
    "paused": "paused: waiting for the SRE to join",
    "resumed": "resumed: SRE here",
    "samples": "metrics (canary/baseline): failed-writes=0/0, http-5xx=0.002/0.002",
    "criterion_tripped": "STOP http-5xx: stop criterion http-5xx (5xx ratio): canary 0.05 vs "
                         "baseline 0.01 (> 2x = 0.02) for 5m of 5m",
    "rollback_proposed": "rollback proposed: stop criterion http-5xx (5xx ratio): canary 0.05 vs "
                         "baseline 0.01 (> 2x = 0.02) for 5m of 5m",
    "rollback_started": "ROLLBACK started (operator): 5xx confirmed in the logs",
    "runbook_step_started": "runbook shift: started",
    "runbook_step_finished": "runbook shift: done - all traffic on shop-2.3.7 (canary 0%)",
    "runbook_decision": "runbook disable: operator decided retry (flag store back)",
    "rollback_finished": "rollback finished: canary traffic at 0%",
    "reconciled": "reconciliation ledger marked done",
    "release_stable": "release shop-2.4.0 marked STABLE",
}


def test_every_kind_describes_itself_in_one_line() -> None:
    events = _fixture("v1-stable")[0] + _fixture("v1-rollback")[0]
    first = {}
    for e in events:
        first.setdefault(e.kind, e)
    assert set(DESCRIBED) == set(KINDS) - SINCE_V1
    assert describe(make_event(2, 0.0, "ada", ChainKeyed(key_ref="env:GONOGO_JOURNAL_KEY"), "0" * 64)) == (
        "journal chain keyed (hmac-sha256, key env:GONOGO_JOURNAL_KEY)")
    assert describe(make_event(3, 0.0, "gonogo", GuardFailed(
        check="open-p0-p1", stage="canary", status="fail", summary="1 open P0: INC-7",
        action="rollback"), "0" * 64)) == (
        "GUARD open-p0-p1 fail at stage canary: 1 open P0: INC-7 -> rollback")
    assert describe(make_event(4, 0.0, "ada", ProposalDeclined(
        reason="known noisy dependency", metric="http-5xx", value=0.02, snooze_s=300.0), "0" * 64)) == (
        "rollback declined (http-5xx): known noisy dependency; not proposed again for 5m "
        "unless it gets worse")
    assert describe(make_event(5, 0.0, "gonogo", SignedOff(
        check_id="smoke", role="release_manager", automatic=True, rule="--auto-signoff",
        note="rehearsal"), "0" * 64)) == (
        "signed off smoke AUTOMATICALLY (--auto-signoff) as release_manager: no person signed: "
        "rehearsal")
    failed = NotifyFailed(target="release-channel", target_kind="slack", event="criterion_tripped",
                          attempts=4, error="HTTP 500: rollup_error")
    assert describe(make_event(3, 0.0, "ada", failed, "0" * 64)) == (
        "notification criterion_tripped to release-channel NOT DELIVERED after 4 attempts: "
        "HTTP 500: rollup_error")
    drifted = WeightDrifted(journal=5.0, actual=0.0, where="gateway", stage="canary",
                            to_stage="ramp-25", detail="GET http://127.0.0.1:18081/admin/state: weight 0")
    assert describe(make_event(6, 0.0, "gonogo", drifted, "0" * 64)) == (
        "weight drifted: journal 5 %, gateway 0 % (GET http://127.0.0.1:18081/admin/state: weight 0); "
        "reality check held the advance to ramp-25: nothing was shifted")
    assert describe(make_event(7, 0.0, "gonogo", WeightVerified(weight=5.0, where="gateway"), "0" * 64)) == (
        "weight verified: gateway at 5 % as the journal says")
    assert {k: describe(first[k]) for k in DESCRIBED} == DESCRIBED
    for e in events:
        text = describe(e)
        assert text and "\n" not in text and len(text) <= 240, (e.kind, text)
    assert line(first["stage_entered"]) == "2027-01-15T08:00:30.000Z #12 ada: stage canary entered at 5%"
    forced = next(e for e in events if e.kind == "advance_confirmed" and e.data["forced"])
    assert describe(forced) == ("advance half -> full confirmed FORCED: change window closes at "
                                "18:00; SRE approved")
    outage = next(e for e in events if e.kind == "samples" and e.data["errors"])
    assert describe(outage) == "metrics (canary/baseline): failed-writes=n/a, http-5xx=0.002/0.002"


def test_verify_fast_path_agrees_with_the_full_one_on_every_edit(tmp_path: Path) -> None:
    """``verify`` hashes a line's own text and judges its canonical form only when the
    hash does not match; reading (which parses every record) always goes the whole way.
    Both must reach the same verdict, and name the same event and problem, for edits
    of every kind: a value, whitespace, key order, a float's spelling, a hash."""
    from gonogo.rollout.journal import _file_lines, _verify

    session = _write(tmp_path, n=4)
    path = session / EVENTS_FILE
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    edits = {
        "value": lines[2].replace(b'"c2"', b'"c7"'),
        "space": lines[2].replace(b'"kind":', b'"kind": '),
        "order": lines[2].replace(b'{"actor":"ada@host",', b'{').replace(b'"time":', b'"actor":"ada@host","time":'),
        "float": lines[2].replace(b'"time":1002.0', b'"time":1.002e3'),
        "hash": lines[2][:-3] + b'0"}\n',
        "del": lines[2].replace(b'"c2"', b'"c\x7f"'),
    }
    for what, edited in edits.items():
        assert edited != lines[2], what
        path.write_bytes(b"".join([*lines[:2], edited, *lines[3:]]))
        fast = verify_file(path)
        full = _verify(_file_lines(path), key=None, key_ref="", head=None, on_record=lambda r: None)
        assert not fast.ok and fast.first_bad == 3, what
        assert (fast.first_bad, fast.problem) == (full.first_bad, full.problem), what
    path.write_bytes(b"".join([*lines[:2], edits["space"], *lines[3:]]))
    assert "edited (not canonical)" in verify_file(path).problem
    path.write_bytes(original)
    assert verify_file(path).ok and verify_file(path).head_hash == read_events(session)[-1].hash


def test_streamed_exports_are_the_documents_written_whole() -> None:
    """``log export`` writes the JSON and TOML a piece at a time (memory independent of
    the journal's length): the text is what ``json`` and tomlkit write for the whole
    document, so a reader cannot tell."""
    import tomlkit

    from gonogo.rollout.export import Summary, _header, _record, _tomlable, json_chunks, toml_chunks
    from gonogo.untrusted import json_safe, toml_safe

    for events in (_fixture("v1-stable")[0], _fixture("v1-rollback")[0], []):
        check = verify_file(FIXTURES / "v1-stable" / EVENTS_FILE)
        summary = Summary.of(events)
        whole = {"session": _header(summary, check), "events": [_record(e) for e in events]}
        assert "".join(json_chunks(iter(events), summary, check)) == \
            json_safe(json.dumps(whole, indent=2, ensure_ascii=False)) + "\n"
        doc = tomlkit.document()
        doc.add(tomlkit.comment("gonogo session log export"))
        doc["session"] = _header(summary, check)
        records = tomlkit.aot()
        for e in events:
            records.append(tomlkit.item(_tomlable(_record(e))))
        doc["events"] = records
        assert "".join(toml_chunks(iter(events), summary, check)) == toml_safe(tomlkit.dumps(doc))
        streamed = Summary()
        for e in events:
            streamed.add(e.to_dict())
        assert streamed == summary  # the header summed up from records as they stream past
