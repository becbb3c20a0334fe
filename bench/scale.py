"""Figure 3, scale: ``gonogo demo --services 200`` (the sandbox grown to 200 services:
the health grid and the health check cover all of them) driven to the 5 % canary as in
figure 2, then, while it holds there: key press to updated frame, and the panel
process's share of a core over 20 s of watching.

Key press to updated frame: ↓ and ↑ in turn in the checklist, 40 presses at a person's
pace, each timed from ``tmux send-keys`` until the pane shows the cursor on another row
(``capture-pane -e`` polled back to back: the cursor is the one line drawn in the
cursor's colours). Budget: ≤ 15 % of a core, p95 ≤ 50 ms. Anchor, same run: the same
with the sandbox's default size (15 services).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, VENV_BIN, report, state_env
from live_watch import drive_to_canary, measure, panel_pid
from terminal import Tmux

sys.path.insert(0, str(ROOT / "tests"))

SIZES = (15, 200)  # the anchor first
PRESSES = 40
WINDOW_S = 20.0
SPEED = "40"  # a 30 m hold lasts 45 s: the presses and the CPU window fit in the canary's
CURSOR = "\x1b[38;5;231m\x1b[48;5;24m"  # the checklist cursor's colours (default theme)


def cursor(tmux: Tmux, name: str) -> tuple[int, str] | None:
    """(screen row, its text) of the checklist's cursor, or None when not on screen."""
    rows = [(i, line) for i, line in enumerate(tmux.screen(name, styled=True).splitlines())
            if CURSOR in line]
    return rows[0] if len(rows) == 1 else None


def key_latencies(tmux: Tmux, name: str) -> list[float]:
    rng = random.Random(3)
    laps = []
    if cursor(tmux, name) is None:
        raise RuntimeError("no checklist cursor on screen:\n" + tmux.screen(name))
    for k in range(PRESSES):
        before = cursor(tmux, name)
        started = time.perf_counter()
        tmux.keys(name, "Down" if k % 2 == 0 else "Up")
        while (now := cursor(tmux, name)) is None or now == before:
            if time.perf_counter() - started > 5:
                raise TimeoutError(f"the cursor did not move:\n{tmux.screen(name)}")
        laps.append(time.perf_counter() - started)
        time.sleep(0.2 + rng.random() * 0.1)  # not in step with the panel's 1 s tick
    return laps


def one(tmux: Tmux, services: int) -> tuple[list[float], float, float, bool]:
    """(key latencies, share of a core, bytes/s, still holding at 5 %) at ``services``."""
    from support.fleet import free_port_base

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        session = tmp / "demo"
        base = free_port_base(span=300 + services)
        name = tmux.start([str(VENV_BIN / "gonogo"), "demo", "--speed", SPEED, "--session", str(session),
                           "--services", str(services), "--port-base", str(base)],
                          env={"TERM": "xterm-256color", **state_env(tmp)}, cwd=tmp)
        try:
            pid = panel_pid(tmux.pane_pid(name))
            tmux.wait_screen(name, lambda s: "Stable" in s and "q Quit" in s, "dashboard")
            drive_to_canary(tmux, name, session, session / "sandbox.toml")
            time.sleep(1)
            laps = key_latencies(tmux, name)
            _, cpu, _ = measure(tmux, name, pid, tmp / "watch.out", WINDOW_S)
            bps = (tmp / "watch.out").stat().st_size / WINDOW_S
            holding = "▶ Canary 5%" in tmux.screen(name) and "HOLDING" in tmux.screen(name)
        finally:
            tmux.kill(name)
            time.sleep(2)  # the demo stops its sandbox
    return laps, cpu, bps, holding


def p95(laps: list[float]) -> float:
    return statistics.quantiles(laps, n=20)[18]


def main() -> None:
    tmux = Tmux()
    try:
        (small, small_cpu, small_bps, _), (laps, cpu, bps, holding) = (one(tmux, n) for n in SIZES)
    finally:
        tmux.close()
    report("3", "scale: 200 services, canary 5 %, 120×40: CPU", round(cpu * 100, 1), "% of a core",
           "≤ 15 %", cpu <= 0.15, f"15 services: {small_cpu * 100:.1f} %",
           kb_per_s=round(bps / 1024, 2), anchor_kb_per_s=round(small_bps / 1024, 2),
           canary_throughout=holding)
    report("3", "scale: 200 services, key press to updated frame, p95", round(p95(laps) * 1000),
           "ms", "≤ 50 ms", p95(laps) <= 0.05, f"15 services: p95 {p95(small) * 1000:.0f} ms",
           median_ms=round(statistics.median(laps) * 1000), anchor_median_ms=round(statistics.median(small) * 1000),
           presses=len(laps))


if __name__ == "__main__":
    main()
