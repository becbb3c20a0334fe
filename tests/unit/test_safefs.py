"""Session and incident directories an attacker prepared: refused, never written through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gonogo.safefs import UnsafePath, open_private_dir, write_private_file

NOBODY = 65534


def test_fresh_directory_is_created_private(tmp_path: Path) -> None:
    target = tmp_path / "a" / "session"
    with open_private_dir(target) as d:
        fd = d.open("events.jsonl", os.O_RDWR | os.O_CREAT | os.O_APPEND)
        os.close(fd)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert stat.S_IMODE((target / "events.jsonl").stat().st_mode) == 0o600


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "session"
    link.symlink_to(real)
    with pytest.raises(UnsafePath, match="symbolic link"):
        open_private_dir(link)


def test_world_writable_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o777)
    with pytest.raises(UnsafePath, match=r"writable by others .*chmod go-w"):
        open_private_dir(d)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a directory to another user")
def test_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "rehearsal"
    d.mkdir(mode=0o755)
    os.chown(d, NOBODY, NOBODY)
    with pytest.raises(UnsafePath, match="owned by .*not by you"):
        open_private_dir(d)


def test_planted_link_inside_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("original\n")
    d = tmp_path / "session"
    d.mkdir(mode=0o700)
    (d / "events.jsonl.torn").symlink_to(victim)
    with open_private_dir(d) as pd, pytest.raises(UnsafePath, match="symbolic link"):
        pd.open("events.jsonl.torn", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    assert victim.read_text() == "original\n"


def test_atomic_write_replaces_a_planted_link_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir(mode=0o777)  # a shared incident folder
    (out / "incident.md").symlink_to(victim)
    write_private_file(out / "incident.md", "# incident\n")
    assert victim.read_text() == "keep me\n"
    assert not (out / "incident.md").is_symlink()
    assert (out / "incident.md").read_text() == "# incident\n"
    assert stat.S_IMODE((out / "incident.md").stat().st_mode) == 0o600
    assert [p.name for p in out.iterdir()] == ["incident.md"]  # no temporary left behind
