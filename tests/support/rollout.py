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
    ``down = True`` answers like an unreachable server (no data, with a reason);
    ``requests`` is the canary's request count in the window (``None``: not counted);
    ``baseline_traffic = False`` answers no baseline value, as at 100 %."""

    def __init__(self, values: dict[str, tuple[float | None, float | None]] | None = None) -> None:
        self.values = dict(values or {})
        self.down = False
        self.polls = 0
        self.requests: float | None = None
        self.baseline_traffic = True

    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        self.polls += 1
        if self.down:
            return {m.id: Reading(None, None, "cannot connect to metrics source") for m in metrics}
        out = {}
        for m in metrics:
            canary, baseline = self.values.get(m.id, (None, None))
            out[m.id] = Reading(canary, baseline if self.baseline_traffic else None,
                                requests=self.requests)
        return out

    async def aclose(self) -> None:
        return None


HEALTHY: dict[str, tuple[float | None, float | None]] = {"http-5xx": (0.002, 0.002), "failed-writes": (0.0, 0.0)}


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


# -- the headless CLI against a scripted admin API ------------------------------------
import asyncio  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from aiohttp import web  # noqa: E402


class ScriptedAdmin:
    """The sandbox admin API's shape (POST /admin/weight, GET /admin/metrics) with
    values the test decides: healthy, or a 5xx regression once the weight reaches
    ``regress_at`` (a deterministic stand-in where the real fleet's noise would make
    runs incomparable)."""

    def __init__(self, regress_at: float | None = None, canary_requests: int | None = None) -> None:
        self.regress_at = regress_at
        self.canary_requests = canary_requests  # reported as the window's canary count when set
        self.weight = 0.0
        self.weights: list[float] = []
        self.app = web.Application()
        self.app.router.add_post("/admin/weight", self._weight)
        self.app.router.add_get("/admin/metrics", self._metrics)
        self.app.router.add_get("/admin/state", self._state)

    async def _weight(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.weight = float(body["weight"])
        self.weights.append(self.weight)
        return web.json_response({"weight": self.weight})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response({"scenario": "scripted", "weight": self.weight, "speed": 1.0})

    async def _metrics(self, request: web.Request) -> web.Response:
        bad = self.regress_at is not None and self.weight >= self.regress_at
        body: dict[str, object] = {"sim_time": 0, "weight": self.weight, "metrics": {
            "http_5xx_ratio": {"canary": 0.05 if bad else 0.002, "baseline": 0.002},
            "failed_writes": {"canary": 0.0, "baseline": 0.0},
        }}
        if self.canary_requests is not None:
            body["samples"] = {"canary": self.canary_requests, "baseline": 1000}
        return web.json_response(body)


CLI_PLAN = """
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
previous = "shop-2.3.7"

[owners]
release_manager = "Ada Lovelace"

[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "unit"
  title = "Unit tests"
  kind = "command"
  argv = {unit_argv}

  [[gates.checks]]
  id = "smoke-signoff"
  title = "Manual smoke"
  kind = "manual"
  required = false

[integrations.gateway]
public_url = "{admin}"
admin_url = "{admin}"

[rollout]
on_stop = "auto"
[rollout.traffic]
driver = "sandbox"

[[rollout.stages]]
id = "canary"
weight = 5
hold = "1m"
exit_checks = ["unit"]
signoff = "smoke-signoff"

[[rollout.stages]]
id = "half"
weight = 50
hold = "1m"

[[rollout.stages]]
id = "full"
weight = 100
hold = "1m"

[canary]
source = "sandbox"
interval = "12s"

[[canary.metrics]]
id = "http-5xx"
canary = "q"
baseline = "b"
sandbox = "http_5xx_ratio"
rule = "ratio_above"
factor = 2.0
threshold = 0.001
duration = "30s"

[[canary.metrics]]
id = "failed-writes"
canary = "q"
sandbox = "failed_writes"
rule = "nonzero"
duration = "0s"
min_samples = 1

[[runbook.steps]]
id = "shift"
title = "Shift traffic back"
action = "shift_traffic"

[[runbook.steps]]
id = "health"
title = "Confirm health"
action = "checks"
checks = ["unit"]

[[runbook.steps]]
id = "disable"
title = "Disable canary artifacts"
action = "command"
command = {disable_argv}

[[runbook.steps]]
id = "incident"
title = "Open incident"
action = "incident"
"""


def write_cli_plan(tmp: Path, admin: str, *, unit_argv: str = '["true"]',
                   disable_argv: str = '["true"]', name: str = "plan.toml") -> Path:
    path = tmp / name
    path.write_text(CLI_PLAN.format(admin=admin, unit_argv=unit_argv, disable_argv=disable_argv))
    return path


TESTS_DIR = Path(__file__).resolve().parents[1]  # tests/: where ``support`` imports from


async def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                  timeout: float = 90, kill_at: str | None = None) -> tuple[int, str, str]:
    """``python -m gonogo ARGS`` as a subprocess; killed if it outlives ``timeout``.
    ``kill_at`` (``after:KIND:N``...) runs it with a journal that SIGKILLs the process
    at that point (``support.killing_journal``)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    launcher = ["-m", "gonogo"]
    if kill_at is not None:
        launcher = ["-m", "support.killing_journal", kill_at]
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(TESTS_DIR), full_env.get("PYTHONPATH", "")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *launcher, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, env=full_env, cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"gonogo {' '.join(args)} still running after {timeout}s") from None
    except asyncio.CancelledError:  # a failing sibling test task: leave no orphan behind
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
