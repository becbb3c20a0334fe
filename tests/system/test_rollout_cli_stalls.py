"""``gonogo rollout`` never waits in silence on canary analysis: a metric that cannot be
judged (here: too few canary requests) is reported as stalled, on its own line, and
``on_inconclusive`` decides what follows (subprocess, scripted admin API)."""

from __future__ import annotations

from pathlib import Path

from gonogo.rollout.journal import read_events
from support.loopback import serve
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan


async def test_too_few_canary_requests_stall_then_propose_a_rollback(tmp_path: Path) -> None:
    admin = ScriptedAdmin(canary_requests=14)
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        plan.write_text(plan.read_text().replace(
            'interval = "12s"',
            'interval = "12s"\nmin_requests = 200\non_inconclusive = "propose"\nmax_inconclusive = "3m"'))
        session = tmp_path / "s"
        rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(session),
                                     "--yes", "--auto-signoff", "--speed", "60")
    assert rc == 3, f"exit {rc}\n{out[-2000:]}\n{err[-1000:]}"
    stalls = [ln for ln in out.splitlines() if ": stalled: " in ln]
    assert stalls and "stalled: http-5xx: canary saw 14 requests < 200 (inconclusive for 3m" in stalls[0]
    assert "proposing a rollback" in stalls[0]
    assert any("rollback proposed: stalled: http-5xx: canary saw 14 requests < 200" in ln
               for ln in out.splitlines())
    assert admin.weights == [5.0, 0.0]  # never advanced on a canary nobody could judge
    kinds = [e.kind for e in read_events(session)]
    assert "stalled" in kinds and kinds.index("stalled") < kinds.index("rollback_proposed")
    assert "criterion_tripped" not in kinds  # nothing breached: it could not be judged
