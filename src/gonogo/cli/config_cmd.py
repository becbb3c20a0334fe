"""``gonogo config validate FILE...``: exit 0 when every file is valid, else 2."""

from __future__ import annotations

from collections.abc import Sequence

from gonogo.cli import exits
from gonogo.cli.common import load_or_report


def run_validate(files: Sequence[str]) -> int:
    code = exits.OK
    for path in files:
        plan = load_or_report(path)
        if plan is None:
            code = exits.USAGE
            continue
        n_checks = sum(1 for _ in plan.checks())
        print(f"{path}: ok ({len(plan.gates)} gates, {n_checks} checks, {len(plan.rollout.stages)} stages)")
    return code
