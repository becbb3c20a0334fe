"""Small value types used in the config: durations and secret references."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION_S = 366 * 86400.0


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A span of time written like ``30m``, ``5m``, ``1h30m``, ``250ms`` or ``45s``."""

    seconds: float

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        # TOML hands us any type here (booleans, dates, arrays...): say what we want.
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise ValueError(
                f"expected a duration like '30m' or '1h30m', got {describe_type(text)}"
            )
        if isinstance(text, int | float):
            if isinstance(text, int) and abs(text) > MAX_DURATION_S:
                raise ValueError("duration must be between 0 and 366d")  # float() may overflow
            seconds = float(text)
        else:
            s = text.strip().lower().replace(" ", "")
            if not s:
                raise ValueError("empty duration; write it like '30m' or '1h30m'")
            pos = 0
            seconds = 0.0
            for m in _DURATION_PART.finditer(s):
                if m.start() != pos:
                    break
                seconds += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
                pos = m.end()
            if pos != len(s) or pos == 0:
                shown = text if len(text) <= 40 else text[:40] + "…"
                raise ValueError(
                    f"bad duration {shown!r}; write it like '30m', '5m', '1h30m' or '250ms'"
                )
        # not (0 <= x <= max) also rejects NaN, which compares false with everything
        if not 0 <= seconds <= MAX_DURATION_S:
            raise ValueError("duration must be between 0 and 366d")
        return cls(seconds)

    def __str__(self) -> str:
        return format_duration(self.seconds)


def describe_type(value: object) -> str:
    """How a TOML value's type reads in an error message."""
    import datetime as dt

    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time of day"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def format_duration(seconds: float) -> str:
    """``5400`` -> ``1h30m``; ``0.25`` -> ``250ms``."""
    if seconds < 1 and seconds > 0:
        return f"{round(seconds * 1000)}ms"
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    out = ""
    if h:
        out += f"{h}h"
    if m:
        out += f"{m}m"
    if s or not out:
        out += f"{s}s"
    return out


SECRET_SCHEMES = ("env", "file", "vault")
_VAULT_REF = re.compile(r"^(?P<mount>[^/#\s]+)/(?P<path>[^#\s]+)#(?P<key>[^#\s]+)$")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives: ``env:NAME``, ``file:PATH`` or ``vault:MOUNT/PATH#KEY``.

    The config stores only the reference; the value is resolved at run time by
    ``gonogo.secrets.SecretResolver`` and never kept in the plan.
    """

    scheme: str
    target: str

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        if not isinstance(text, str):
            raise ValueError(
                f"expected a secret reference like 'env:NAME', got {describe_type(text)}"
            )
        scheme, sep, target = text.partition(":")
        if not sep or scheme not in SECRET_SCHEMES:
            raise ValueError(
                "secrets must be references, not literal values: write 'env:NAME', "
                "'file:PATH' or 'vault:MOUNT/PATH#KEY'"
            )
        if not target:
            raise ValueError(f"empty {scheme}: reference")
        if scheme == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target):
            # not echoed: a value pasted after "env:" may be the secret itself
            raise ValueError(
                "bad environment variable name after 'env:' "
                "(letters, digits and '_', not starting with a digit)"
            )
        if scheme == "vault" and not _VAULT_REF.match(target):
            raise ValueError("vault references look like 'vault:MOUNT/PATH#KEY'")
        return cls(scheme, target)

    @property
    def vault_parts(self) -> tuple[str, str, str]:
        m = _VAULT_REF.match(self.target)
        if m is None:  # pragma: no cover - parse() guarantees it
            raise ValueError("not a vault reference")
        return m.group("mount"), m.group("path"), m.group("key")

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


@dataclass(frozen=True, slots=True)
class Value:
    """A non-secret setting (a URL, a DSN host) that may be literal or a reference.

    ``env:``/``file:`` references let shared configs point at each environment's
    addresses without editing the file; the resolved value may be shown.
    """

    literal: str | None = None
    ref: SecretRef | None = None

    @classmethod
    def parse(cls, text: str) -> Value:
        if not isinstance(text, str):
            raise ValueError(f"expected a string, got {describe_type(text)}")
        scheme, sep, rest = text.partition(":")
        if scheme == "file" and rest.startswith("//"):
            # a URL written as file:///... is not a reference to read, and gonogo
            # fetches nothing from the local disk as if it were a service
            raise ValueError(
                "file:// is not a URL scheme gonogo fetches; to read this setting from a "
                "file, write file:PATH (no //)"
            )
        if sep and scheme in SECRET_SCHEMES:
            return cls(ref=SecretRef.parse(text))
        return cls(literal=text)

    def __str__(self) -> str:
        return self.literal if self.literal is not None else str(self.ref)


DSN_SCHEMES = ("postgresql://", "postgres://")


def dsn_problem(text: str) -> str | None:
    """Why a DSN written literally (``--store``, ``[session] store``) is refused, or None."""
    if not text.startswith(DSN_SCHEMES):
        return ("expected a postgresql://USER@HOST:PORT/DBNAME URL, or a reference to one "
                "(env:NAME, file:PATH, vault:MOUNT/PATH#KEY)")
    try:
        split = urllib.parse.urlsplit(text)
        query = urllib.parse.parse_qs(split.query)
    except ValueError:
        return "not a valid postgresql:// URL"
    if split.password or "password" in query:
        # not echoed: the rest of the URL is harmless, but keep the message simple
        return ("the URL holds a password: put the whole DSN in a reference (env:NAME, file:PATH, "
                "vault:MOUNT/PATH#KEY), or leave the password to PGPASSWORD or ~/.pgpass")
    return None
