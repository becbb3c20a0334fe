"""A disk that fills up in the middle of a failing canary (a real, tiny tmpfs).

The journal cannot take another line at the moment a stop criterion trips. gonogo
still shifts the canary to 0 % and says so, keeps the journal whole, and once space
returns the session resumes and records the rollback.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gonogo.rollout.journal import JournalError, read_events, verify_file
from gonogo.rollout.state import Phase
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:  # a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def weights(tmp: Path) -> list[str]:
    return (tmp / "weights.log").read_text().split()


async def test_a_full_disk_during_a_failing_canary_still_takes_traffic_to_zero(
    tmp_path: Path, small_disk: Path
) -> None:
    clock, source = Clock(), ScriptedSource(HEALTHY)
    plan = write_plan(tmp_path)
    session = small_disk / "s"
    engine = make_engine(plan, session, clock, source)
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 60)
    assert engine.state.weight_confirmed == 5.0 and weights(tmp_path) == ["5"]
    filler = fill(small_disk)
    source.values["failed-writes"] = (3.0, 0.0)  # the canary starts failing writes
    clock.advance(15)
    with pytest.raises(JournalError) as refused:
        await engine.tick()
    message = str(refused.value)
    assert "No space left on device" in message
    assert weights(tmp_path) == ["5", "0"]
    recorded = [e for e in read_events(session) if e.kind == "traffic_confirmed"]
    if recorded[-1].data["weight"] != 0.0:
        # the disk filled before the runbook's shift was recorded: the fail-safe shifted
        # and says so, since the journal cannot
        assert message.startswith("FAIL-SAFE: cannot write to"), message
        assert "stop criterion failed-writes" in message and "traffic shifted to 0%" in message
    # else the disk's last page still held the runbook's shift to 0 %: it is on the record
    assert verify_file(session / "events.jsonl").ok  # no partial line left behind
    await engine.aclose()

    filler.unlink()  # space again: the session resumes and records the rollback
    engine = make_engine(plan, session, clock, source)
    engine.start(speed=1.0)
    await engine.recover()
    await poll_for(engine, clock, 15, until=lambda: engine.state.phase != Phase.HOLDING)
    assert engine.state.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
    assert engine.state.weight_confirmed == 0.0
    assert verify_file(session / "events.jsonl").ok
    await engine.aclose()


def test_resuming_on_a_still_full_disk_is_a_message_not_a_traceback(tmp_path: Path, small_disk: Path) -> None:
    plan = write_plan(tmp_path)
    session = small_disk / "s"
    first = subprocess.run([sys.executable, "-m", "gonogo", "rollout", "--config", str(plan),
                            "--session", str(session), "--speed", "1000"],
                           capture_output=True, text=True, timeout=60, input="")
    assert (session / "events.jsonl").exists(), first.stderr
    fill(small_disk)  # the journal's last page may still hold a few lines: --yes writes more
    res = subprocess.run([sys.executable, "-m", "gonogo", "rollout", "--config", str(plan),
                          "--session", str(session), "--speed", "1000", "--yes"],
                         capture_output=True, text=True, timeout=60, input="")
    assert res.returncode != 0
    assert "Traceback" not in res.stderr and "No space left on device" in res.stderr, res.stderr
    assert verify_file(session / "events.jsonl").ok
