"""Figure 6, the journal: append latency with fsync; reading + folding, ``gonogo log
verify`` and ``gonogo log export`` of 100,000 events; bytes per hour of canary
watching and a 4-hour rollout's size and replay.

The journal is written here with the shape of a rehearsal against the sandbox
(sandbox.toml's plan and its 7 canary metrics: a checklist run, the stages, then a
poll every 5 s; 97 % of the events are ``samples``), through the same ``make_event``
the engine uses. Anchors, same run: an append is measured against a bare
``os.write`` + ``fsync`` of the same bytes; the CLI commands against ``gonogo
--version`` (the interpreter's and gonogo's start-up); export's memory at 100,000
events against the same export at 10,000.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from common import VENV_BIN, env_for_child, report

from gonogo.config import Plan, load_plan
from gonogo.model import Status
from gonogo.rollout.events import (
    AdvanceConfirmed,
    CheckRecorded,
    CheckResultRecord,
    EventBody,
    HoldCompleted,
    Samples,
    SessionStarted,
    StageEntered,
    TrafficConfirmed,
    TrafficIntended,
)
from gonogo.rollout.journal import EVENTS_FILE, GENESIS, FileJournal, make_event, read_events
from gonogo.rollout.stages import plan_metrics, plan_stages
from gonogo.rollout.state import fold

EVENTS = 100_000
INTERVAL_S = 5.0


def sandbox_plan() -> Plan:
    with resources.as_file(resources.files("gonogo").joinpath("data/sandbox.toml")) as path:
        return load_plan(path)


def rehearsal(plan: Plan, count: int, seed: int = 14) -> list[EventBody]:
    """``count`` event bodies shaped like a rehearsal: checks, stages, polls."""
    rng = random.Random(seed)
    stages = plan_stages(plan)
    metrics = [m.id for m in plan_metrics(plan)]
    # the canary's request count, as the sandbox's source reports it where a rule has a minimum
    counted = [m.id for m in plan_metrics(plan) if plan.canary.min_requests_of(m) > 0]
    bodies: list[EventBody] = [SessionStarted(
        release=plan.release.name, commit=plan.release.commit, config="sandbox.toml",
        environment=plan.release.environment, speed=30.0, stages=tuple(s.id for s in stages))]
    for _, check in plan.checklist():
        evidence = {"services": {s.name: {"status": 200, "latency_ms": round(rng.uniform(1, 40), 1),
                                          "url": f"http://127.0.0.1:18000/{s.name}/health",
                                          "version": "2.4.1"} for s in plan.services[:4]}}
        bodies.append(CheckRecorded(result=CheckResultRecord(
            id=check.id, status=Status.PASS, gate="g", title=check.title, kind=check.kind,
            summary="ok", evidence=evidence, duration_ms=rng.uniform(1, 400), attempts=1,
            finished_at=1.8e9)))
    index = 0
    while len(bodies) < count:
        stage = stages[index % len(stages)]
        bodies += [AdvanceConfirmed(to_index=index % len(stages), to_stage=stage.id),
                   TrafficIntended(weight=float(stage.weight), stage=stage.id),
                   TrafficConfirmed(weight=float(stage.weight), stage=stage.id, detail="weight set"),
                   StageEntered(index=index % len(stages), stage=stage.id, weight=float(stage.weight))]
        for _ in range(min(800, count - len(bodies) - 1)):
            bodies.append(Samples(values={
                m: (round(rng.uniform(0.001, 0.02), 6), round(rng.uniform(0.001, 0.02), 6))
                for m in metrics}, requests={m: float(rng.randint(400, 900)) for m in counted}))
        bodies.append(HoldCompleted(stage=stage.id, hold_s=stage.hold.seconds))
        index += 1
    return bodies[:count]


def write_lines(directory: Path, bodies: list[EventBody], t0: float = 1.8e9) -> Path:
    directory.mkdir(mode=0o700)
    prev, lines = GENESIS, []
    for seq, body in enumerate(bodies, start=1):
        event = make_event(seq, t0 + seq * INTERVAL_S, "rehearsal", body, prev)
        lines.append(event.line() + "\n")
        prev = event.hash
    (directory / EVENTS_FILE).write_text("".join(lines), encoding="ascii")
    return directory


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_cli(*args: str) -> tuple[float, int, float]:
    """(wall seconds, exit code, CPU seconds) of one ``gonogo`` run."""
    started, cpu = time.perf_counter(), children_cpu()
    out = subprocess.run([str(VENV_BIN / "gonogo"), *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, check=False, env=env_for_child())
    return time.perf_counter() - started, out.returncode, children_cpu() - cpu


def peak_rss(*args: str) -> int:
    """Peak RSS (KB) of one run, through /usr/bin/time -v when present, else a fresh child."""
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL);print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(VENV_BIN / "gonogo"), *args],
                         capture_output=True, text=True, check=True, env=env_for_child())
    return int(out.stdout.strip())


def main() -> None:
    plan = sandbox_plan()
    bodies = rehearsal(plan, EVENTS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)

        # append with fsync, against a bare write + fsync of the same bytes
        journal = FileJournal(tmp / "append")
        laps = []
        for body in bodies[:300]:
            started = time.perf_counter()
            journal.append(body, "rehearsal", time.time())
            laps.append(time.perf_counter() - started)
        journal.close()
        line = (tmp / "append" / EVENTS_FILE).read_bytes().splitlines(keepends=True)[-1]
        fd = os.open(tmp / "bare", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        bare = []
        for _ in range(300):
            started = time.perf_counter()
            os.write(fd, line)
            os.fsync(fd)
            bare.append(time.perf_counter() - started)
        os.close(fd)
        q = statistics.quantiles(laps, n=100)
        qb = statistics.quantiles(bare, n=100)
        report("6", "journal append (fsync), p50", round(q[49] * 1000, 2), "ms", "—", None,
               f"bare write+fsync: p50 {qb[49] * 1000:.2f} ms")
        report("6", "journal append (fsync), p99", round(q[98] * 1000, 2), "ms", "—", None,
               f"bare write+fsync: p99 {qb[98] * 1000:.2f} ms")

        big = write_lines(tmp / "big", bodies)
        size = (big / EVENTS_FILE).stat().st_size
        small = write_lines(tmp / "small", bodies[:EVENTS // 10])

        # read + fold (what a resume or a watcher does), in this process
        started = time.perf_counter()
        events = read_events(big)
        read_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        state = fold(events, plan)
        fold_s, fold_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert state.events == EVENTS
        del events
        report("6", "read 100,000 events (verify + decode)", round(read_s, 2), "s", "—", None,
               f"{size / 1e6:.1f} MB journal")
        report("6", "fold 100,000 events", round(fold_s, 2), "s", "≤ 1 s", fold_s <= 1.0,
               f"read: {read_s:.2f} s", cpu_s=round(fold_cpu, 2))

        startup, _, _ = timed_cli("--version")
        verify_s, code, verify_cpu = timed_cli("log", "verify", str(big))
        report("6", "gonogo log verify, 100,000 events", round(verify_s, 2), "s", "≤ 1 s",
               verify_s <= 1.0 and code == 0, f"gonogo --version: {startup:.2f} s",
               cpu_s=round(verify_cpu, 2))

        export_s, code, _ = timed_cli("log", "export", str(big), "--format", "json",
                                      "--out", str(tmp / "out.json"))
        rss_big = peak_rss("log", "export", str(big), "--format", "json", "--out", str(tmp / "o1.json"))
        rss_small = peak_rss("log", "export", str(small), "--format", "json", "--out", str(tmp / "o2.json"))
        report("6", "gonogo log export --format json, 100,000 events", round(export_s, 2), "s", "—",
               code == 0 and json.loads((tmp / "out.json").read_text())["session"]["events"] == EVENTS,
               f"gonogo --version: {startup:.2f} s")
        report("6", "log export peak RSS, 100,000 events", round(rss_big / 1024), "MB",
               "independent of length", rss_big < rss_small * 1.5,
               f"10,000 events: {rss_small / 1024:.0f} MB")

        # bytes per hour of canary watching; a 4-hour rollout (5 s polls)
        samples = [b for b in bodies if isinstance(b, Samples)]
        per_sample = statistics.mean(
            len(make_event(1, 1.8e9, "rehearsal", b, GENESIS).line()) + 1 for b in samples[:500])
        per_hour = per_sample * 3600 / INTERVAL_S
        four_hours = len(bodies[:200]) * 0 + int(4 * 3600 / INTERVAL_S)
        four = write_lines(tmp / "four", bodies[: four_hours + 60])
        four_size = (four / EVENTS_FILE).stat().st_size
        started = time.perf_counter()
        fold(read_events(four), plan)
        replay_s = time.perf_counter() - started
        report("6", "canary watching, journal bytes per hour (5 s polls)", round(per_hour / 1e6, 2),
               "MB/h", "—", None, f"{per_sample:.0f} bytes per poll, 7 metrics")
        report("6", "4-hour rollout: journal size", round(four_size / 1e6, 2), "MB", "< 5 MB",
               four_size < 5e6, f"{four_hours + 60} events")
        report("6", "4-hour rollout: replay (read + fold)", round(replay_s, 2), "s", "< 1 s",
               replay_s < 1.0, f"{four_hours + 60} events")


if __name__ == "__main__":
    main()
