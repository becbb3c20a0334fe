"""Record the journal fixtures under ``tests/fixtures/journals/`` by driving the real
engine (injected clock, scripted metrics and traffic) through two rollouts:

- ``v1-stable``: checks, an owner set, a failed then retried traffic shift, a pause,
  samples, a hold completed, a stage sign-off, a forced advance, a second driver
  resuming at another speed, and the release marked stable;
- ``v1-rollback``: a stop criterion proposing a rollback, the driver declining, the
  criterion tripping again, the rollback runbook with a failing step retried then
  skipped, the incident, and a reconciliation item marked done.

Only the engine's public methods are used, so the same script runs against any
version of the engine: ``python -m support.record_journals OUTDIR`` from ``tests/``.
The fixtures in the repository were written by the code before the typed events.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gonogo.config import CanaryMetric, load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from gonogo.rollout.metrics import Reading
from gonogo.rollout.traffic import Shift

PLAN = """\
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
previous = "shop-2.3.7"
environment = "production"

[owners]
release_manager = "Ada Lovelace"
sre = "Grace Hopper"
security = "TBD"

[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "unit"
  title = "Unit tests"
  kind = "command"
  argv = ["true"]

  [[gates.checks]]
  id = "smoke"
  title = "Smoke"
  kind = "command"
  argv = ["true"]

  [[gates.checks]]
  id = "smoke-signoff"
  title = "Manual smoke in the canary"
  kind = "manual"
  required = false

[rollout]
on_stop = "propose"
[rollout.traffic]
driver = "command"
command = ["true"]

[[rollout.stages]]
id = "canary"
weight = 5
hold = "30m"
exit_checks = ["smoke"]
signoff = "smoke-signoff"

[[rollout.stages]]
id = "half"
weight = 50
hold = "15m"

[[rollout.stages]]
id = "full"
weight = 100
hold = "15m"
analysis = false

[canary]
source = "sandbox"
url = "http://127.0.0.1:9/unused"
interval = "15s"

[[canary.metrics]]
id = "http-5xx"
title = "5xx ratio"
canary = "q"
baseline = "b"
rule = "ratio_above"
factor = 2.0
threshold = 0.001
duration = "5m"

[[canary.metrics]]
id = "failed-writes"
canary = "q"
rule = "nonzero"
duration = "0s"
min_samples = 1

[[runbook.steps]]
id = "shift"
title = "Shift traffic to the previous release"
action = "shift_traffic"

[[runbook.steps]]
id = "health"
title = "Confirm health on stable"
action = "checks"
checks = ["unit"]

[[runbook.steps]]
id = "disable"
title = "Disable canary artifacts"
action = "command"
command = ["sh", "-c", "echo flag store unreachable; exit 3"]

[[runbook.steps]]
id = "incident"
title = "Open incident"
action = "incident"

[[runbook.reconciliation]]
id = "ledger"
title = "Re-run the ledger reconciliation script"
service = "transactions"
"""

HEALTHY = {"http-5xx": (0.002, 0.002), "failed-writes": (0.0, 0.0)}
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Source:
    def __init__(self) -> None:
        self.values: dict[str, tuple[float | None, float | None]] = dict(HEALTHY)
        self.errors: dict[str, str] = {}

    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        return {m.id: Reading(*self.values.get(m.id, (None, None)), self.errors.get(m.id, ""))
                for m in metrics}

    async def aclose(self) -> None:
        return None


class Traffic:
    name = "command"
    needs_confirmation = False

    def __init__(self) -> None:
        self.fail_next = 0

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        if self.fail_next:
            self.fail_next -= 1
            return Shift(False, weight, "router exited 1: upstream busy")
        return Shift(True, weight, f"router exited 0: canary {weight:g}%")


def _engine(plan_path: Path, session: str, clock: Clock, source: Source, traffic: Traffic,
            actor: str) -> Engine:
    return Engine(load_plan(plan_path), FileJournal(session), clock=clock, actor=actor,
                  metrics=source, traffic=traffic, session_dir=session)  # type: ignore[arg-type]


async def _poll(engine: Engine, clock: Clock, seconds: float, step: float = 15.0) -> None:
    for _ in range(int(seconds // step)):
        clock.now += step
        await engine.tick()


async def record_stable(plan_path: Path, session: str) -> None:
    clock, source, traffic = Clock(), Source(), Traffic()
    engine = _engine(plan_path, session, clock, source, traffic, "ada")
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.set_owner("security", "Alan Turing")
    traffic.fail_next = 1
    await engine.advance()  # traffic_failed: still idle
    clock.now += 30
    await engine.advance()
    await _poll(engine, clock, 600)
    await engine.pause("waiting for the SRE to join")
    clock.now += 120
    await engine.resume("SRE here")
    await _poll(engine, clock, 1200)  # hold completes, exit checks run
    await engine.sign_off("smoke-signoff", "checkout and login by hand: fine")
    await engine.advance()
    await _poll(engine, clock, 240)
    source.values["failed-writes"] = (None, None)  # a metrics outage: no data, named
    source.errors["failed-writes"] = "metrics source timed out"
    await _poll(engine, clock, 30)
    source.values.update(HEALTHY)
    source.errors.clear()
    await _poll(engine, clock, 30)
    await engine.force_advance("change window closes at 18:00; SRE approved")
    await engine.aclose()
    engine = _engine(plan_path, session, clock, source, traffic, "grace")
    engine.start(speed=2.0)
    await engine.recover()
    await _poll(engine, clock, 450)
    await engine.advance()  # advance to stable
    await engine.aclose()


async def record_rollback(plan_path: Path, session: str) -> None:
    clock, source, traffic = Clock(), Source(), Traffic()
    engine = _engine(plan_path, session, clock, source, traffic, "ada")
    engine.start(speed=1.0)
    await engine.set_owner("security", "Alan Turing")
    await engine.run_checks()
    await engine.advance()
    await _poll(engine, clock, 300)
    source.values["http-5xx"] = (0.05, 0.01)
    await _poll(engine, clock, 330)  # trips after 5m: rollback proposed
    await engine.resume("looks like a noisy client; watching")
    await _poll(engine, clock, 15)  # trips again
    await engine.rollback("5xx confirmed in the logs")  # the disable step fails
    await engine.runbook_decision("disable", "retry", "flag store back")
    await engine.runbook_decision("disable", "skip", "flags removed by hand")
    await engine.mark_reconciled("ledger")
    await engine.aclose()


async def record(out: Path) -> list[Path]:
    """Record both sessions into ``out/<name>/`` (events.jsonl and plan.toml)."""
    out = out.resolve()
    written = []
    for name, scenario in (("v1-stable", record_stable), ("v1-rollback", record_rollback)):
        work = Path(tempfile.mkdtemp(prefix="gonogo-record-"))
        cwd = os.getcwd()
        try:
            os.chdir(work)  # relative paths: the journal names no temporary directory
            Path("plan.toml").write_text(PLAN, encoding="utf-8")
            await scenario(Path("plan.toml"), "session")
            target = out / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "session" / "events.jsonl", target / "events.jsonl")
            (target / "plan.toml").write_text(PLAN, encoding="utf-8")  # as the session started
            written.append(target)
        finally:
            os.chdir(cwd)
            shutil.rmtree(work, ignore_errors=True)
    return written


if __name__ == "__main__":
    for path in asyncio.run(record(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/journals"))):
        print(path)
