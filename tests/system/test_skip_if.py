"""``skip_if``: a check is reported skipped, with the reason, when its reference resolves.

That skip is the config's explicit decision: listed (with its reason), not blocking.
A check kind that skips on its own (nothing to check) still blocks GO."""

from __future__ import annotations

from pathlib import Path

import pytest

from gonogo.config import ConfigError, load_plan
from gonogo.context import make_context
from gonogo.model import Status
from gonogo.runner import run_all
from gonogo.verdict import decide
from support.fleet import gonogo_check, start_fleet

CONFIG = """
[release]
name = "r1"
commit = "abc1234"

[owners]
release_manager = "Ada"

[[gates]]
id = "g"
title = "gate"

  [[gates.checks]]
  id = "probe"
  title = "writes a marker when it runs"
  kind = "command"
  argv = ["python3", "-c", "open('ran', 'w').write('yes')"]
  skip_if = "file:unavailable"
"""


async def run(tmp_path: Path) -> tuple[Status, str, bool, bool]:
    path = tmp_path / "gonogo.toml"
    path.write_text(CONFIG, encoding="utf-8")
    plan = load_plan(path)
    ctx = make_context(plan)
    try:
        results = await run_all(ctx)
    finally:
        await ctx.aclose()
    result = results["probe"]
    return result.status, result.summary, (tmp_path / "ran").exists(), decide(plan, results).go


async def test_a_resolving_reference_skips_the_check_with_its_text(tmp_path: Path) -> None:
    (tmp_path / "unavailable").write_text("no PostgreSQL binaries on this machine\n")
    status, summary, ran, go = await run(tmp_path)
    assert status is Status.SKIPPED
    assert summary == "no PostgreSQL binaries on this machine"  # the status says "skipped"
    assert not ran, "a skipped check must not run"
    assert go, "a check the config skips through skip_if must not block GO"


async def test_a_kind_that_finds_nothing_to_check_still_blocks(tmp_path: Path) -> None:
    path = tmp_path / "gonogo.toml"
    text = CONFIG.replace('kind = "command"', 'kind = "http_health"')
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith(("argv", "skip_if")))
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    ctx = make_context(plan)
    try:
        results = await run_all(ctx)
    finally:
        await ctx.aclose()
    verdict = decide(plan, results)
    assert results["probe"].status is Status.SKIPPED and not results["probe"].skipped_by_config
    assert not verdict.go and [b.id for b in verdict.blocking] == ["probe"]


async def test_without_the_marker_the_check_runs(tmp_path: Path) -> None:
    status, _, ran, go = await run(tmp_path)
    assert (status, ran, go) == (Status.PASS, True, True)


def test_skip_if_must_be_a_reference(tmp_path: Path) -> None:
    path = tmp_path / "gonogo.toml"
    path.write_text(CONFIG.replace('"file:unavailable"', '"always"'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    assert "gates[0].checks[0].skip_if" in err.value.render()


def test_sandbox_without_postgres_skips_the_database_checks_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_PG_BIN", str(tmp_path / "no-postgres-here"))
    fleet, files = start_fleet(tmp_path, scenario="healthy", speed=60.0)
    try:
        code, report, _ = gonogo_check(files.config, "--gate", "database-storage")
    finally:
        fleet.stop()
    checks = {c["id"]: c for g in report["gates"] for c in g["checks"]}
    for check_id in ("postgres-reachable", "postgres-backup", "migrations"):
        assert checks[check_id]["status"] == "skipped", checks[check_id]
        assert "the sandbox has no PostgreSQL" in checks[check_id]["summary"]
        assert "postgresql-15" in report["skipped_reasons"][check_id]
    assert code == 0 and report["blocking"] == [], report["blocking_reasons"]
