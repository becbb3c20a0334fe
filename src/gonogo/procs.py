"""Child processes that must not outlive gonogo: commands run by checks, traffic
drivers and runbook steps; the demo's sandbox and its servers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies.

    A panel killed by a dropped SSH connection (SIGHUP) or by SIGKILL would otherwise
    leave the sandbox and its Prometheus and Alertmanager holding their ports. The
    signal comes when the *thread* that started the child exits, so start such children
    from a thread that lives as long as they should. ``None`` off Linux.
    """
    return _set_parent_death_signal if sys.platform.startswith("linux") else None


@dataclass(frozen=True, slots=True)
class Finished:
    """How a program run by ``run_argv`` ended."""

    exit_code: int | None  # None: it could not start, or was killed at its deadline
    output: str  # stdout, with stderr merged in unless kept apart
    errors: str = ""  # stderr, when ``merge_stderr=False``
    start_error: OSError | None = None
    timed_out: bool = False


async def run_argv(
    argv: Sequence[str], *, cwd: str, timeout: float, merge_stderr: bool = True
) -> Finished:
    """Run a program (an argv, never a shell) under a deadline.

    It gets its own process group, so at the deadline — or when the caller is
    cancelled — the whole group is killed and reaped, never left running.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return Finished(None, "", start_error=exc)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return Finished(None, "", timed_out=True)
    return Finished(
        proc.returncode,
        out.decode("utf-8", "replace"),
        (err or b"").decode("utf-8", "replace"),
    )
