"""``gonogo check``: the checklist headless. Exit 0 GO, 1 NO-GO, 2 bad usage or config."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from gonogo.cli import exits
from gonogo.cli.common import load_or_report
from gonogo.config import Plan
from gonogo.model import CheckResult
from gonogo.untrusted import printable


def run_check(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    if args.gate:
        known = {g.id for g in plan.gates}
        unknown = [g for g in args.gate if g not in known]
        if unknown:
            from gonogo.schema import suggest

            for g in unknown:
                print(printable(f"gonogo: no gate {g!r} in {args.config}{suggest(g, known)}"), file=sys.stderr)
            return exits.USAGE
    from gonogo import report
    from gonogo.verdict import decide

    results = asyncio.run(_run_with_progress(plan, args.gate))
    # A gate-scoped run judges only what it ran.
    verdict = decide(_restrict(plan, args.gate) if args.gate else plan, results)
    to_file = bool(args.out)
    color = (not to_file) and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = report.render(args.format, plan, results, verdict, color=color)
    if to_file:
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(printable(f"gonogo: cannot write {args.out}: {exc.strerror}"), file=sys.stderr)
            return exits.USAGE
        print(printable(f"{verdict.label}: report written to {args.out}"), file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return exits.OK if verdict.go else exits.NOGO


def _restrict(plan: Plan, gate_ids: Sequence[str]) -> Plan:
    import msgspec

    gates = tuple(g for g in plan.gates if g.id in set(gate_ids))
    return msgspec.structs.replace(plan, doc=msgspec.structs.replace(plan.doc, gates=gates))


async def _run_with_progress(plan: Plan, gate_ids: Sequence[str] | None) -> dict[str, CheckResult]:
    from gonogo.context import make_context
    from gonogo.runner import run_checks, select

    selected = select(plan, gate_ids)
    ctx = make_context(plan)
    results: dict[str, CheckResult] = {}
    show = sys.stderr.isatty()
    try:
        async for result in run_checks(ctx, selected):
            results[result.check_id] = result
            if show:
                sys.stderr.write(
                    f"\r\x1b[2K{len(results)}/{len(selected)} {result.status.glyph} {printable(result.check_id)}"[:200]
                )
                sys.stderr.flush()
    finally:
        if show:
            sys.stderr.write("\r\x1b[2K")
        await ctx.aclose()
    return results
