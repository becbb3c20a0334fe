"""Figure 7, memory: a 12-hour canary session, time-compressed. The real engine, its
journal (``FileJournal``, fsync and all) and fold, driven by an injected clock: the
sandbox's 7 canary metrics polled every 5 s of plan time (8,640 polls in 12 hours),
healthy values with noise, the canary stage held for 12 hours. RSS is read from /proc
after the first hour (the session warmed up: imports, first checks, a full window of
samples) and after the twelfth. Budget: growth ≤ 10 MB. Anchor, same run: the growth
over the first hour.
"""

from __future__ import annotations

import asyncio
import gc
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from common import ROOT, report

sys.path.insert(0, str(ROOT / "tests"))

HOURS = 12


def rss_mb() -> float:
    gc.collect()
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def plan_text(tmp: Path) -> str:
    """The test plan's gates, one canary stage held 12 hours, the sandbox's canary."""
    from support.rollout import BASE, RUNBOOK, STAGES

    sandbox = resources.files("gonogo").joinpath("data/sandbox.toml").read_text(encoding="utf-8")
    canary = sandbox[sandbox.index("[canary]"):sandbox.index("[[runbook.steps]]")]
    stages = STAGES.format(on_stop="auto", driver="command", weight_log=tmp / "weights.log")
    stages = stages.replace('hold = "30m"', f'hold = "{HOURS + 1}h"', 1)
    return BASE + stages + canary + RUNBOOK.format(disable='["true"]')


class NoisySource:
    """Healthy readings, a little different at every poll (as real ones are)."""

    def __init__(self) -> None:
        self.rng = random.Random(7)

    async def poll(self, metrics: Sequence[object], now: float) -> dict[str, object]:
        from gonogo.rollout.metrics import Reading

        out: dict[str, object] = {}
        for m in metrics:
            mid = m.id  # type: ignore[attr-defined]
            if mid == "queue-lag":
                value: tuple[float, float] = (0.0, 0.0)
            elif mid.startswith("latency"):
                value = (self.rng.uniform(20, 40), self.rng.uniform(20, 40))
            elif mid == "failed-writes":
                value = (0.0, 0.0)
            else:
                value = (self.rng.uniform(0, 0.004), self.rng.uniform(0, 0.004))
            out[mid] = Reading(*value, requests=float(self.rng.randint(400, 900)))
        return out

    async def aclose(self) -> None:
        return None


async def session(tmp: Path) -> tuple[float, float, float, int, str]:
    from gonogo.config import load_plan
    from support.rollout import Clock, make_engine

    path = tmp / "plan.toml"
    path.write_text(plan_text(tmp), encoding="utf-8")
    plan = load_plan(path)
    clock = Clock()
    engine = make_engine(plan, tmp / "s", clock, NoisySource())  # type: ignore[arg-type]
    start_rss = rss_mb()
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.advance()
    interval = plan.canary.interval.seconds
    marks: dict[int, float] = {}
    for hour in range(1, HOURS + 1):
        for _ in range(int(3600 / interval)):
            clock.advance(interval)
            await engine.tick()
        marks[hour] = rss_mb()
    phase = engine.state.phase.value
    events = engine.state.events
    await engine.aclose()
    return start_rss, marks[1], marks[HOURS], events, phase


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        started = time.perf_counter()
        start_rss, first, last, events, phase = asyncio.run(session(Path(tmp_name)))
        took = time.perf_counter() - started
    growth = last - first
    report("7", f"memory: {HOURS}-hour canary session (engine + journal + fold), RSS growth",
           round(growth, 1), "MB", "≤ 10 MB", growth <= 10 and phase == "holding",
           f"first hour: {first - start_rss:+.1f} MB", rss_mb_after_1h=round(first, 1),
           rss_mb_after_12h=round(last, 1), events=events, phase=phase, run_s=round(took))


if __name__ == "__main__":
    main()
