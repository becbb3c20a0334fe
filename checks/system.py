"""Local check kinds: ``command`` (an argv, no shell) and ``manual`` (a sign-off)."""

from __future__ import annotations

import asyncio
import os
import time

import msgspec

from gonogo.context import CheckContext
from gonogo.model import Outcome, Status
from gonogo.values import Duration

OUTPUT_TAIL_LINES = 20


class CommandParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    argv: tuple[str, ...]
    cwd: str = ""  # relative to the config file's directory
    expect_exit: int = 0
    deadline: Duration = Duration(300.0)  # the process is killed after this long


class Command:
    """Run a program (no shell); pass when it exits with ``expect_exit``."""

    kind = "command"
    Params = CommandParams

    async def run(self, params: CommandParams, ctx: CheckContext) -> Outcome:
        if not params.argv:
            return Outcome.errored("empty argv")
        cwd = os.path.join(ctx.base_dir, params.cwd) if params.cwd else ctx.base_dir
        started = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_exec(
                *params.argv,
                cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError:
            return Outcome.errored(f"command not found: {params.argv[0]}")
        except PermissionError:
            return Outcome.errored(f"not executable: {params.argv[0]}")
        except OSError as exc:
            return Outcome.errored(f"cannot start {params.argv[0]}: {exc.strerror}")
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), params.deadline.seconds)
        except (TimeoutError, asyncio.CancelledError) as exc:
            _kill(proc)
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return Outcome.errored(f"{params.argv[0]} still running after {params.deadline}; killed")
        elapsed = time.perf_counter() - started
        lines = out.decode("utf-8", "replace").splitlines()[-OUTPUT_TAIL_LINES:]
        evidence = {"argv": list(params.argv), "exit": proc.returncode, "seconds": round(elapsed, 2)}
        name = os.path.basename(params.argv[0])
        if proc.returncode == params.expect_exit:
            return Outcome(Status.PASS, f"{name} exited {proc.returncode}", tuple(lines), evidence)
        return Outcome(
            Status.FAIL,
            f"{name} exited {proc.returncode}, expected {params.expect_exit}"
            + (f": {lines[-1][:120]}" if lines else ""),
            tuple(lines),
            evidence,
        )


def _kill(proc: asyncio.subprocess.Process) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ManualParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    who: str = ""  # a role from [owners] or a person's name
    instructions: str = ""


class Manual:
    """A named person's sign-off, recorded in the session log by the panel or CLI."""

    kind = "manual"
    Params = ManualParams

    async def run(self, params: ManualParams, ctx: CheckContext) -> Outcome:
        signoff = ctx.signoffs.get(ctx.check_id)
        who = ctx.plan.owners.get(params.who, params.who) if params.who else "an operator"
        if signoff is None:
            return Outcome(
                Status.PENDING,
                f"awaiting sign-off by {who}",
                (params.instructions,) if params.instructions else (),
            )
        return Outcome.passed(f"signed off by {signoff.actor}", signoff.note, actor=signoff.actor, at=signoff.at)


KINDS = [Command, Manual]
