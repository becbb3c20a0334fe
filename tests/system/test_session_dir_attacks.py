"""A session or incident directory another local user prepared, attacked for real.

The attacker is a second Unix user (``nobody``, when the tests run as root and can
switch to it) working in a shared sticky directory like ``/tmp``; the operator runs
the real ``gonogo`` commands. Whatever the attacker planted, gonogo refuses the
directory with a message that says why, and the operator's other files are untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.incident import build_incident, write_incident
from gonogo.rollout.journal import FileJournal

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "sample-configs" / "minimal.toml"
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to a second user needs root")


def gonogo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gonogo", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def as_nobody(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a child process as the other user (the attacker)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the attacker's setup failed"


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A world-writable sticky directory, like /tmp (pytest's own tmp_path is private
    to the operator, so the attacker could not reach it)."""
    tmp = Path(tempfile.mkdtemp(prefix="gonogo-shared-", dir="/tmp"))
    tmp.chmod(0o1777)
    yield tmp
    shutil.rmtree(tmp)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    rc = home / ".bashrc"
    rc.write_text("export PATH=/usr/bin\n")
    os.chmod(home, 0o755)  # the attacker can name the file, not write it
    return rc


def incident(session: Path) -> dict[str, Any]:
    plan = load_plan(CONFIG)
    engine = Engine(plan, FileJournal(session), actor="ada")
    engine.start()
    engine.journal.close()
    return build_incident(plan, engine.events())


def journal_refused(session: Path) -> str:
    res = gonogo("rollout", "--config", str(CONFIG), "--session", str(session), "--yes", "--auto-signoff")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    return res.stderr


@as_root
def test_a_directory_pre_created_by_another_user_is_refused(shared_tmp: Path, victim: Path) -> None:
    session = shared_tmp / "rehearsal"

    def plant() -> None:
        session.mkdir(mode=0o755)
        (session / "events.jsonl").symlink_to(victim)
        (session / "events.jsonl.torn").symlink_to(victim)

    as_nobody(plant)
    why = journal_refused(session)
    assert f"refusing session {session}" in why and "not by you" in why
    assert victim.read_text() == "export PATH=/usr/bin\n"


@as_root
def test_a_torn_tail_is_never_set_aside_through_a_planted_link(shared_tmp: Path, victim: Path) -> None:
    # the operator's own session, left group-writable; a crash left a torn last line
    session = shared_tmp / "mine"
    engine = Engine(load_plan(CONFIG), FileJournal(session), actor="ada")
    engine.start()
    engine.journal.close()
    with open(session / "events.jsonl", "ab") as fh:
        fh.write(b'{"seq":2,"ti')
    session.chmod(0o777)

    def plant() -> None:
        (session / "events.jsonl.torn").symlink_to(victim)

    as_nobody(plant)
    why = journal_refused(session)
    assert "writable by others" in why and f"chmod go-w {session}" in why
    assert victim.read_text() == "export PATH=/usr/bin\n"
    # fixed as the message says, the session resumes and the link is still not followed
    session.chmod(0o700)
    res = gonogo("rollout", "--config", str(CONFIG), "--session", str(session), "--yes", "--auto-signoff")
    assert "is a symbolic link; refusing to follow it" in res.stderr, res.stderr
    assert victim.read_text() == "export PATH=/usr/bin\n"


def test_a_symlinked_session_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    link = tmp_path / "session"
    link.symlink_to(real)
    assert "is a symbolic link" in journal_refused(link)
    assert list(real.iterdir()) == []


def test_a_new_session_is_private(tmp_path: Path) -> None:
    session = tmp_path / "s"
    engine = Engine(load_plan(CONFIG), FileJournal(session), actor="ada")
    engine.start()
    engine.journal.close()
    assert stat.S_IMODE(session.stat().st_mode) == 0o700
    assert stat.S_IMODE((session / "events.jsonl").stat().st_mode) == 0o600


@as_root
def test_incident_files_in_a_shared_folder_are_not_written_through_planted_links(
    shared_tmp: Path, victim: Path
) -> None:
    out = shared_tmp / "incidents"
    out.mkdir(mode=0o777)
    out.chmod(0o1777)
    name = "incident-" + load_plan(CONFIG).release.name

    def plant() -> None:
        for suffix in (".md", ".md.tmp", ".json", ".json.tmp"):
            (out / f"{name}{suffix}").symlink_to(victim)

    as_nobody(plant)
    inc = incident(shared_tmp / "s")
    md, js = write_incident(inc, out)  # root may replace the attacker's names; others get EPERM
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not md.is_symlink() and not js.is_symlink()
    assert md.stat().st_uid == os.geteuid() and stat.S_IMODE(md.stat().st_mode) == 0o600
    assert (out / f"{name}.md.tmp").is_symlink()  # the planted temporaries were never used


def test_incident_files_are_private_and_replace_a_link(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "incidents"
    out.mkdir(mode=0o700)
    name = "incident-" + load_plan(CONFIG).release.name
    (out / f"{name}.md").symlink_to(victim)
    (out / f"{name}.md.tmp").symlink_to(victim)
    inc = incident(tmp_path / "s")
    md, js = write_incident(inc, out)
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not md.is_symlink() and load_plan(CONFIG).release.name in md.read_text()
    assert stat.S_IMODE(md.stat().st_mode) == 0o600 and stat.S_IMODE(js.stat().st_mode) == 0o600


def test_log_export_out_replaces_a_link_instead_of_writing_through_it(tmp_path: Path, victim: Path) -> None:
    session = tmp_path / "s"
    engine = Engine(load_plan(CONFIG), FileJournal(session), actor="ada")
    engine.start()
    engine.journal.close()
    out = tmp_path / "export.json"
    out.symlink_to(victim)
    res = gonogo("log", "export", str(session), "--format", "json", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not out.is_symlink() and '"release"' in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
