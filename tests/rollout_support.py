"""Shared helpers for the rollout tests: plans from TOML text, an injected clock,
a scripted metrics source (canary/baseline values chosen by the test)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from gonogo.config import CanaryMetric, Plan, load_plan
from gonogo.rollout.engine import Engine
from gonogo.rollout.journal import FileJournal
from gonogo.rollout.metrics import Reading

BASE = """
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
previous = "shop-2.3.7"

[owners]
release_manager = "Ada Lovelace"
sre = "Grace Hopper"

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
"""

STAGES = """
[rollout]
on_stop = "{on_stop}"
[rollout.traffic]
driver = "{driver}"
command = ["sh", "-c", "echo {{weight}} >> {weight_log}"]

[[rollout.stages]]
id = "canary"
weight = 5
hold = "30m"
exit_checks = ["smoke"]

[[rollout.stages]]
id = "half"
weight = 50
hold = "15m"

[[rollout.stages]]
id = "full"
weight = 100
hold = "15m"
analysis = false
"""

CANARY = """
[canary]
source = "sandbox"
url = "http://127.0.0.1:9/unused"
interval = "15s"
on_inconclusive = "{on_inconclusive}"

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
"""

RUNBOOK = """
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
command = {disable}

[[runbook.steps]]
id = "incident"
title = "Open incident"
action = "incident"

[[runbook.reconciliation]]
id = "ledger"
title = "Re-run the ledger reconciliation script"
service = "transactions"
"""


def write_plan(
    tmp: Path,
    *,
    driver: str = "command",
    on_stop: str = "auto",
    on_inconclusive: str = "hold",
    disable: Sequence[str] = ("true",),
    extra: str = "",
    name: str = "plan.toml",
) -> Path:
    disable_toml = "[" + ", ".join(f'"{a}"' for a in disable) + "]"
    text = (
        BASE
        + STAGES.format(on_stop=on_stop, driver=driver, weight_log=tmp / "weights.log")
        + CANARY.format(on_inconclusive=on_inconclusive)
        + RUNBOOK.format(disable=disable_toml)
        + textwrap.dedent(extra)
    )
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSource:
    """Canary/baseline values decided by the test: ``values[metric_id] = (c, b)``;
    ``down = True`` answers like an unreachable server (no data, with a reason)."""

    def __init__(self, values: dict[str, tuple[float | None, float | None]] | None = None) -> None:
        self.values = dict(values or {})
        self.down = False
        self.polls = 0

    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        self.polls += 1
        if self.down:
            return {m.id: Reading(None, None, "cannot connect to metrics source") for m in metrics}
        return {m.id: Reading(*self.values.get(m.id, (None, None))) for m in metrics}

    async def aclose(self) -> None:
        return None


HEALTHY = {"http-5xx": (0.002, 0.002), "failed-writes": (0.0, 0.0)}


def make_engine(
    plan: Plan | Path,
    session: Path,
    clock: Clock,
    source: ScriptedSource | None = None,
    *,
    actor: str = "ada",
    traffic: object | None = None,
) -> Engine:
    if isinstance(plan, Path):
        plan = load_plan(plan)
    return Engine(
        plan, FileJournal(session), clock=clock, actor=actor, metrics=source or ScriptedSource(HEALTHY),
        traffic=traffic,  # type: ignore[arg-type]
        session_dir=str(session),
    )


async def poll_for(engine: Engine, clock: Clock, seconds: float, step: float = 15.0,
                   until: Callable[[], bool] | None = None) -> None:
    """Tick the engine every ``step`` plan seconds for ``seconds`` (no real sleeping)."""
    elapsed = 0.0
    while elapsed < seconds:
        clock.advance(step)
        elapsed += step
        await engine.tick()
        if until is not None and until():
            return
