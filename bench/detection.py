"""Figure 5, detection: the sandbox's ``canary-regression`` (the canary's 5xx climbs
once it takes 25 %), driven by ``gonogo rollout --yes --auto-signoff --speed 120`` (the
staging stage waits for a sign-off: a rehearsal signs it automatically); from the last poll
before the breach began to the traffic confirmed back at 0 %. The breach begins with the
first breaching sample the rule can judge: one with the canary's ``min_requests`` in
its window (before that the rule is inconclusive by design, however high the ratio);
the time from the first breaching sample at all is printed beside it. Budget: the rule's
duration + one poll interval + 1 s (real seconds at that speed). Anchor, same run: the
rule's duration alone.

The plan is sandbox.toml on free ports, trimmed to the checks its stages and runbook
use, with short holds (as tests/system/test_rollout_sandbox.py does)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from common import ROOT, VENV_BIN, env_for_child, report, state_env

if TYPE_CHECKING:
    from gonogo.rollout.journal import Event

SPEED = 120.0
sys.path.insert(0, str(ROOT / "tests"))


def trimmed(config: Path, out: Path) -> Path:
    import tomlkit

    from gonogo.config import load_plan

    data = tomlkit.parse(config.read_text(encoding="utf-8")).unwrap()
    used: set[str] = set()
    for stage in data["rollout"]["stages"]:
        used.update(stage.get("entry_checks", []), stage.get("exit_checks", []))
        if stage.get("signoff"):
            used.add(stage["signoff"])
    for step in data["runbook"]["steps"]:
        used.update(step.get("checks", []))
    gates = []
    for gate in data["gates"]:
        checks = [c for c in gate.get("checks", []) if c["id"] in used or gate["id"] in used]
        if checks:
            gates.append({**gate, "checks": checks})
    data["gates"] = gates
    data["issues"] = []
    for stage in data["rollout"]["stages"]:
        stage["hold"] = {"staging": "2m", "canary": "10m"}.get(stage["id"], stage["hold"])
    out.write_text(tomlkit.dumps(data), encoding="utf-8")
    load_plan(out)
    return out


def main() -> None:
    from gonogo.config import load_plan
    from gonogo.rollout.journal import read_events
    from support.fleet import admin, start_fleet

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "sandbox").mkdir()
        thread, files = start_fleet(tmp / "sandbox", speed=SPEED)
        try:
            assert admin(thread, "POST", "/admin/scenario", {"scenario": "canary-regression"}).status_code == 200
            plan_path = trimmed(files.config, tmp / "plan.toml")
            plan = load_plan(plan_path)
            session = tmp / "s"
            out = subprocess.run(
                [str(VENV_BIN / "gonogo"), "rollout", "--config", str(plan_path), "--session", str(session),
                 "--yes", "--auto-signoff", "--speed", str(SPEED)],
                capture_output=True, text=True, timeout=300, env={**env_for_child(), **state_env(tmp)},
                cwd=tmp, check=False, stdin=subprocess.DEVNULL)
        finally:
            thread.stop()
        events = read_events(session)
    from gonogo.rollout.analysis import Sample, breaches, is_usable

    metric = next(m for m in plan.canary.metrics if m.id == "http-5xx")
    min_requests = plan.canary.min_requests_of(metric)
    polls = [e for e in events if e.kind == "samples"]

    def sample(e: Event) -> Sample:
        c, b = e.data["values"].get(metric.id) or [None, None]
        return Sample(e.time, c, b, requests=e.data.get("requests", {}).get(metric.id))

    # the breach as the rule sees it: breaching samples with enough canary traffic to judge
    # (min_requests); a breaching one before that is the raw onset, reported beside it
    raw_bad = next((e for e in polls if breaches(metric, sample(e))), None)
    first_bad = next((e for e in polls if breaches(metric, sample(e))
                      and is_usable(metric, sample(e), min_requests)), None)
    zero = next((e for e in events if e.kind == "traffic_confirmed" and e.data["weight"] == 0.0
                 and first_bad is not None and e.seq > first_bad.seq), None)
    if out.returncode != 3 or first_bad is None or raw_bad is None or zero is None:
        report("5", "detection: breach to weight 0", "no trip", "", "", False,
               f"exit {out.returncode}: {out.stderr.strip()[-200:]}")
        return
    onset = max(e.time for e in polls if e.seq < first_bad.seq)
    latency = zero.time - onset
    raw = zero.time - max(e.time for e in polls if e.seq < raw_bad.seq)
    duration = metric.duration.seconds / SPEED
    from gonogo.cli.rollout import MIN_POLL_S

    poll = max(MIN_POLL_S, plan.canary.interval.seconds / SPEED)
    budget = duration + poll + 1.0
    report("5", f"detection: canary 5xx breach to weight 0 (speed {SPEED:g})", round(latency, 2), "s",
           f"≤ {budget:.2f} s (rule {duration:.2f} + poll {poll:.2f} + 1)", latency <= budget,
           f"rule duration alone: {duration:.2f} s", min_requests=min_requests,
           from_first_breaching_sample_s=round(raw, 2))


if __name__ == "__main__":
    main()
