"""A real terminal for the end-to-end tests: one tmux session running one command;
keys in, screen text out. The ``terminal`` fixture (tests/system/conftest.py) makes
them and kills them after the test."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class Terminal:
    """One tmux session running one command; keys in, screen text out.

    Each terminal has its own tmux server (``-L NAME``): on the shared default server a
    test starting a session while another test's last session closed (and the server
    with it) failed at random ("server exited unexpectedly")."""

    def __init__(self, name: str, width: int, height: int, shots: Path) -> None:
        self.name, self.width, self.height, self.shots = name, width, height, shots
        self.count = 0
        self.diagnose: Callable[[], str] = lambda: ""  # extra context for a timeout

    def start(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        exports = " ".join(f"{k}={_q(v)}" for k, v in env.items())
        # COLUMNS/LINES from the test runner would override the pane's real size
        command = f"cd {_q(str(cwd))} && env -u COLUMNS -u LINES {exports} {' '.join(map(_q, argv))}; echo GONOGO-EXIT=$?; sleep 600"
        subprocess.run(self._tmux("new-session", "-d", "-s", self.name, "-x", str(self.width),
                                  "-y", str(self.height), command), check=True)

    def _tmux(self, *args: str) -> list[str]:
        return ["tmux", "-L", self.name, *args]

    def screen(self) -> str:
        out = subprocess.run(self._tmux("capture-pane", "-p", "-t", self.name),
                             capture_output=True, text=True, check=False)
        return out.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:
            args = self._tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), key)
            subprocess.run(args, check=True)
            time.sleep(0.3)  # a human's pace: each key lands on the widget it was meant for

    def wait_for_screen(self, predicate: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        time.sleep(2)  # still moving? (a frozen panel and a slow one look alike otherwise)
        moved = "changing" if self.screen() != text else "NOT changing"
        raise AssertionError(f"timed out waiting for {what}; screen ({moved}) was:\n{text}\n"
                             f"{self.diagnose()}")

    def shot(self, step: str) -> str:
        text = self.screen()
        self.count += 1
        (self.shots / f"{self.count:02d}-{step}.txt").write_text(text, encoding="utf-8")
        return text

    def kill(self) -> None:
        # this terminal's own server, which only this terminal started, and its socket
        subprocess.run(self._tmux("kill-server"), capture_output=True, check=False)
        sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (sockets / self.name).unlink(missing_ok=True)


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
