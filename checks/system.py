"""Local check kinds: ``command`` (an argv, no shell), ``manual`` (a sign-off) and
``volumes`` (persistent volumes exist and are mounted, seed checklist 1.2)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import ClassVar

import msgspec

from gonogo.context import CheckContext
from gonogo.model import Outcome, Status
from gonogo.procs import run_argv
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
        run = await run_argv(params.argv, cwd=cwd, timeout=params.deadline.seconds)
        if isinstance(run.start_error, FileNotFoundError):
            return Outcome.errored(f"command not found: {params.argv[0]}")
        if isinstance(run.start_error, PermissionError):
            return Outcome.errored(f"not executable: {params.argv[0]}")
        if run.start_error is not None:
            return Outcome.errored(f"cannot start {params.argv[0]}: {run.start_error.strerror}")
        if run.timed_out:
            return Outcome.errored(f"{params.argv[0]} still running after {params.deadline}; killed")
        elapsed = time.perf_counter() - started
        # split on newlines only: str.splitlines() also splits on \v, \f, \x1c.. and
        # \u2028, which a hostile program can use to hide its real last line
        lines = run.output.rstrip("\n").split("\n")[-OUTPUT_TAIL_LINES:] if run.output.strip() else []
        lines = [ctx.redactor.text(line) for line in lines]  # a program's output is untrusted
        last = next((line for line in reversed(lines) if line.strip()), "")
        evidence = {"argv": list(params.argv), "exit": run.exit_code, "seconds": round(elapsed, 2)}
        name = os.path.basename(params.argv[0])
        if run.exit_code == params.expect_exit:
            return Outcome(Status.PASS, f"{name} exited {run.exit_code}", tuple(lines), evidence)
        return Outcome(
            Status.FAIL,
            f"{name} exited {run.exit_code}, expected {params.expect_exit}"
            + (f": {ctx.redactor.excerpt(last, 120)}" if last else ""),
            tuple(lines),
            evidence,
        )


class ManualParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    role_fields: ClassVar[tuple[str, ...]] = ("who",)  # a misspelt [owners] role is refused

    who: str = ""  # a role from [owners] or a person's name
    instructions: str = ""


class Manual:
    """A named person's sign-off, recorded in the session log by the panel or CLI."""

    kind = "manual"
    Params = ManualParams

    async def run(self, params: ManualParams, ctx: CheckContext) -> Outcome:
        signoff = ctx.signoffs.get(ctx.check_id)
        if signoff is None:
            return Outcome(
                Status.PENDING,
                f"awaiting sign-off by {signer(params.who, ctx.plan.owners)}: s on this check in "
                f"the panel, or gonogo signoff {ctx.check_id} --as NAME --note TEXT",
                (params.instructions,) if params.instructions else (),
            )
        if signoff.automatic:
            return Outcome.passed(
                f"signed off AUTOMATICALLY ({signoff.rule or 'rule'}): no person ran this",
                signoff.note, actor=signoff.actor, at=signoff.at, automatic=True)
        role = f" as {signoff.role}" if signoff.role else ""
        return Outcome.passed(f"signed off by {signoff.actor}{role}", signoff.note,
                              actor=signoff.actor, at=signoff.at, role=signoff.role)


def signer(role: str, owners: Mapping[str, str]) -> str:
    """``release_manager (Rosa Diaz)``; ``an operator`` when the check names no role."""
    if not role:
        return "an operator"
    name = owners.get(role, "")
    return f"{role} ({name})" if name else role


class VolumesParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    volumes: tuple[str, ...] = ()  # default: every [[services]].volumes entry
    # Where each volume lives on this host, e.g. "/var/lib/docker/volumes/{name}/_data";
    # relative paths are taken from the config file's directory.
    root: str = ""
    # Or/and a program listing the volumes that exist, one name per line, e.g.
    # ["docker", "volume", "ls", "--format", "{{.Name}}"] (argv, no shell).
    inventory: tuple[str, ...] = ()
    require_mount: bool = False  # the path must be a mount point, not a plain directory
    deadline: Duration = Duration(60.0)

    def __post_init__(self) -> None:
        if not self.root and not self.inventory:
            raise ValueError("volumes needs a root path template or an inventory argv")
        if self.root and "{name}" not in self.root:
            raise ValueError("root must contain {name}, e.g. '/srv/volumes/{name}'")
        if self.require_mount and not self.root:
            raise ValueError("require_mount needs a root path template")


class Volumes:
    """Each persistent volume exists (inventory and/or path) and, if asked, is mounted."""

    kind = "volumes"
    Params = VolumesParams

    async def run(self, params: VolumesParams, ctx: CheckContext) -> Outcome:
        names = params.volumes or tuple(
            dict.fromkeys(v for svc in ctx.plan.services for v in svc.volumes)
        )
        if not names:
            return Outcome.skipped("no volumes listed (params.volumes or [[services]].volumes)")
        problems: dict[str, str] = {}
        evidence: dict[str, object] = {"volumes": list(names)}
        if params.inventory:
            listed = await self._inventory(params, ctx)
            if isinstance(listed, Outcome):
                return listed
            evidence["inventory"] = sorted(listed)
            for name in names:
                if name not in listed:
                    problems[name] = f"not listed by {os.path.basename(params.inventory[0])}"
        if params.root:
            paths: dict[str, str] = {}
            for name in names:
                path = os.path.join(ctx.base_dir, params.root.replace("{name}", name))
                paths[name] = path
                if name in problems:
                    continue
                if not os.path.isdir(path):
                    problems[name] = f"no directory {path}"
                elif params.require_mount and not os.path.ismount(path):
                    problems[name] = f"{path} is not a mount point"
            evidence["paths"] = paths
        if problems:
            found = [f"{name}: {why}" for name, why in problems.items()]
            head = f"{len(problems)}/{len(names)} volume(s) missing or unmounted: {found[0]}"
            return Outcome.failed(head, *found, **evidence)
        how = "mounted" if params.require_mount else "present"
        return Outcome.passed(f"{len(names)} volume(s) {how}", **evidence)

    async def _inventory(self, params: VolumesParams, ctx: CheckContext) -> set[str] | Outcome:
        name = os.path.basename(params.inventory[0])
        run = await run_argv(
            params.inventory, cwd=ctx.base_dir, timeout=params.deadline.seconds, merge_stderr=False
        )
        if isinstance(run.start_error, FileNotFoundError):
            return Outcome.errored(f"inventory command not found: {params.inventory[0]}")
        if run.start_error is not None:
            return Outcome.errored(f"cannot start {name}: {run.start_error.strerror}")
        if run.timed_out:
            return Outcome.errored(f"{name} still running after {params.deadline}; killed")
        if run.exit_code != 0:
            last = run.errors.strip().splitlines()[-1:] or [""]
            return Outcome.errored(f"{name} exited {run.exit_code}: {ctx.redactor.excerpt(last[0], 120)}")
        return {line.strip() for line in run.output.splitlines() if line.strip()}


KINDS = [Command, Manual, Volumes]
