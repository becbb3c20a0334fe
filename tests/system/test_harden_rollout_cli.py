"""`gonogo rollout` when the traffic driver misbehaves or is manual: it stops, says
why, never loops on the checklist, never journals a shift nobody made, and every stop
prints the journal head to write down."""

from __future__ import annotations

import re
import time
from pathlib import Path

from gonogo.rollout.journal import read_events, verify_file
from support.rollout import run_cli, write_plan

HEAD = re.compile(r"journal head #(\d+) ([0-9a-f]{64})")


def plan_with_driver(tmp: Path, command: str, *, timeout: str = "30s", driver: str = "command") -> Path:
    path = write_plan(tmp, driver=driver)
    text = path.read_text()
    text = re.sub(r'command = \["sh", "-c", "echo \{weight\} >> [^"]*"\]',
                  lambda _m: f'command = {command}\ntimeout = "{timeout}"', text)
    path.write_text(text)
    return path


async def test_a_failing_driver_stops_after_its_retries_without_rerunning_the_checklist(tmp_path: Path) -> None:
    plan = plan_with_driver(tmp_path, '["sh", "-c", "echo router says no >&2; exit 1"]')
    session = tmp_path / "s"
    rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                 "--speed", "100", timeout=60)
    assert rc == 1, err
    assert "the traffic driver failed 3 times in a row" in err and "router says no" in err
    events = read_events(session)
    kinds = [e.kind for e in events]
    assert kinds.count("traffic_failed") == 3 and "stage_entered" not in kinds
    assert kinds.count("check_result") == 2  # the checklist ran once (unit, smoke), not per retry
    assert len(events) < 20
    head = HEAD.search(err)
    assert head is not None and int(head.group(1)) == len(events) and head.group(2) == events[-1].hash
    assert verify_file(session / "events.jsonl", head=head.group(2)).ok


async def test_a_hanging_driver_is_cut_off_by_its_timeout_and_stops_too(tmp_path: Path) -> None:
    plan = plan_with_driver(tmp_path, '["sleep", "30"]', timeout="1s")
    session = tmp_path / "s"
    started = time.monotonic()
    rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                 "--speed", "100", timeout=60)
    assert rc == 1 and "failed 3 times in a row" in err, err
    assert time.monotonic() - started < 20  # three 1 s timeouts and the retries' pauses
    assert [e.kind for e in read_events(session)].count("traffic_failed") == 3


async def test_yes_never_confirms_a_manual_shift(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, driver="manual")
    session = tmp_path / "s"
    rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                 "--speed", "100", timeout=60)
    assert rc == 1
    assert "waiting for a manual traffic shift to 5%" in err
    kinds = [e.kind for e in read_events(session)]
    assert "traffic_intended" in kinds and "traffic_confirmed" not in kinds
    assert "stage_entered" not in kinds
    assert HEAD.search(err) is not None


async def test_rollout_lines_show_a_drivers_escape_sequences_instead_of_acting_on_them(
    tmp_path: Path,
) -> None:
    plan = plan_with_driver(
        tmp_path, r'''["sh", "-c", "printf '\\033[2J\\033[H\\033[31;1mPWNED [/] \\233c'; exit 1"]''')
    rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(tmp_path / "s"),
                                 "--yes", "--auto-signoff", "--speed", "100", timeout=60)
    assert rc == 1
    shown = [ln for ln in (out + err).splitlines() if "PWNED" in ln]
    assert shown, out + err
    for ln in shown:
        assert "\x1b" not in ln and "\x9b" not in ln and "\\x1b[2J" in ln and "[/]" in ln
