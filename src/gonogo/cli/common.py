"""What every subcommand shares: error lines and loading a config or saying why not."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan


def err(msg: str) -> None:
    """One line on stderr; whatever it quotes is shown, never acted on by the terminal."""
    from gonogo.untrusted import printable

    print(f"gonogo: {printable(msg, newlines=True)}", file=sys.stderr, flush=True)


def load_or_report(path: str) -> Plan | None:
    """The plan, or ``None`` after printing every problem (the caller exits 2)."""
    from gonogo.config import ConfigError, load_plan

    try:
        return load_plan(path)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        count = len(exc.problems)
        print(f"gonogo: {count} problem{'s' if count != 1 else ''} in {path}", file=sys.stderr)
        return None
