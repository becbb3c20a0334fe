"""docs/tutorial.md runs as written: its files and commands, taken from the page, give
the NO-GO and then the GO it promises.

The page's code blocks say what they are in their info string: ``file=NAME`` (write the
file), ``append=NAME`` (add to it), ``sh run exit=N`` (run in bash in the working
directory; must exit N), ``sh background`` (the services, started and stopped here).
``gonogo`` on the page is this checkout's gonogo (a shim first on PATH). The services'
ports are moved to a free block so that the test never collides with anything.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
_PORT = re.compile(r"127\.0\.0\.1:81(0[1-9])")

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class Block:
    lang: str
    attrs: dict[str, str]
    flags: frozenset[str]
    body: str


def blocks(text: str) -> list[Block]:
    out = []
    for m in _FENCE.finditer(text):
        words = m.group("info").split()
        if not words:
            continue
        attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = frozenset(w for w in words[1:] if "=" not in w)
        out.append(Block(words[0], attrs, flags, m.group("body")))
    return out


def free_base() -> int:
    for _ in range(100):
        base = 20000 + (os.getpid() * 7 + int(time.time() * 1000)) % 30000 // 10 * 10
        socks = []
        try:
            for port in range(base + 1, base + 4):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            time.sleep(0.01)
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free ports")


def wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"services.py exited: {proc.communicate()[1]}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_tutorial_runs_to_a_go(tmp_path: Path) -> None:
    page = blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert sum(1 for b in page if "run" in b.flags) >= 6 and any("background" in b.flags for b in page)
    work = tmp_path / "shop-release"
    work.mkdir()
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "gonogo").write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m gonogo \"$@\"\n")
    (shim / "gonogo").chmod(0o755)
    base = free_base()
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "PORT_BASE": str(base),
           "COLUMNS": "200"}
    env.pop("GONOGO_SANDBOX_DIR", None)

    def moved(text: str) -> str:
        return _PORT.sub(lambda m: f"127.0.0.1:{base + int(m.group(1))}", text)

    services: subprocess.Popen[str] | None = None
    outputs: list[tuple[str, int, str]] = []
    try:
        for block in page:
            if "file" in block.attrs:
                (work / block.attrs["file"]).write_text(moved(block.body), encoding="utf-8")
            elif "append" in block.attrs:
                with open(work / block.attrs["append"], "a", encoding="utf-8") as fh:
                    fh.write(moved(block.body))
            elif "background" in block.flags:
                services = subprocess.Popen(shlex.split(block.body.strip()), cwd=work, env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for port in range(base + 1, base + 4):
                    wait_listening(port, services)
            elif "run" in block.flags and not block.body.startswith("mkdir"):
                run = subprocess.run(["bash", "-e", "-c", block.body], cwd=work, env=env,
                                     capture_output=True, text=True, timeout=120)
                expected = int(block.attrs.get("exit", "0"))
                shown = run.stdout + run.stderr
                assert run.returncode == expected, f"{block.body}\nexit {run.returncode}:\n{shown}"
                assert "Traceback" not in shown, shown
                outputs.append((block.body.strip(), run.returncode, run.stdout))
    finally:
        if services is not None:
            services.terminate()
            services.communicate(timeout=10)  # closes its pipes
    checks = [out for cmd, _, out in outputs if cmd.startswith("gonogo check")]
    nogo, go = checks[0], checks[-1]
    assert "Verdict: NO-GO" in nogo and "owners.release_manager" in nogo
    assert "Verdict: GO" in go
    for title in ("Every service answers /health", "A customer can order a mug", "Unit tests pass"):
        assert title in go
    assert "identical" in go and "keyed hash" in go  # the signing key check passed...
    key = (work / "cart.env").read_text().split("SHOP_SIGNING_KEY=")[1].split()[0]
    assert key not in go, "...without ever showing the key"
