"""Config values that only look right: an owner name that merely resembles TBD or
carries a bidi override, refused where a config is validated and where the panel
edits an owner; a file:// URL that would have been read as a local file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.rollout.engine import Engine, EngineRefused
from gonogo.rollout.journal import FileJournal
from gonogo.verdict import decide

CONFIG = """
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
[owners]
release_manager = "Ada Lovelace"
db_owner = "{name}"
"""
TRICKS = {
    "cyrillic T": "\u0422BD",
    "greek beta": "T\u0392D",
    "fullwidth": "\uff34\uff22\uff24",
    "zero width": "T\u200bBD",
    "right-to-left override": "\u202eDBT",
    "spaced": "T B D",
}


@pytest.mark.parametrize("name", TRICKS.values(), ids=TRICKS.keys())
def test_config_validate_refuses_a_name_that_only_looks_right(tmp_path: Path, name: str) -> None:
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(CONFIG.format(name=name), encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gonogo", "config", "validate", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stdout
    assert "owners.db_owner" in res.stderr and "Traceback" not in res.stderr
    assert "\u202e" not in res.stderr  # the override is named, not replayed


def test_real_names_and_plain_tbd_still_pass(tmp_path: Path) -> None:
    for name, blocks in (("Zoë Ñúñez-Łukasiewicz", False), ("Тимур Беков", False), ("tbd", True),
                         ("TBD", True)):
        cfg = tmp_path / "gonogo.toml"
        cfg.write_text(CONFIG.format(name=name), encoding="utf-8")
        plan = load_plan(cfg)
        blocking = [b.id for b in decide(plan, {}).blocking]
        assert ("owners.db_owner" in blocking) is blocks, name


async def test_the_panel_cannot_set_a_lookalike_owner(tmp_path: Path) -> None:
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(CONFIG.format(name="TBD"), encoding="utf-8")
    engine = Engine(load_plan(cfg), FileJournal(tmp_path / "s"), actor="ada")
    engine.start()
    with pytest.raises(EngineRefused, match="only looks like 'TBD'"):
        await engine.set_owner("db_owner", "\u0422BD")
    assert engine.state.owners["db_owner"] == "TBD"
    assert "\u0422" not in cfg.read_text(encoding="utf-8")
    engine.journal.close()


def test_a_file_url_is_not_read_as_a_reference(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY----- s3cr3t")
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(f'[release]\nname = "x"\ncommit = "a"\n[[services]]\nname = "auth"\n'
                   f'health_url = "file://{secret}"\n', encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gonogo", "check", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "services[0].health_url: file:// is not a URL scheme" in res.stderr
    assert "s3cr3t" not in res.stdout + res.stderr
