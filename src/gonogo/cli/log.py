"""``gonogo log export|verify SESSION``: exit 0, or 1 when the log fails verification.

``--store DSN KEY`` reads a PostgreSQL session instead of a directory (the same
checks, the same exports). A missing session or an unwritable ``--out`` is a usage
error (2).
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
    Verification,
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
    return _key_from(args.key or read_declared_key_ref(session))


def _key_from(ref_text: str | None) -> tuple[bytes | None, str]:
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
    if getattr(args, "store", None):
        return _run_store_log(args)
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
        return _report(str(path), verify_file(path, key=key, key_ref=key_ref, head=args.head))
    try:
        events = read_events(args.session, key=key, key_ref=key_ref)
    except JournalError as exc:
        err(f"{exc}; not exported")
        return exits.FAILED
    check = verify_file(path, key=key, key_ref=key_ref)
    return _write(args, to_toml(events, check) if args.format == "toml" else to_json(events, check), len(events))


def _report(name: str, result: Verification) -> int:
    if result.ok:
        print(f"{name}: ok, {result.events} events, hash chain intact; head #{result.head_seq} {result.head_hash}")
        print(f"  verified: {result.method}")
        return exits.OK
    where = f" at event {result.first_bad}" if result.first_bad else ""
    print(f"{name}: FAILED{where}: {printable(result.problem)}")
    return exits.FAILED


def _write(args: argparse.Namespace, text: str, count: int) -> int:
    if args.out:
        try:
            write_private_file(args.out, text)
        except UnsafePath as exc:
            err(f"cannot write {args.out}: {exc}")
            return exits.USAGE
        except OSError as exc:
            err(f"cannot write {args.out}: {exc.strerror}")
            return exits.USAGE
        print(f"exported {count} events to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return exits.OK


def _run_store_log(args: argparse.Namespace) -> int:
    """``gonogo log verify|export --store DSN KEY``: the same checks and exports over a
    PostgreSQL session's lines (read without taking any role: a driver may be running)."""
    from gonogo.cli.session import SessionRefused, locate
    from gonogo.rollout.journal import Event, declared_key_ref, verify_lines
    from gonogo.rollout.pgstore import read_lines

    try:
        place = locate(None, args.session, store=args.store)
        assert place.dsn is not None
        lines = read_lines(place.dsn, place.session)
    except SessionRefused as exc:
        err(str(exc))
        return exits.USAGE
    except JournalError as exc:
        err(str(exc))
        return exits.USAGE
    name = place.name
    try:
        key, key_ref = _key_from(args.key or declared_key_ref(lines))
    except SecretError as exc:
        err(f"cannot resolve the journal key: {exc}")
        return exits.USAGE
    if args.log_command == "verify":
        result = verify_lines(lines, key=key, key_ref=key_ref, head=args.head)
        return _report(name, result)
    check = verify_lines(lines, key=key, key_ref=key_ref)
    if not check.ok:
        err(f"{name}: {check.problem}; not exported")
        return exits.FAILED
    import json

    from gonogo.rollout.events import BodyError

    try:
        events = [Event.from_dict(json.loads(raw)) for raw in lines]
    except BodyError as exc:
        err(f"{name}: {exc}; not exported")
        return exits.FAILED
    return _write(args, to_toml(events, check) if args.format == "toml" else to_json(events, check), len(events))
