"""Figure 2, live watch over SSH: ``gonogo demo --speed 60`` driven to the 5 % canary
(run the checklist, sign off the staging smoke, advance twice), then 20 s of the
dashboard recorded with tmux ``pipe-pane``: bytes per second to the terminal and the
panel process's share of a core (the sandbox fleet, its child, is not counted).
Budget: ≤ 3.5 KB/s and ≤ 5 % of a core at 120×40; less at 80×24 (measured after a
resize to 80×24 in the same hold). Anchor, same run: the same dashboard idle before
the rollout starts (nothing live).

TERM=xterm-256color without COLORTERM, as over a typical SSH session (256 colours).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, VENV_BIN, report, state_env
from terminal import Tmux

WINDOW_S = 20.0
TICKS = os.sysconf("SC_CLK_TCK")
sys.path.insert(0, str(ROOT / "tests"))


def kinds(session: Path) -> list[str]:
    path = session / "journal" / "events.jsonl"
    if not path.exists():
        return []
    # whole lines only: the panel may be writing the last one
    return [json.loads(line)["kind"] for line in path.read_bytes().split(b"\n")[:-1] if line.strip()]


def panel_pid(shell_pid: int) -> int:
    """The gonogo process under the pane's shell (``env`` execs it)."""
    for _ in range(100):
        for task in Path(f"/proc/{shell_pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                if any(b"gonogo" in part for part in cmd):
                    return int(child)
        time.sleep(0.1)
    raise RuntimeError("no gonogo process in the pane")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, this process only


def measure(tmux: Tmux, name: str, pid: int, out: Path, seconds: float = WINDOW_S) -> tuple[float, float, int]:
    """(bytes/s, share of a core, writes seen) over ``seconds``."""
    out.write_bytes(b"")
    tmux.pipe(name, out)
    time.sleep(0.5)  # pipe-pane starts its cat asynchronously
    size0, cpu0, t0 = out.stat().st_size, cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    size1, cpu1, t1 = out.stat().st_size, cpu_seconds(pid), time.monotonic()
    tmux.unpipe(name)
    return (size1 - size0) / (t1 - t0), (cpu1 - cpu0) / (t1 - t0), size1 - size0


def drive_to_canary(tmux: Tmux, name: str, session: Path, config: Path) -> None:
    """From the demo's dashboard to holding at the 5 % canary, as its operator: run the
    checklist, sign off the staging smoke, advance into staging and into the canary."""
    from gonogo.config import load_plan

    total = sum(1 for _ in load_plan(config).checklist())
    tmux.type(name, "r")
    tmux.wait_screen(name, lambda s: kinds(session).count("check_result") >= total,
                     "check results")
    tmux.type(name, "/")
    tmux.type(name, "staging-manual", literal=True)
    tmux.type(name, "Enter", "Enter")
    tmux.wait_screen(name, lambda s: "s Sign off" in s, "the check's detail")
    tmux.type(name, "s")  # the demo's operator plays the release manager
    tmux.wait_screen(name, lambda s: "Sign off staging-manual-smoke" in s, "the sign-off dialog")
    tmux.type(name, "walked the journeys by hand", literal=True)
    tmux.type(name, "Enter")
    tmux.wait_screen(name, lambda s: "signed off by" in s, "the sign-off")
    tmux.type(name, "Escape", "Escape")
    for marker in ("▶ Staging", "▶ Canary 5%"):
        for _ in range(3):
            ready = tmux.wait_screen(name, lambda s: "IDLE" in s or "READY" in s, "ready")
            if " GO " in ready.splitlines()[0]:
                break
            before = kinds(session).count("check_result")
            tmux.type(name, "r")
            tmux.wait_screen(name, lambda s, b=before: kinds(session).count("check_result") >= b + total,
                             "a re-run")
        tmux.type(name, "a")
        tmux.wait_screen(name, lambda s: "Advance the rollout?" in s, "the advance dialog")
        tmux.type(name, "y")
        tmux.wait_screen(name, lambda s, m=marker: m in s and "HOLDING" in s, f"holding {marker}")


def main() -> None:
    from support.fleet import relocate

    tmux = Tmux()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            files = relocate(tmp)
            session = tmp / "demo"
            env = {"GONOGO_SANDBOX_DIR": str(files.runtime_dir), "TERM": "xterm-256color",
                   **state_env(tmp)}
            name = tmux.start([str(VENV_BIN / "gonogo"), "demo", "--speed", "60", "--session",
                               str(session), "--config", str(files.config)], env=env, cwd=tmp)
            pid = panel_pid(tmux.pane_pid(name))
            tmux.wait_screen(name, lambda s: "Stable" in s and "q Quit" in s, "dashboard")
            time.sleep(2)
            idle_bps, idle_cpu, _ = measure(tmux, name, pid, tmp / "idle.out", 10.0)

            drive_to_canary(tmux, name, session, files.config)
            time.sleep(1)  # the first canary samples in
            events0 = len(kinds(session))
            bps, cpu, total_bytes = measure(tmux, name, pid, tmp / "canary.out")
            polls = sum(1 for k in kinds(session)[events0:] if k == "samples")
            on_screen = tmux.screen(name)
            still_canary = "▶ Canary 5%" in on_screen
            tmux._run("resize-window", "-t", name, "-x", "80", "-y", "24")
            time.sleep(1)
            small_bps, small_cpu, _ = measure(tmux, name, pid, tmp / "small.out", 8.0)
            small_canary = "Canary 5%" in tmux.screen(name)
            keep = os.environ.get("BENCH_KEEP")  # a directory: keep what the terminal received
            if keep:
                for part in ("idle", "canary", "small"):
                    (Path(keep) / f"live-{part}.out").write_bytes((tmp / f"{part}.out").read_bytes())
    finally:
        tmux.close()
    per_update = total_bytes / polls if polls else float("nan")
    report("2", "live watch, canary 5 %, 120×40: bytes/s", round(bps / 1024, 2), "KB/s", "≤ 3.5 KB/s",
           bps / 1024 <= 3.5, f"idle dashboard: {idle_bps / 1024:.2f} KB/s",
           bytes_per_update=round(per_update), updates_per_s=round(polls / WINDOW_S, 2),
           canary_throughout=still_canary)
    report("2", "live watch, canary 5 %, 120×40: CPU", round(cpu * 100, 1), "% of a core", "≤ 5 %",
           cpu <= 0.05, f"idle dashboard: {idle_cpu * 100:.1f} %")
    report("2", "live watch, canary 5 %, 80×24: bytes/s", round(small_bps / 1024, 2), "KB/s",
           "< the 120×40 figure", small_bps < bps, f"120×40: {bps / 1024:.2f} KB/s",
           cpu_pct=round(small_cpu * 100, 1), canary_throughout=small_canary)


if __name__ == "__main__":
    main()
