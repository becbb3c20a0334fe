"""Figure 8, watchers: event to watcher screen. ``gonogo rollout --yes`` drives a
session (a scripted gateway admin API on loopback, the canary held waiting for a
sign-off nobody gives), five ``gonogo watch`` panels follow it in 100×30 tmux panes, and
``gonogo note`` adds a note ten times; each is timed from the note's event time (the
driver's clock, in the journal) until its text reaches each watcher's terminal (what
the pane receives, recorded with ``pipe-pane`` and read every 2 ms; the pane is then
checked to show it): 50 samples. On a file session (``--session DIR``), then through
PostgreSQL (``--store``: a throwaway PostgreSQL 15 cluster, as the integration tests
start one). Budget: p95 ≤ 200 ms (file), ≤ 250 ms (PostgreSQL). Anchor, same run: one
watcher alone on the file session.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, VENV_BIN, env_for_child, report, state_env
from terminal import Tmux

sys.path.insert(0, str(ROOT / "tests"))

NOTES = 10
WATCHERS = 5
STORE_VAR = "GONOGO_BENCH_STORE"


@contextmanager
def scripted_admin() -> Iterator[str]:
    """The sandbox's admin API as the tests script it, on loopback in a thread."""
    from support.loopback import serve
    from support.rollout import ScriptedAdmin

    ready: list[str] = []
    started, stop = threading.Event(), threading.Event()

    async def run() -> None:
        async with serve(ScriptedAdmin().app) as base:
            ready.append(base)
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield ready[0]
    finally:
        stop.set()
        thread.join(10)


def note_time(where: list[str], env: dict[str, str], text: str) -> float | None:
    """The journal time of the note ``text`` (the driver's clock when it appended it)."""
    if where[0] == "--session":
        lines = (Path(where[1]) / "events.jsonl").read_bytes().splitlines()[-20:]
        records = [json.loads(line) for line in lines]
    else:
        import psycopg

        with psycopg.connect(env[STORE_VAR]) as conn:
            rows = conn.execute("SELECT line FROM gonogo_events WHERE kind = 'note' "
                                "ORDER BY seq DESC LIMIT 5").fetchall()
        records = [json.loads(r[0]) for r in rows]
    return next((r["time"] for r in records if r["kind"] == "note" and r["data"]["text"] == text), None)


def measure(tmux: Tmux, tmp: Path, plan: Path, where: list[str], env: dict[str, str],
            watchers: int, label: str) -> list[float]:
    """Seconds from each note's event to its text on each watcher's screen."""
    gonogo = str(VENV_BIN / "gonogo")
    driver = subprocess.Popen(
        [gonogo, "rollout", "--config", str(plan), *where, "--yes", "--speed", "1",
         "--actor", "Ada Lovelace"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp)
    names: list[str] = []
    laps: list[float] = []
    try:
        time.sleep(2)  # the driver opens the session first
        for i in range(watchers):
            names.append(tmux.start([gonogo, "watch", "--config", str(plan), *where,
                                     "--actor", f"Watcher {i + 1}"],
                                    width=100, height=30, env={"TERM": "xterm-256color", **env}, cwd=tmp))
        for name in names:
            tmux.wait_screen(name, lambda s: "WATCHING" in s and "Canary" in s and "q Quit" in s, "the watcher's dashboard",
                             timeout=90)
        outs = {name: tmp / f"{label}-{name}.out" for name in names}
        for name, out in outs.items():
            out.write_bytes(b"")
            tmux.pipe(name, out)
        time.sleep(1)
        for k in range(NOTES):
            text = f"mk-{label}-{k:02d}"
            offsets = {name: out.stat().st_size for name, out in outs.items()}
            note = subprocess.Popen([gonogo, "note", "--config", str(plan), *where, "--as", "Bench",
                                     text], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=env, cwd=tmp)
            seen: dict[str, float] = {}
            deadline = time.monotonic() + 15
            while len(seen) < len(names) and time.monotonic() < deadline:
                for name, out in outs.items():  # what each terminal received since the note
                    if name not in seen:
                        at = time.time()
                        with out.open("rb") as fh:
                            fh.seek(offsets[name])
                            if text.encode() in fh.read():
                                seen[name] = at
                time.sleep(0.002)
            _, err = note.communicate(timeout=30)
            when = note_time(where, env, text)
            if when is None or len(seen) < len(names) or any(text not in tmux.screen(n) for n in names):
                raise RuntimeError(f"note {text}: journaled at {when}, on {len(seen)} screens; "
                                   f"{err.decode()[-300:]}\n{tmux.screen(names[0])}")
            laps += [at - when for at in seen.values()]
            time.sleep(1.0)
    finally:
        for name in names:
            tmux.kill(name)
        driver.terminate()
        try:
            driver.wait(20)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()
    return laps


def p95(laps: list[float]) -> float:
    return statistics.quantiles(laps, n=20)[18]


def main() -> None:
    from gonogo.sandbox.pgcluster import PgCluster
    from support.rollout import write_cli_plan

    tmux = Tmux()
    try:
        with tempfile.TemporaryDirectory() as tmp_name, scripted_admin() as admin:
            tmp = Path(tmp_name)
            plan = write_cli_plan(tmp, admin)
            env = {**env_for_child(), **state_env(tmp)}
            alone = measure(tmux, tmp, plan, ["--session", str(tmp / "one")], env, 1, "a")
            files = measure(tmux, tmp, plan, ["--session", str(tmp / "five")], env, WATCHERS, "f")
            missing = PgCluster.missing_reason()
            pgs: list[float] = []
            if not missing:
                with PgCluster() as pg:
                    c = pg.conninfo()
                    env[STORE_VAR] = (f"postgresql://{c['user']}:{c['password']}@{c['host']}:{c['port']}"
                                      f"/{c['dbname']}")
                    pgs = measure(tmux, tmp, plan, ["--store", f"env:{STORE_VAR}", "--session", "bench-8"],
                                  env, WATCHERS, "p")
    finally:
        tmux.close()
    report("8", f"watchers: note to screen, file session, {WATCHERS} watchers, p95", round(p95(files) * 1000),
           "ms", "≤ 200 ms", p95(files) <= 0.2, f"1 watcher: p95 {p95(alone) * 1000:.0f} ms",
           median_ms=round(statistics.median(files) * 1000), samples=len(files))
    name = f"watchers: note to screen, PostgreSQL store, {WATCHERS} watchers, p95"
    if missing:
        report("8", name, "not run", "", "≤ 250 ms", None, f"no PostgreSQL 15 here: {missing}")
        return
    report("8", name, round(p95(pgs) * 1000), "ms", "≤ 250 ms", p95(pgs) <= 0.25,
           f"file session: p95 {p95(files) * 1000:.0f} ms",
           median_ms=round(statistics.median(pgs) * 1000), samples=len(pgs))


if __name__ == "__main__":
    main()
