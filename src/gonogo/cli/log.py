"""``gonogo log export|verify SESSION``: exit 0, or 1 when the log fails verification.

``--store DSN KEY`` reads a PostgreSQL session instead of a directory (the same
checks, the same exports). A missing session or an unwritable ``--out`` is a usage
error (2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gonogo.cli import exits
from gonogo.cli.common import err
from gonogo.rollout.events import BodyError
from gonogo.rollout.export import Summary, json_chunks, to_json, to_toml, toml_chunks
from gonogo.rollout.journal import (
    Event,
    JournalError,
    Verification,
    iter_events,
    read_declared_key_ref,
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
    # Streamed: one pass verifies (and sums up the header), a second writes each event
    # as it is read, so memory does not grow with the journal (955 MB for 100,000
    # events when the whole export was built first).
    summary = Summary()

    def known(record: dict[str, Any]) -> None:  # every kind known before a byte is written
        summary.add(record)
        try:
            Event.from_dict(record)
        except BodyError as exc:
            raise JournalError(f"{path} line {summary.events}: {exc}") from None

    try:
        check = verify_file(path, key=key, key_ref=key_ref, on_record=known)
    except JournalError as exc:
        err(f"{exc}; not exported")
        return exits.FAILED
    if not check.ok and not check.torn_tail:  # a torn last line is left out, and said so
        err(f"{path}: {check.problem}; not exported")
        return exits.FAILED
    render = toml_chunks if args.format == "toml" else json_chunks
    return _write(args, render(iter_events(path), summary, check), summary.events)


def _report(name: str, result: Verification) -> int:
    if result.ok:
        print(f"{name}: ok, {result.events} events, hash chain intact; head #{result.head_seq} {result.head_hash}")
        print(f"  verified: {result.method}")
        return exits.OK
    where = f" at event {result.first_bad}" if result.first_bad else ""
    print(f"{name}: FAILED{where}: {printable(result.problem)}")
    return exits.FAILED


def _write(args: argparse.Namespace, text: str | Iterable[str], count: int) -> int:
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
        for chunk in [text] if isinstance(text, str) else text:
            sys.stdout.write(chunk)
    return exits.OK


def _run_store_log(args: argparse.Namespace) -> int:
    """``gonogo log verify|export --store DSN KEY``: the same checks and exports over a
    PostgreSQL session's lines (read without taking any role: a driver may be running)."""
    from gonogo.cli.session import SessionRefused, locate
    from gonogo.rollout.journal import declared_key_ref, verify_lines
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

    try:
        events = [Event.from_dict(json.loads(raw)) for raw in lines]
    except BodyError as exc:
        err(f"{name}: {exc}; not exported")
        return exits.FAILED
    return _write(args, to_toml(events, check) if args.format == "toml" else to_json(events, check), len(events))
