"""The ``gonogo`` command line: the composition root.

This package is the only place that wires the layers together (config, runner,
rollout engine, panel, sandbox). Start-up stays fast: this module imports only
argparse and the exit codes; each subcommand's module is imported when it runs.
Exit codes live in ``gonogo.cli.exits``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gonogo import __version__
from gonogo.cli import exits

STORE_HELP = ("a PostgreSQL session store: a postgresql://USER@HOST:PORT/DBNAME URL without a "
              "password, or a reference to the DSN (env:NAME, file:PATH, vault:MOUNT/PATH#KEY); "
              "default [session] store, else session directories. With a store, --session is "
              "the session's key (default: the release's name)")


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
    p.add_argument("--session", help="session directory to resume or start (with --store: its key)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("--theme", help="theme name")
    p.add_argument("--actor", help="your name in the session log (default $GONOGO_ACTOR, "
                                   "[settings] actor, user@host)")

    p = sub.add_parser("check", help="run the checklist headless")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--gate", action="append", metavar="ID", help="only this gate (repeatable)")
    p.add_argument("--format", "-f", choices=("table", "json", "junit", "markdown"), default="table",
                   help="report format")
    p.add_argument("--out", "-o", metavar="FILE", help="write the report here instead of stdout")

    p = sub.add_parser("config", help="config tools")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    v = csub.add_parser("validate", help="validate config files")
    v.add_argument("files", nargs="+", metavar="FILE", help="config files to validate")

    p = sub.add_parser("demo", help="start the built-in sandbox and open the panel on it")
    p.add_argument("--scenario", default="healthy", help="the sandbox scenario (faults to inject)")
    p.add_argument("--speed", type=float, default=60.0, help="simulated-time factor")
    p.add_argument("--session", metavar="FOLDER",
                   help="the demo's folder (config copy, sandbox log, journal/): resumed when "
                        "it exists, kept when the demo ends; default: a temp folder, removed "
                        "at the end unless a rollout is under way in it")
    p.add_argument("--config", "-c", help="sandbox config (default: the built-in sandbox.toml)")
    p.add_argument("--actor", help="who you are in the demo (default: the sandbox's release manager)")
    p.add_argument("--port-base", type=int, metavar="N",
                   help="move every sandbox port by N-18000 (default 18000: ports 18000-18299)")
    p.add_argument("--services", type=int, metavar="N",
                   help="a sandbox of N services: the seed's 15, then generated ones on ports "
                        "from 18300 (default 15)")

    p = sub.add_parser("sandbox", help="run the simulated fleet in the foreground")
    p.add_argument("--scenario", default="healthy", help="the scenario (faults to inject)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated-time factor")
    p.add_argument("--config", "-c", help="sandbox config (default: the built-in sandbox.toml)")
    p.add_argument("--port-base", type=int, metavar="N",
                   help="move every sandbox port by N-18000 and its secrets to "
                        "/tmp/gonogo-sandbox-N; the moved config is written there")
    p.add_argument("--services", type=int, metavar="N",
                   help="grow the fleet to N services (the seed's 15, then generated ones on "
                        "ports from 18300); the grown config is written to its runtime dir")

    p = sub.add_parser("rollout", help="drive the rollout in a plain terminal")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="session directory (resumed when it exists; with --store: its key)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("--yes", action="store_true",
                   help="confirm the driver's own advances automatically (never signs a check, "
                        "never confirms a traffic shift made by hand)")
    p.add_argument("--auto-signoff", action="store_true",
                   help="rehearsals only: sign every sign-off automatically, recorded as automatic "
                        "(no person signed) in the journal, the exports and the final line")
    p.add_argument("--speed", type=float, default=1.0, help="compress holds and rule durations")
    p.add_argument("--actor", help="your name in the session log (default $GONOGO_ACTOR, "
                                   "[settings] actor, user@host)")

    p = sub.add_parser("signoff", help="sign off a check of a session, from any terminal")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="the session directory the driver uses (with a store: its key, "
                                     "default the release's name)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("check", metavar="CHECK_ID", help="the manual check (or stage sign-off) to sign")
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="who signs: the owner of the check's role (default $GONOGO_ACTOR, "
                        "[settings] actor, user@host)")
    p.add_argument("--note", required=True, help="what was checked, and how (required)")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="how long to wait for a running driver's answer (default 10)")

    p = sub.add_parser("note", help="add a note to a session's log, from any terminal")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="the session directory the driver uses (with a store: its key)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("text", help="the note, journaled under your name")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="who writes it")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="how long to wait for a running driver's answer (default 10)")

    p = sub.add_parser("propose-rollback",
                       help="propose a rollback to the driver (the hold pauses; the driver decides)")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="the session directory the driver uses (with a store: its key)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("--reason", required=True, help="why roll back (journaled; the driver sees it)")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="who proposes it")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="how long to wait for a running driver's answer (default 10)")

    p = sub.add_parser("watch", help="follow a driven session live, read-only")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="the session directory the driver uses (with a store: its key, "
                                     "default the release's name)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("--actor", help="your name (for what you submit: sign-offs, notes, requests)")
    p.add_argument("--theme", help="theme name")

    p = sub.add_parser("log", help="session log tools")
    lsub = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    e = lsub.add_parser("export", help="export a session log")
    e.add_argument("session", help="the session directory")
    e.add_argument("--format", "-f", choices=("toml", "json"), default="json", help="export format")
    e.add_argument("--out", "-o", metavar="FILE", help="write the export here instead of stdout")
    vv = lsub.add_parser("verify", help="verify a session log's hash chain")
    vv.add_argument("session", help="the session directory")
    vv.add_argument("--head", metavar="HASH",
                    help="a head hash recorded elsewhere (printed when a rollout stopped): "
                         "the journal must still contain it")
    for q in (e, vv):
        q.add_argument("--store", metavar="DSN",
                       help="read SESSION (then a session's key) from this PostgreSQL store: a "
                            "postgresql:// URL without a password, or env:NAME / file:PATH")
        q.add_argument("--key", metavar="REF",
                       help="the chain's key as a reference (env:NAME, file:PATH); default: "
                            "the reference the session declared")

    p = sub.add_parser("serve", help="the panel in a browser (textual-serve)")
    p.add_argument("--config", "-c", required=True, help="config file")
    p.add_argument("--session", help="the session directory to show (with a store: its key, "
                                     "default the release's name)")
    p.add_argument("--store", metavar="DSN", help=STORE_HELP)
    p.add_argument("--host", help="address to listen on (default [serve] host, 127.0.0.1); "
                                  "anything but loopback needs an access token")
    p.add_argument("--port", type=int, help="TCP port (default [serve] port, 8000; 0: any free)")
    p.add_argument("--drive", action="store_true",
                   help="serve the driving panel (gonogo tui) instead of the read-only one")
    p.add_argument("--token-ref", metavar="REF",
                   help="access token as a secret reference (env:NAME, file:PATH, vault:...), "
                        "required on every request; default [serve] token")
    p.add_argument("--actor", help="the name the pages act under in the session log")
    p.add_argument("--public-url", metavar="URL",
                   help="the address browsers open when it differs (a TLS proxy in front)")

    p = sub.add_parser("notify", help="notification tools")
    nsub = p.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    t = nsub.add_parser("test", help="send one test message to each [[notify]] target")
    t.add_argument("--config", "-c", required=True, help="config file")
    t.add_argument("--actor", help="your name in the test message")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return dispatch(parser, args)
    except KeyboardInterrupt:
        print("gonogo: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:
        return exits.OK


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        if not args.config:
            parser.print_help(sys.stderr)
            return exits.USAGE
        args.session = None
        args.theme = None
        command = "tui"
    if command == "check":
        from gonogo.cli.check import run_check

        return run_check(args)
    if command == "config":
        from gonogo.cli.config_cmd import run_validate

        return run_validate(args.files)
    if command == "tui":
        from gonogo.cli.tui import run_tui

        return run_tui(args)
    if command == "demo":
        from gonogo.cli.tui import run_demo

        return run_demo(args)
    if command == "sandbox":
        from gonogo.cli.sandbox import run_sandbox

        return run_sandbox(args)
    if command == "rollout":
        from gonogo.cli.rollout import run_rollout

        return run_rollout(args)
    if command == "signoff":
        from gonogo.cli.signoff import run_signoff

        return run_signoff(args)
    if command == "note":
        from gonogo.cli.signoff import run_note

        return run_note(args)
    if command == "propose-rollback":
        from gonogo.cli.signoff import run_propose_rollback

        return run_propose_rollback(args)
    if command == "watch":
        from gonogo.cli.tui import run_watch

        return run_watch(args)
    if command == "log":
        from gonogo.cli.log import run_log

        return run_log(args)
    if command == "serve":
        from gonogo.cli.serve import run_serve

        return run_serve(args)
    if command == "notify":
        from gonogo.cli.notify import run_notify

        return run_notify(args)
    parser.error(f"unknown command {command!r}")
    return exits.USAGE
