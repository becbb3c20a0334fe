"""A check the config skips (``skip_if``) is the config's decision: the verdict, the gate,
an exit check and every report format treat it as settled, list it with its reason,
and say "skipped" once. A kind's own skip (nothing to check) still blocks."""

from __future__ import annotations

import json

from gonogo.gates import gate_status
from gonogo.model import CheckResult, Status
from gonogo.report import render
from gonogo.verdict import decide
from support.plans import plan_from_toml

PLAN = """
[owners]
rm = "Ada"
[[gates]]
id = "db"
title = "Database"
  [[gates.checks]]
  id = "pg"
  title = "PostgreSQL reachable"
  kind = "command"
  argv = ["true"]
  skip_if = "env:NO_PG"
  [[gates.checks]]
  id = "vols"
  title = "Volumes"
  kind = "command"
  argv = ["true"]
"""
REASON = "the sandbox has no PostgreSQL (Debian package postgresql-15)"


def result(check_id: str, status: Status, summary: str = "", *, by_config: bool = False) -> CheckResult:
    return CheckResult(check_id=check_id, gate_id="db", kind="command", title=check_id, required=True,
                       status=status, summary=summary, skip_if="env:NO_PG" if by_config else "")


def test_a_config_skip_lets_go_and_is_listed_with_its_reason() -> None:
    plan = plan_from_toml(None, PLAN)
    results = {"pg": result("pg", Status.SKIPPED, REASON, by_config=True), "vols": result("vols", Status.PASS)}
    verdict = decide(plan, results)
    assert verdict.go and verdict.blocking == ()
    assert [(b.id, b.reason) for b in verdict.skipped] == [("pg", REASON)]
    assert gate_status(plan.gates[0], results) is Status.PASS
    report = json.loads(render("json", plan, results, verdict))
    assert report["verdict"] == "GO" and report["skipped"] == ["pg"]
    assert report["skipped_reasons"] == {"pg": REASON}
    table = render("table", plan, results, verdict)
    assert "1 skipped by the config (skip_if), not blocking:" in table
    assert f"– pg: {REASON}" in table and "skipped: skipped" not in table
    markdown = render("markdown", plan, results, verdict)
    assert "## Skipped by the config (skip_if, not blocking)" in markdown


def test_a_gate_of_config_skips_only_reads_skipped() -> None:
    plan = plan_from_toml(None, PLAN)
    results = {"pg": result("pg", Status.SKIPPED, REASON, by_config=True),
               "vols": result("vols", Status.SKIPPED, REASON, by_config=True)}
    assert gate_status(plan.gates[0], results) is Status.SKIPPED
    assert decide(plan, results).go


def test_a_kinds_own_skip_still_blocks_and_its_gate_shows_it() -> None:
    plan = plan_from_toml(None, PLAN)
    results = {"pg": result("pg", Status.SKIPPED, "no services listed"), "vols": result("vols", Status.PASS)}
    verdict = decide(plan, results)
    assert not verdict.go and [b.id for b in verdict.blocking] == ["pg"] and verdict.skipped == ()
    assert gate_status(plan.gates[0], results) is Status.SKIPPED
    assert not results["pg"].lets_go and results["vols"].lets_go


def test_the_journal_keeps_the_mark() -> None:
    from gonogo.rollout.events import CheckResultRecord

    original = result("pg", Status.SKIPPED, REASON, by_config=True)
    again = CheckResultRecord.of(original).to_result()
    assert again.skipped_by_config and again.lets_go
    assert CheckResult.from_dict(original.to_dict()).skipped_by_config


def test_a_check_that_ran_records_exactly_what_it_always_did() -> None:
    """The journal line of a result that was not skipped by the config has no new key
    (recorded sessions re-encode byte for byte); one that was names its reference."""
    from gonogo.rollout.events import CheckRecorded, CheckResultRecord, encode

    ran = encode(CheckRecorded(result=CheckResultRecord.of(result("vols", Status.PASS))))
    assert "skip_if" not in ran["result"]
    skipped = encode(CheckRecorded(result=CheckResultRecord.of(
        result("pg", Status.SKIPPED, REASON, by_config=True))))
    assert skipped["result"]["skip_if"] == "env:NO_PG"
