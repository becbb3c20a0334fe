"""``gonogo log export|verify SESSION``: exit 0, or 1 when the log fails verification.

A missing session or an unwritable ``--out`` is a usage error (2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gonogo.cli import exits
from gonogo.cli.common import err
from gonogo.rollout.export import to_json, to_toml
from gonogo.rollout.journal import (
    JournalError,
    read_declared_key_ref,
    read_events,
    session_file,
    verify_file,
)
from gonogo.safefs import UnsafePath, write_private_file
from gonogo.secrets import Redactor, SecretError, SecretResolver
from gonogo.untrusted import printable
from gonogo.values import SecretRef


def _key(args: argparse.Namespace, session: Path) -> tuple[bytes | None, str]:
    """The chain's key: ``--key REF``, else the reference the session declared."""
    ref_text = args.key or read_declared_key_ref(session)
    if not ref_text:
        return None, ""
    try:
        ref = SecretRef.parse(ref_text)
    except ValueError as exc:
        raise SecretError(f"--key: {exc}") from None
    if ref.scheme == "vault":
        raise SecretError(f"{ref}: pass the key as --key env:NAME or file:PATH to verify offline")
    return SecretResolver(Redactor()).resolve_sync(ref).encode("utf-8"), str(ref)


def run_log(args: argparse.Namespace) -> int:
    path = session_file(args.session)
    if not path.exists():
        err(f"no session log at {path}")
        return exits.USAGE
    try:
        key, key_ref = _key(args, path)
    except SecretError as exc:
        err(f"cannot resolve the journal key: {exc}")
        return exits.USAGE
    if args.log_command == "verify":
        result = verify_file(path, key=key, key_ref=key_ref, head=args.head)
        if result.ok:
            print(f"{path}: ok, {result.events} events, hash chain intact; head #{result.head_seq} {result.head_hash}")
            print(f"  verified: {result.method}")
            return exits.OK
        where = f" at event {result.first_bad}" if result.first_bad else ""
        print(f"{path}: FAILED{where}: {printable(result.problem)}")
        return exits.FAILED
    try:
        events = read_events(args.session, key=key, key_ref=key_ref)
    except JournalError as exc:
        err(f"{exc}; not exported")
        return exits.FAILED
    check = verify_file(path, key=key, key_ref=key_ref)
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
