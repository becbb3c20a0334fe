"""Choosing a session's store (``cli.session.locate``) and refusing a bad one, without a
server: ``--store`` and ``[session] store`` as a user writes them, the DSN's password
never shown, a session key that is not a path. The store itself is tested against a
real PostgreSQL in ``tests/integration/test_pgstore.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gonogo.cli import main
from gonogo.cli.session import SessionRefused, default_key, locate
from gonogo.config import ConfigError
from gonogo.secrets import Redactor, SecretResolver
from support.plans import plan_from_toml

PASSWORD = "hunter2-not-for-eyes"
RELEASE = '[release]\nname = "shop 2.4.0/eu"\ncommit = "9f1c2ab"\n'


def test_a_literal_store_with_a_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_from_toml(tmp_path, RELEASE + f'[session]\nstore = "postgresql://rm:{PASSWORD}@db:5432/gonogo"\n')
    text = caught.value.render()
    assert "session.store: the URL holds a password" in text and "env:NAME" in text
    assert PASSWORD not in text


def test_a_store_that_is_no_postgresql_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"session\.store: expected a postgresql://"):
        plan_from_toml(tmp_path, RELEASE + '[session]\nstore = "sessions/shared"\n')


def test_the_config_store_is_a_reference_resolved_when_the_session_opens(tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, RELEASE + '[session]\nstore = "env:GONOGO_STORE"\n')
    resolver = SecretResolver(Redactor(), environ={
        "GONOGO_STORE": f"postgresql://rm:{PASSWORD}@db.internal:6432/releases"})
    place = locate(plan, None, resolver=resolver)
    assert place.dsn is not None
    assert place.session == default_key("shop 2.4.0/eu") == "shop_2.4.0_eu"  # the release's name, as a key
    assert place.work_dir == Path("sessions") / "shop_2.4.0_eu"
    assert place.name == "shop_2.4.0_eu in postgresql://rm@db.internal:6432/releases"
    assert place.log_args == "--store env:GONOGO_STORE shop_2.4.0_eu"
    assert place.resume_args == "--store env:GONOGO_STORE --session shop_2.4.0_eu"
    assert PASSWORD not in repr(place)
    # from here on the DSN and its password are secrets: redacted wherever they would show
    assert PASSWORD not in resolver.redactor.text(f"connect failed: password {PASSWORD} rejected")


def test_store_on_the_command_line_wins_and_without_any_sessions_are_directories(tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, RELEASE + '[session]\nstore = "env:UNSET_STORE"\n')
    place = locate(plan, "k1", store="postgresql://rm@db/releases")
    assert place.dsn is not None and place.name == "k1 in postgresql://rm@db:5432/releases"
    plain = plan_from_toml(tmp_path, RELEASE, name="plain.toml")
    place = locate(plain, str(tmp_path / "s1"))
    assert place.dsn is None and place.work_dir == tmp_path / "s1" and place.log_args == str(tmp_path / "s1")


@pytest.mark.parametrize("key", ["../etc", "/tmp/x", ".hidden", "a b", "x" * 129])
def test_a_session_key_is_not_a_path(tmp_path: Path, key: str) -> None:
    plan = plan_from_toml(tmp_path, RELEASE)
    with pytest.raises(SessionRefused, match="named by a key of letters"):
        locate(plan, key, store="postgresql://rm@db/releases")


def test_the_command_line_refuses_a_password_in_store_and_never_echoes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_from_toml(tmp_path, RELEASE)
    cfg = str(tmp_path / "gonogo.toml")
    for argv in (["rollout", "-c", cfg, "--store", f"postgresql://rm:{PASSWORD}@db/releases"],
                 ["signoff", "-c", cfg, "--store", f"postgres://db/releases?password={PASSWORD}", "chk",
                  "--note", "n"],
                 ["log", "verify", "--store", f"postgresql://rm:{PASSWORD}@db/releases", "k1"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "--store: the URL holds a password" in err and PASSWORD not in err


def test_an_unset_store_reference_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONOGO_NO_SUCH_STORE", raising=False)
    plan_from_toml(tmp_path, RELEASE)
    assert main(["rollout", "-c", str(tmp_path / "gonogo.toml"), "--store", "env:GONOGO_NO_SUCH_STORE"]) == 2
    assert "--store: environment variable GONOGO_NO_SUCH_STORE is not set" in capsys.readouterr().err
