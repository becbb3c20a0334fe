"""set_owner(): the owners editor writes one value back and nothing else changes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gonogo.config import ConfigError, load_plan, set_owner

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
# Release plan for the February train.   (a comment the owners editor must keep)
[release]
name    = "feb-train"     # aligned on purpose
commit  = "0cab782"

# Fill before release: any TBD blocks GO.
[owners]  # roles -> people
release_manager = "TBD"   # the one who presses go
backend_oncall  = 'TBD'
security_approver = "TBD"

[[gates]]
id = "ready"
title = "Ready"

  [[gates.checks]]   # indented on purpose
  id = "signoff"
  title = "Smoke signed off"
  kind = "manual"
  who = "release_manager"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gonogo.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_only_the_owner_value_changes(config: Path) -> None:
    set_owner(config, "release_manager", "Ada Lovelace")
    expected = CONFIG.replace(
        'release_manager = "TBD"   # the one',
        'release_manager = "Ada Lovelace"   # the one',
    )
    assert config.read_text(encoding="utf-8") == expected
    assert load_plan(config).owners["release_manager"] == "Ada Lovelace"


def test_successive_edits_keep_everything_else(config: Path) -> None:
    set_owner(config, "backend_oncall", "Bob")
    set_owner(config, "security_approver", "Eve")
    set_owner(config, "backend_oncall", "Grace")
    text = config.read_text(encoding="utf-8")
    assert text.splitlines()[0] == CONFIG.splitlines()[0]
    assert "[owners]  # roles -> people" in text
    assert 'backend_oncall  = "Grace"' in text
    assert 'security_approver = "Eve"' in text
    assert '  [[gates.checks]]   # indented on purpose' in text
    # line count and order unchanged: the edits replaced values in place
    assert len(text.splitlines()) == len(CONFIG.splitlines())
    owners = load_plan(config).owners
    assert list(owners) == ["release_manager", "backend_oncall", "security_approver"]


def test_a_new_role_is_appended_to_the_owners_table(config: Path) -> None:
    set_owner(config, "frontend_oncall", "Linus")
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG.split("[[gates]]")[0].rstrip("\n"))
    owners = load_plan(config).owners
    assert owners["frontend_oncall"] == "Linus"
    assert list(owners)[-1] == "frontend_oncall"


def test_a_file_without_owners_gains_the_table(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    body = '# keep me\n[release]\nname = "r"\ncommit = "c"\n'
    path.write_text(body)
    set_owner(path, "release_manager", "Ada")
    text = path.read_text()
    assert text.startswith(body)
    assert load_plan(path).owners == {"release_manager": "Ada"}


def test_the_file_mode_is_kept_and_no_temp_file_is_left(config: Path) -> None:
    os.chmod(config, 0o640)
    set_owner(config, "release_manager", "Ada")
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert sorted(p.name for p in config.parent.iterdir()) == ["gonogo.toml"]


def test_the_write_is_atomic_by_rename(config: Path) -> None:
    # os.replace gives the path a new inode; an in-place write would keep the old one.
    # A reader holding the old file open still sees the complete old text.
    before = config.stat().st_ino
    with open(config, encoding="utf-8") as reader:
        set_owner(config, "release_manager", "Ada")
        assert reader.read() == CONFIG
    assert config.stat().st_ino != before


def test_a_failed_write_leaves_the_original_untouched(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        set_owner(config, "release_manager", "Ada")
    assert config.read_text(encoding="utf-8") == CONFIG
    assert sorted(p.name for p in config.parent.iterdir()) == ["gonogo.toml"]


def test_a_symlinked_config_stays_a_symlink(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(config)
    set_owner(link, "release_manager", "Ada")
    assert link.is_symlink()
    assert load_plan(config).owners["release_manager"] == "Ada"


def test_crlf_and_bom_survive(tmp_path: Path) -> None:
    path = tmp_path / "win.toml"
    original = "\ufeff" + CONFIG.replace("\n", "\r\n")
    path.write_bytes(original.encode("utf-8"))
    set_owner(path, "release_manager", "Ada")
    raw = path.read_bytes().decode("utf-8")
    assert raw == original.replace('release_manager = "TBD"', 'release_manager = "Ada"')


@pytest.mark.parametrize(
    ("role", "name"),
    [("release_manager", ""), ("release_manager", "   "), ("", "Ada"), ("rm", "Ada\nBob")],
)
def test_bad_owner_values_are_refused(config: Path, role: str, name: str) -> None:
    with pytest.raises(ValueError):
        set_owner(config, role, name)
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_broken_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[owners\nrm = 'x'\n")
    with pytest.raises(ConfigError) as err:
        set_owner(path, "rm", "Ada")
    assert "TOML syntax error" in str(err.value)
    assert path.read_text() == "[owners\nrm = 'x'\n"


def test_the_monorepo_sample_round_trips(tmp_path: Path) -> None:
    original = (ROOT / "sample-configs" / "monorepo.toml").read_text(encoding="utf-8")
    path = tmp_path / "monorepo.toml"
    path.write_text(original, encoding="utf-8")
    roles = list(load_plan(path).owners)
    assert roles, "the sample has an ownership matrix"
    set_owner(path, roles[0], "Ada Lovelace")
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert len(changed) == 1
    assert changed[0][1].startswith(f'{roles[0]} = "Ada Lovelace"')
