"""A program in a tmux terminal of a given size, on a private tmux server: start it,
read its screen, record what it writes (``pipe-pane``), stop it."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class Tmux:
    def __init__(self) -> None:
        self.socket = f"gonogo-bench-{os.getpid()}"
        self.count = 0
        # a session that stays, so that the server does not exit (and race the next
        # new-session) each time a measured one is killed
        self._run("new-session", "-d", "-s", "keep", "sleep 3600")

    def _run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                             capture_output=True, text=True, check=check)
        return out.stdout

    def start(self, argv: list[str], *, width: int = 120, height: int = 40,
              cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
        """A new session running ``argv``; returns its name."""
        self.count += 1
        name = f"s{self.count}"
        # COLUMNS/LINES would override the pane's size; bytecode is cached as on a user's
        # machine (a shell with PYTHONDONTWRITEBYTECODE compiles gonogo at every start)
        unset = "-u COLUMNS -u LINES -u PYTHONDONTWRITEBYTECODE"
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        command = f"env {unset} {extra} {shlex.join(argv)}; sleep 600"
        self._run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                  "-c", str(cwd or os.getcwd()), command)
        return name

    def screen(self, name: str, *, styled: bool = False) -> str:
        """The pane's text; ``styled``: with its colours and attributes (escape codes)."""
        return self._run("capture-pane", "-p", *(["-e"] if styled else []), "-t", name, check=False)

    def pane_pid(self, name: str) -> int:
        return int(self._run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def wait_for(self, name: str, markers: list[str], timeout: float = 30.0,
                 poll: float = 0.01) -> float:
        """Seconds until the screen shows every marker (raises on timeout)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            text = self.screen(name)
            if all(m in text for m in markers):
                return time.perf_counter() - started
            time.sleep(poll)
        raise TimeoutError(f"{markers} not on screen after {timeout}s:\n{self.screen(name)}")

    def wait_screen(self, name: str, predicate: Callable[[str], bool], what: str,
                    timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen(name)
            if predicate(text):
                return text
            time.sleep(0.2)
        raise TimeoutError(f"no {what} after {timeout:.0f}s; the screen:\n{text}")

    def type(self, name: str, *keys: str, literal: bool = False) -> None:
        """Keys at a person's pace: each lands on the widget it was meant for."""
        for key in keys:
            self._run("send-keys", "-t", name, *(["-l"] if literal else []), key)
            time.sleep(0.3)

    def pipe(self, name: str, path: Path) -> None:
        self._run("pipe-pane", "-t", name, f"cat >> {shlex.quote(str(path))}")

    def unpipe(self, name: str) -> None:
        self._run("pipe-pane", "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        self._run("send-keys", "-t", name, *keys)

    def kill(self, name: str) -> None:
        self._run("kill-session", "-t", name, check=False)

    def close(self) -> None:
        self._run("kill-server", check=False)


def child_cpu_seconds(shell_pid: int) -> float:
    """CPU seconds (user + system) of the program a pane's shell runs: its first child."""
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{shell_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks
    return float("nan")
