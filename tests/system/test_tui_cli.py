"""`gonogo tui` / `gonogo demo` refuse bad input with a clear message and exit 2, before any screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def gonogo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gonogo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_tui_with_a_broken_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[release]\nname = "x"\ncommit = "y"\n[[gates]]\nid = "g"\ntitle = "G"\n'
                   '[[gates.checks]]\nid = "c"\ntitle = "C"\nkind = "htp_health"\n')
    out = gonogo("tui", "--config", str(bad), cwd=tmp_path)
    assert out.returncode == 2
    assert "gates[0].checks[0].kind" in out.stderr and "Traceback" not in out.stderr


def test_tui_session_that_is_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "session").write_text("not a directory")
    out = gonogo("tui", "--config", str(ROOT / "tests" / "fixtures" / "tui_engine.toml"), "--session",
                 str(tmp_path / "session"), cwd=tmp_path)
    assert out.returncode == 2 and "is a file" in out.stderr and "Traceback" not in out.stderr


def test_tui_refuses_a_session_of_another_release(tmp_path: Path) -> None:
    session = tmp_path / "s"
    session.mkdir()
    (session / "events.jsonl").write_text("")
    from gonogo.config import load_plan
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.journal import FileJournal

    engine = Engine(load_plan(ROOT / "tests" / "fixtures" / "tui_panel.toml"), FileJournal(session), actor="t")
    engine.start()
    engine.journal.close()
    out = gonogo("tui", "--config", str(ROOT / "tests" / "fixtures" / "tui_engine.toml"), "--session", str(session),
                 cwd=tmp_path)
    assert out.returncode == 2 and "is for release 'monorepo-2026.02.19'" in out.stderr


def test_demo_unknown_scenario_exits_2_with_a_suggestion(tmp_path: Path) -> None:
    out = gonogo("demo", "--scenario", "canary-regresion", cwd=tmp_path)
    assert out.returncode == 2
    assert "canary-regression" in out.stderr and "Traceback" not in out.stderr
