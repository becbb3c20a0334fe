"""``gonogo log export|verify SESSION``: exit 0, or 1 when the log fails verification.

A missing session or an unwritable ``--out`` is a usage error (2).
"""

from __future__ import annotations

import argparse
import sys

from gonogo.cli import exits
from gonogo.cli.common import err
from gonogo.rollout.export import to_json, to_toml
from gonogo.rollout.journal import JournalError, read_events, session_file, verify_file
from gonogo.safefs import UnsafePath, write_private_file


def run_log(args: argparse.Namespace) -> int:
    path = session_file(args.session)
    if not path.exists():
        err(f"no session log at {path}")
        return exits.USAGE
    if args.log_command == "verify":
        result = verify_file(path)
        if result.ok:
            print(f"{path}: ok, {result.events} events, hash chain intact")
            return exits.OK
        print(f"{path}: FAILED at event {result.first_bad}: {result.problem}")
        return exits.FAILED
    try:
        events = read_events(args.session)
    except JournalError as exc:
        err(f"{exc}; not exported")
        return exits.FAILED
    check = verify_file(path)
    text = to_toml(events, check) if args.format == "toml" else to_json(events, check)
    if args.out:
        try:
            write_private_file(args.out, text)
        except UnsafePath as exc:
            err(f"cannot write {args.out}: {exc}")
            return exits.USAGE
        except OSError as exc:
            err(f"cannot write {args.out}: {exc.strerror}")
            return exits.USAGE
        print(f"exported {len(events)} events to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return exits.OK
