"""The ``gonogo`` command line (SPEC §8).

Start-up stays fast: each subcommand imports what it needs when it runs.
Exit codes: 0 GO / success, 1 NO-GO / verification failure, 2 bad usage or
config, 3 rolled back (rollout), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gonogo import __version__

EXIT_OK, EXIT_NOGO, EXIT_USAGE, EXIT_ROLLED_BACK, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gonogo",
        description="Terminal control panel for go/no-go checklists, canary rollouts and rollbacks.",
    )
    parser.add_argument("--version", action="version", version=f"gonogo {__version__}")
    parser.add_argument("--config", "-c", help="config file (opens the panel when no command is given)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("tui", help="open the control panel")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="session directory to resume or start")
    p.add_argument("--theme", help="theme name")

    p = sub.add_parser("check", help="run the checklist headless")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--gate", action="append", metavar="ID", help="only this gate (repeatable)")
    p.add_argument("--format", "-f", choices=("table", "json", "junit", "markdown"), default="table")
    p.add_argument("--out", "-o", metavar="FILE", help="write the report here instead of stdout")

    p = sub.add_parser("config", help="config tools")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    v = csub.add_parser("validate", help="validate config files")
    v.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("demo", help="start the built-in sandbox and open the panel on it")
    p.add_argument("--scenario", default="healthy")
    p.add_argument("--speed", type=float, default=60.0, help="simulated-time factor")
    p.add_argument("--session", help="session directory")
    p.add_argument("--config", "-c", help="sandbox config (default: the built-in sandbox.toml)")

    p = sub.add_parser("sandbox", help="run the simulated fleet in the foreground")
    p.add_argument("--scenario", default="healthy")
    p.add_argument("--speed", type=float, default=1.0, help="simulated-time factor")
    p.add_argument("--config", "-c", help="sandbox config (default: the built-in sandbox.toml)")

    p = sub.add_parser("rollout", help="drive the rollout in a plain terminal")
    p.add_argument("--config", "-c", required=True)
    p.add_argument("--session", help="session directory (resumed when it exists)")
    p.add_argument("--yes", action="store_true", help="confirm every advance automatically")
    p.add_argument("--speed", type=float, default=1.0, help="compress holds and rule durations")
    p.add_argument("--actor", help="your name in the session log")

    p = sub.add_parser("log", help="session log tools")
    lsub = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    e = lsub.add_parser("export", help="export a session log")
    e.add_argument("session")
    e.add_argument("--format", "-f", choices=("toml", "json"), default="json")
    e.add_argument("--out", "-o", metavar="FILE")
    vv = lsub.add_parser("verify", help="verify a session log's hash chain")
    vv.add_argument("session")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return dispatch(parser, args)
    except KeyboardInterrupt:
        print("gonogo: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        if not args.config:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        args.session = None
        args.theme = None
        command = "tui"
    if command == "check":
        return cmd_check(args)
    if command == "config":
        return cmd_validate(args.files)
    if command == "tui":
        from gonogo.app_cli import run_tui

        return run_tui(args)
    if command == "demo":
        from gonogo.app_cli import run_demo

        return run_demo(args)
    if command == "sandbox":
        from gonogo.sandbox.cli import run_sandbox

        return run_sandbox(args)
    if command == "rollout":
        from gonogo.rollout.cli import run_rollout

        return run_rollout(args)
    if command == "log":
        from gonogo.rollout.cli import run_log

        return run_log(args)
    parser.error(f"unknown command {command!r}")
    return EXIT_USAGE


def load_or_report(path: str):  # type: ignore[no-untyped-def]
    """The plan, or ``None`` after printing every problem (the caller exits 2)."""
    from gonogo.config import ConfigError, load_plan

    try:
        return load_plan(path)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        count = len(exc.problems)
        print(f"gonogo: {count} problem{'s' if count != 1 else ''} in {path}", file=sys.stderr)
        return None


def cmd_validate(files: Sequence[str]) -> int:
    code = EXIT_OK
    for path in files:
        plan = load_or_report(path)
        if plan is None:
            code = EXIT_USAGE
            continue
        n_checks = sum(1 for _ in plan.checks())
        print(f"{path}: ok ({len(plan.gates)} gates, {n_checks} checks, {len(plan.rollout.stages)} stages)")
    return code


def cmd_check(args: argparse.Namespace) -> int:
    import asyncio

    plan = load_or_report(args.config)
    if plan is None:
        return EXIT_USAGE
    if args.gate:
        known = {g.id for g in plan.gates}
        unknown = [g for g in args.gate if g not in known]
        if unknown:
            from gonogo.schema import suggest

            for g in unknown:
                print(f"gonogo: no gate {g!r} in {args.config}{suggest(g, known)}", file=sys.stderr)
            return EXIT_USAGE
    from gonogo import report
    from gonogo.verdict import decide

    results = asyncio.run(_run_with_progress(plan, args.gate))
    if args.gate:  # a gate-scoped run judges only what it ran
        plan_for_verdict = _restrict(plan, args.gate)
    else:
        plan_for_verdict = plan
    verdict = decide(plan_for_verdict, results)
    to_file = bool(args.out)
    color = (not to_file) and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = report.render(args.format, plan, results, verdict, color=color)
    if to_file:
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"gonogo: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        print(f"{verdict.label}: report written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK if verdict.go else EXIT_NOGO


def _restrict(plan, gate_ids):  # type: ignore[no-untyped-def]
    import msgspec

    gates = tuple(g for g in plan.gates if g.id in set(gate_ids))
    return msgspec.structs.replace(plan, doc=msgspec.structs.replace(plan.doc, gates=gates))


async def _run_with_progress(plan, gate_ids):  # type: ignore[no-untyped-def]
    from gonogo.context import make_context
    from gonogo.runner import run_checks, select

    selected = select(plan, gate_ids)
    ctx = make_context(plan)
    results = {}
    show = sys.stderr.isatty()
    try:
        async for result in run_checks(ctx, selected):
            results[result.check_id] = result
            if show:
                sys.stderr.write(
                    f"\r\x1b[2K{len(results)}/{len(selected)} {result.status.glyph} {result.check_id}"[:200]
                )
                sys.stderr.flush()
    finally:
        if show:
            sys.stderr.write("\r\x1b[2K")
        await ctx.aclose()
    return results
