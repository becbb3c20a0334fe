"""Demo folders and resume hints that work: a `…/journal` path is never the start of a
nested `journal/journal`, `tui` refuses a demo folder with the command that resumes it,
and a demo that does not start leaves no folder behind. (The hint printed once on quit,
and a folder kept only while a rollout is under way: tests/system/test_e2e_tmux.py and
test_demo_anywhere_tmux.py, in a real terminal.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gonogo.cli.tui import demo_folder

ROOT = Path(__file__).resolve().parents[2]


def gonogo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gonogo", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env=env)


def a_demo_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "gonogo-demo-x"
    (folder / "journal").mkdir(parents=True)
    (folder / "journal" / "events.jsonl").write_text("")
    (folder / "sandbox.toml").write_text((ROOT / "sample-configs" / "sandbox.toml").read_text())
    return folder


def test_the_demos_journal_path_is_taken_for_its_folder(tmp_path: Path) -> None:
    folder = a_demo_folder(tmp_path)
    assert demo_folder(str(folder / "journal")) == (folder, False)
    assert demo_folder(str(folder)) == (folder, False)
    assert not (folder / "journal" / "journal").exists()


def test_demo_refuses_a_journal_that_belongs_to_no_demo(tmp_path: Path) -> None:
    session = tmp_path / "sessions" / "shop"
    session.mkdir(parents=True)
    (session / "events.jsonl").write_text("")
    out = gonogo("demo", "--session", str(session), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert f"--session {session} is a session journal, not a demo folder" in out.stderr
    assert f"gonogo tui --config CONFIG --session {session}" in out.stderr
    assert not (session / "journal").exists() and "Traceback" not in out.stderr


def test_tui_refuses_a_demo_folder_with_the_command_that_resumes_it(tmp_path: Path) -> None:
    folder = a_demo_folder(tmp_path)
    out = gonogo("tui", "--config", str(folder / "sandbox.toml"), "--session", str(folder), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "is a demo folder" in out.stderr
    assert f"resume the demo with: gonogo demo --session {folder}" in out.stderr
    assert not (folder / "events.jsonl").exists(), "a second session was started beside the demo's"


def test_a_demo_that_does_not_start_leaves_no_folder(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    broken = tmp_path / "broken.toml"
    broken.write_text('[release]\nname = "x"\ncommit = "y"\n[settings]\nconcurency = 2\n')
    out = gonogo("demo", "--config", str(broken), cwd=tmp_path, env={**os.environ, "TMPDIR": str(temp)})
    assert out.returncode == 2 and "settings.concurency" in out.stderr, out.stderr
    assert "removed (the demo did not start)" in out.stderr
    assert list(temp.iterdir()) == [], "the demo's temp folder stayed behind"
