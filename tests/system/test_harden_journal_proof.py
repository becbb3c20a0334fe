"""A journal that proves itself to someone who did not write it.

The attacker can write the session file. Without a key they can recompute a plain
SHA-256 chain after any edit, so the tests below show what each defence catches:
the keyed chain (HMAC under ``[session] key``) and a head hash recorded elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.events import Paused, Resumed
from gonogo.rollout.journal import FileJournal, JournalError, canonical, chain_hash

ROOT = Path(__file__).resolve().parents[2]
KEY = "k3y-" + "x" * 28
PLAN = """
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "unit"
  title = "Unit tests"
  kind = "command"
  argv = ["true"]
"""


def gonogo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gonogo", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def session(tmp_path: Path, *, keyed: bool) -> Path:
    text = PLAN + ('\n[session]\nkey = "env:GONOGO_JOURNAL_KEY"\n' if keyed else "")
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(text)
    where = tmp_path / "s"
    key = KEY.encode() if keyed else None
    engine = Engine(load_plan(cfg), FileJournal(where, key=key, key_ref="env:GONOGO_JOURNAL_KEY" if keyed else ""),
                    actor="ada", clock=iter(range(1_790_000_000, 1_790_001_000)).__next__)
    engine.start()
    engine.emit(Paused(reason="lunch"))
    engine.emit(Resumed(reason="back"))
    engine.journal.close()
    return where


def rewrite(where: Path, keep: list[int], key: bytes | None = None) -> None:
    """The attacker: keep some events, renumber, recompute the chain (they have no key)."""
    lines = (where / "events.jsonl").read_text().splitlines()
    prev, out = "0" * 64, []
    for seq, n in enumerate(keep, start=1):
        obj = json.loads(lines[n - 1])
        obj.update(seq=seq, prev=prev)
        obj["hash"] = chain_hash(seq, obj["time"], obj["actor"], obj["kind"], obj["data"], prev, key)
        prev = obj["hash"]
        out.append(canonical(obj))
    (where / "events.jsonl").write_text("\n".join(out) + "\n")


def test_a_keyed_session_verifies_with_the_key_it_declared(tmp_path: Path) -> None:
    where = session(tmp_path, keyed=True)
    text = (where / "events.jsonl").read_text()
    assert KEY not in text and '"key_ref":"env:GONOGO_JOURNAL_KEY"' in text
    ok = gonogo("log", "verify", str(where), env={"GONOGO_JOURNAL_KEY": KEY})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "hmac-sha256 chain keyed by env:GONOGO_JOURNAL_KEY" in ok.stdout
    missing = gonogo("log", "verify", str(where), env={"GONOGO_JOURNAL_KEY": ""})
    wrong = gonogo("log", "verify", str(where), env={"GONOGO_JOURNAL_KEY": "not-the-key"})
    assert wrong.returncode == 1 and "hash mismatch" in wrong.stdout
    assert missing.returncode in (1, 2) and "Traceback" not in missing.stderr


def test_a_chain_recomputed_without_the_key_is_rejected(tmp_path: Path) -> None:
    where = session(tmp_path, keyed=True)
    rewrite(where, keep=[1, 3, 4])  # the key declaration dropped, plain sha256 recomputed
    forged = gonogo("log", "verify", str(where), "--key", "env:GONOGO_JOURNAL_KEY",
                    env={"GONOGO_JOURNAL_KEY": KEY})
    assert forged.returncode == 1
    assert "event 1 (session_started): content edited or chain recomputed without the key" in forged.stdout
    cfg = tmp_path / "gonogo.toml"
    with pytest.raises(JournalError, match="recomputed without the key"):
        FileJournal(where, key=KEY.encode(), key_ref="env:GONOGO_JOURNAL_KEY")
    # the rollout command refuses to resume it (exit 2) and says why
    res = gonogo("rollout", "--config", str(cfg), "--session", str(where), "--yes", "--auto-signoff",
                 env={"GONOGO_JOURNAL_KEY": KEY})
    assert res.returncode == 2 and "recomputed without the key" in res.stderr, res.stderr


def test_without_a_key_a_recomputed_chain_passes_and_says_what_that_proves(tmp_path: Path) -> None:
    where = session(tmp_path, keyed=False)
    rewrite(where, keep=[1, 2])  # the resume deleted, chain recomputed
    res = gonogo("log", "verify", str(where))
    assert res.returncode == 0
    assert "unkeyed" in res.stdout and "edits that do not recompute the chain" in res.stdout
    export = json.loads(gonogo("log", "export", str(where), "--format", "json").stdout)
    assert export["session"]["verified"] is True
    assert "unkeyed" in export["session"]["verification"]


def test_a_head_recorded_elsewhere_catches_a_cut_at_a_line_boundary(tmp_path: Path) -> None:
    where = session(tmp_path, keyed=False)
    head = json.loads((where / "events.jsonl").read_text().splitlines()[-1])["hash"]
    ok = gonogo("log", "verify", str(where), "--head", head)
    assert ok.returncode == 0 and "head #3 matches" in ok.stdout
    lines = (where / "events.jsonl").read_text().splitlines(keepends=True)
    (where / "events.jsonl").write_text("".join(lines[:2]))  # the last event cut off cleanly
    plain = gonogo("log", "verify", str(where))
    assert plain.returncode == 0  # on its own the cut journal is consistent...
    cut = gonogo("log", "verify", str(where), "--head", head)
    assert cut.returncode == 1  # ...but not with the head recorded when the rollout stopped
    assert "is not in this journal: it was cut back or rewritten" in cut.stdout
