"""``make bench``: run each figure's script, print every figure beside its budget and
the anchor it is measured against in the same run; ``--record`` also writes the table
into BENCHMARKS.md (between its ``bench:results`` markers).

    python bench/run.py [FIGURE ...] [--record]     # FIGURE: fanout, first_frame, ...

Each script prints ``BENCH {json}`` lines (``common.report``) and runs in a process of
its own; a script that fails is reported as such and the others still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# in the order of the figures; the slowest last
FIGURES = ["first_frame", "live_watch", "scale", "fanout", "detection", "journal", "memory", "watchers"]
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def run(name: str) -> tuple[list[dict[str, object]], str, float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE, capture_output=True,
                         text=True, check=False)
    rows = [json.loads(line[6:]) for line in out.stdout.splitlines() if line.startswith("BENCH ")]
    problem = "" if out.returncode == 0 else (out.stderr.strip().splitlines() or ["failed"])[-1]
    return rows, problem, time.monotonic() - started


def verdict(ok: object) -> str:
    return {True: "met", False: "MISSED", None: "—"}.get(ok, "?")  # type: ignore[arg-type]


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0]
    textual = subprocess.run([sys.executable, "-c", "import textual;print(textual.__version__)"],
                             capture_output=True, text=True, check=False).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Textual {textual}; "
            f"load average {load:.1f} when the run started")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", choices=[[], *FIGURES], default=[],
                        metavar="FIGURE", help=f"any of {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--record", action="store_true", help="write the table into BENCHMARKS.md")
    args = parser.parse_args()
    names = args.figures or FIGURES
    where = machine()
    print(f"gonogo benchmarks — {where}\n")
    table = ["| fig. | what | measured | budget | anchor (same run) | |", "|---|---|---|---|---|---|"]
    for name in names:
        rows, problem, took = run(name)
        for r in rows:
            value = f"{r['value']} {r['unit']}"
            print(f"[{r['figure']}] {r['name']}: {value}  (budget {r['budget']}; {r['anchor']})"
                  f"  {verdict(r['ok'])}")
            extra = {k: v for k, v in r.items()
                     if k not in {"figure", "name", "value", "unit", "budget", "ok", "anchor"}}
            if extra:
                print(f"      {json.dumps(extra, ensure_ascii=False)}")
            table.append(f"| {r['figure']} | {r['name']} | {value} | {r['budget']} | {r['anchor']} "
                         f"| {verdict(r['ok'])} |")
        if problem:
            print(f"[{name}] FAILED: {problem}")
            table.append(f"| | {name} | failed: {problem} | | | |")
        print(f"      ({name}: {took:.0f} s)\n")
    if args.record:
        doc = ROOT / "BENCHMARKS.md"
        text = doc.read_text(encoding="utf-8")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        block = "\n".join([START, f"Run of {stamp} on {where}.", "", *table, END])
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        doc.write_text(head + block + tail, encoding="utf-8")
        print(f"recorded in {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
