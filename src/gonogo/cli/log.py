"""``gonogo log export|verify SESSION``: exit 0, or 1 when the log fails verification.

A missing session or an unwritable ``--out`` is a usage error (2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gonogo.cli import exits
from gonogo.cli.common import err
from gonogo.rollout.events import BodyError
from gonogo.rollout.export import Summary, json_chunks, toml_chunks
from gonogo.rollout.journal import (
    Event,
    JournalError,
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
    chunks = render(iter_events(path), summary, check)
    if args.out:
        try:
            write_private_file(args.out, chunks)
        except UnsafePath as exc:
            err(f"cannot write {args.out}: {exc}")
            return exits.USAGE
        except OSError as exc:
            err(f"cannot write {args.out}: {exc.strerror}")
            return exits.USAGE
        print(f"exported {summary.events} events to {args.out}", file=sys.stderr)
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)
    return exits.OK
