"""`gonogo demo` on a machine without PostgreSQL, Prometheus or Alertmanager, in a real
terminal: the panel says once which real servers the sandbox runs and which package
adds the others, the checklist goes GO, and quitting with nothing to resume removes
the demo's temp folder and says so (once). The demo runs moved with ``--port-base``
so that a demo or sandbox already on the default ports does not collide with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from support.fleet import free_port_base, without_servers

GONOGO = [sys.executable, "-m", "gonogo"]


def test_demo_without_real_servers_goes_go_and_cleans_up(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = without_servers(tmp_path / "masked")
    term = terminal(120, 40)
    term.start(GONOGO + ["demo", "--port-base", str(free_port_base())],
               env={"PATH": env["PATH"], "GONOGO_PG_BIN": env["GONOGO_PG_BIN"], "TMPDIR": str(temp),
                    "TERM": "xterm-256color"}, cwd=tmp_path)  # fmt: skip

    opened = term.wait_for_screen(lambda s: "Real servers in this sandbox" in s, "the servers notice",
                                  timeout=120)
    term.shot("notice")
    # the toast is drawn over the right-hand side, each of its lines after a "▌"
    toast = " ".join(line.rpartition("▌")[2] for line in opened.splitlines() if "▌" in line)
    flat = " ".join(toast.split())
    for package in ("postgresql-15", "prometheus", "prometheus-alertmanager"):
        assert f"the {package} package adds it" in flat, package
    folders = list(temp.glob("gonogo-demo-*"))
    assert len(folders) == 1 and (folders[0] / "sandbox.toml").is_file()

    # no key pressed: the panel runs the checklist as it opens
    go = term.wait_for_screen(lambda s: " GO " in s.splitlines()[0], "GO after running the checklist",
                              timeout=120)
    term.shot("go")
    assert "NO-GO" not in go
    assert "– Prometheus targets up" in go and "– PostgreSQL reachable" in go

    term.keys("q")  # nothing under way: no question, and nothing to resume
    done = term.wait_for_screen(lambda s: "GONOGO-EXIT=" in s, "the demo to exit", timeout=60)
    term.shot("quit")
    flat = "".join(done.split())
    assert "GONOGO-EXIT=0" in flat
    assert f"demofolder{folders[0]}removed" in flat and "resumewith" not in flat
    assert not folders[0].exists(), "the demo's temp folder stays behind"
