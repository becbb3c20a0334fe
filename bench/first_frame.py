"""Figure 1, first frame: ``gonogo tui --config sample-configs/monorepo.toml`` at
120×40 in tmux, from spawn to the full first screen, against a bare Textual app
(``bare_app.py``) measured interleaved in the same run; median of 5 each. Budget:
≤ 1.3× the bare app."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import HERE, ROOT, VENV_BIN, median, report
from terminal import Tmux, child_cpu_seconds

RUNS = 5
# The last things each screen fills in: the footer's keys, the last tree and table rows.
BARE_MARKERS = ["leaf 29", "row 14", "Quit"]
GONOGO_MARKERS = ["monorepo-2026.02", "Stage A", "api-gateway", "security approver", "q Quit"]


def main() -> None:
    tmux = Tmux()
    bare_times: list[float] = []
    gonogo_times: list[float] = []
    bare_cpu: list[float] = []
    gonogo_cpu: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(RUNS + 1):  # the first pair only warms the disk cache
                name = tmux.start([sys.executable, str(HERE / "bare_app.py")])
                took = tmux.wait_for(name, BARE_MARKERS)
                cpu = child_cpu_seconds(tmux.pane_pid(name))
                tmux.kill(name)
                if run:
                    bare_times.append(took)
                    bare_cpu.append(cpu)
                session = Path(tmp) / f"session{run}"
                name = tmux.start([str(VENV_BIN / "gonogo"), "tui", "--config",
                                   str(ROOT / "sample-configs/monorepo.toml"),
                                   "--session", str(session)], cwd=ROOT)
                took = tmux.wait_for(name, GONOGO_MARKERS)
                cpu = child_cpu_seconds(tmux.pane_pid(name))
                tmux.kill(name)
                if run:
                    gonogo_times.append(took)
                    gonogo_cpu.append(cpu)
    finally:
        tmux.close()
    bare, gonogo = median(bare_times), median(gonogo_times)
    ratio = gonogo / bare
    report("1", "first frame, monorepo.toml, 120×40", round(gonogo * 1000), "ms",
           "≤ 1.3× bare Textual", ratio <= 1.3, f"bare Textual: {bare * 1000:.0f} ms",
           ratio=round(ratio, 2), runs_ms=[round(t * 1000) for t in gonogo_times],
           bare_runs_ms=[round(t * 1000) for t in bare_times],
           # CPU time of the process when its first frame was seen: steadier than wall
           # time on a machine others share
           cpu_ms=round(median(gonogo_cpu) * 1000), bare_cpu_ms=round(median(bare_cpu) * 1000),
           cpu_ratio=round(median(gonogo_cpu) / median(bare_cpu), 2))


if __name__ == "__main__":
    main()
