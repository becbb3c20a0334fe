"""`gonogo serve`'s decisions without a server: what counts as loopback, the command
line each page runs, and the [serve] table (the server itself: tests/system/test_serve.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gonogo.cli import build_parser
from gonogo.cli.serve import _has_command, is_loopback, served_command
from gonogo.config import ConfigError
from support.plans import plan_from_toml


def test_only_loopback_addresses_and_localhost_are_loopback() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.0.2.10", "10.0.0.1", "example.com", "localhost.example", ""):
        assert not is_loopback(host), host


def test_each_page_runs_one_command_line_read_only_unless_driving(tmp_path: Path) -> None:
    config, session = tmp_path / "gonogo.toml", str(tmp_path / "s")
    drive = served_command(config, session, drive=True, actor="Rosa Diaz")
    assert drive == [sys.executable, "-m", "gonogo", "tui", "--config", str(config),
                     "--session", session, "--actor", "Rosa Diaz"]
    watch = served_command(config, session, drive=False, actor=None)
    assert watch == [sys.executable, "-m", "gonogo", "watch", "--config", str(config),
                     "--session", session]
    stored = served_command(config, None, drive=False, actor=None, store="env:GONOGO_STORE")
    assert stored[3:] == ["watch", "--config", str(config), "--store", "env:GONOGO_STORE"]
    assert _has_command("tui") and _has_command("serve") and not _has_command("no-such-command")
    args = build_parser().parse_args(["serve", "--config", "c", "--session", "s"])
    assert (args.host, args.port, args.drive, args.token_ref) == (None, None, False, None)


def test_the_serve_table_takes_a_token_reference_never_a_literal(tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, '[serve]\nhost = "0.0.0.0"\nport = 8443\ntoken = "env:PANEL_TOKEN"\n')
    assert (plan.doc.serve.host, plan.doc.serve.port, str(plan.doc.serve.token)) == (
        "0.0.0.0", 8443, "env:PANEL_TOKEN")
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, '[serve]\ntoken = "hunter2hunter2hunter2"\nport = 70000\n')
    text = info.value.render()
    assert "serve.token" in text and "references" in text and "hunter2" not in text
    assert "serve.port" in text
