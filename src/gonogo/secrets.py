"""Resolving secret references at run time, comparing secrets by keyed hash, redaction.

A resolved value never leaves this module's objects except to the check that
asked for it. Every resolved value is remembered by the ``Redactor`` so that any
text about to be shown, logged or exported can be scrubbed of it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets as _stdlib_secrets
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from gonogo.safefs import SECRET_FILE_LIMIT, UnsafePath, read_small_file
from gonogo.untrusted import excerpt as _excerpt
from gonogo.values import SecretRef, Value

REDACTED = "«redacted»"
WITHHELD = "«excerpt withheld: it contains a secret too short to redact safely»"
_MIN_REDACT_LEN = 4  # shorter values would shred ordinary words
_MIN_FRAGMENT_LEN = 6  # a base64 run shorter than this matches ordinary text by chance
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_WORD = re.compile(r"\w")


class SecretError(Exception):
    """A reference that cannot be resolved; the message never contains a value."""


def _b64_forms(raw: bytes) -> set[str]:
    """How ``raw`` reads inside base64 text, std and urlsafe, padded or not.

    Standing alone it encodes to one string; inside a longer encoded blob (``Basic
    base64(user:pass)``, a JWT) its characters depend on where it starts modulo 3, so
    for each of the three alignments the run of characters that depend on the secret
    alone is matched too.
    """
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        out.update((whole, whole.rstrip("=")))
        for shift in (0, 1, 2):
            text = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            skip = (0, 2, 3)[shift]  # characters that also depend on the bytes before
            stop = (8 * (shift + len(raw))) // 6  # characters fully inside the secret
            fragment = text[skip:stop]
            if len(fragment) >= _MIN_FRAGMENT_LEN:
                out.add(fragment)
    return out


def encodings(value: str) -> set[str]:
    """``value`` as it may be echoed back: as is, JSON-escaped (once and twice, ASCII or
    not), as a Python repr, HTML-escaped, URL-encoded (``quote`` and ``quote_plus``,
    upper- and lower-case hex) and base64 (std and urlsafe, with and without padding,
    and inside a longer base64 text)."""
    forms = {value}
    for ascii_only in (True, False):
        once = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms.update((once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]))
    forms.add(repr(value)[1:-1])
    forms.add(html.escape(value))
    for quoted in (
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        urllib.parse.quote_plus(value, safe="/"),
    ):
        forms.add(quoted)
        forms.add(_HEX_ESCAPE.sub(lambda m: m.group(0).lower(), quoted))
    forms |= _b64_forms(value.encode("utf-8"))
    return {f for f in forms if len(f) >= _MIN_REDACT_LEN}


class Redactor:
    """Remembers secret values and scrubs them from text and nested data.

    A secret is matched in every form in which a service or a program may echo it back
    (``encodings``). Secrets shorter than 4 characters cannot be told apart from
    ordinary text. A *declared* one (resolved from a reference in the config) is still
    never shown: ``text`` masks it where it stands alone (not inside a word), and
    ``excerpt`` — the door for bodies and command output — withholds any excerpt that
    contains it anywhere, saying so. A short value gonogo only guesses is a secret (a
    ``.env`` entry named like ``*KEY*``, a captured session id) is ignored: ``1`` or
    ``on`` would otherwise blank or withhold half of every report.

    Two doors, for two kinds of text. ``text``/``excerpt``/``data`` are for text gonogo
    did not write (bodies, command output, evidence): a secret is masked wherever it
    stands, glued to other characters too, since a hostile echo may glue it.
    ``prose`` is for the sentences gonogo writes itself (a check's summary and
    details): it matches whole values only — a value is not masked where it is only
    part of a longer word — so that a weak password ``short`` leaves "shorter than 16
    characters" readable instead of "«redacted»er than 16 characters" (which would
    also say where the secret was). Untrusted text a check quotes has been through
    ``excerpt`` (or ``text``) before it reaches a sentence.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._short: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._short_pattern: re.Pattern[str] | None = None
        self._whole_pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str, *, declared: bool = False) -> None:
        """Remember ``value``; ``declared``: the config names it a secret (a reference)."""
        if not isinstance(value, str) or not value.strip():
            return
        if len(value) < _MIN_REDACT_LEN and not declared:
            return
        with self._lock:
            target = self._values if len(value) >= _MIN_REDACT_LEN else self._short
            if value not in target:
                target.add(value)
                self._pattern = self._short_pattern = self._whole_pattern = None

    def __len__(self) -> int:
        """How many secrets it knows (tests and diagnostics; never the values)."""
        with self._lock:
            return len(self._values) + len(self._short)

    def _compiled(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        with self._lock:
            if self._pattern is None and self._values:
                forms = {f for v in self._values for f in encodings(v)}
                ordered = sorted(forms, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            if self._short_pattern is None and self._short:
                ordered = sorted(self._short, key=len, reverse=True)
                alternatives = "|".join(re.escape(v) for v in ordered)
                self._short_pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
            return self._pattern, self._short_pattern

    def _whole(self) -> re.Pattern[str] | None:
        """Every form of every secret (short ones too), each matched only as a whole:
        where a form begins (ends) with a word character, no word character may stand
        right before (after) it."""
        with self._lock:
            if self._whole_pattern is None and (self._values or self._short):
                forms = {f for v in self._values for f in encodings(v)} | set(self._short)
                ordered = sorted(forms, key=len, reverse=True)
                self._whole_pattern = re.compile("|".join(
                    ("(?<!\\w)" if _WORD.match(f[0]) else "") + re.escape(f)
                    + ("(?!\\w)" if _WORD.match(f[-1]) else "") for f in ordered))
            return self._whole_pattern

    def prose(self, text: str) -> str:
        """``text`` written by gonogo (a summary, a detail line) with every secret masked
        where it stands as a whole value; part of a longer word is left alone (see the
        class docstring). Never use it on text gonogo did not write."""
        pattern = self._whole()
        return pattern.sub(REDACTED, text) if pattern is not None else text

    def text(self, text: str) -> str:
        pattern, short = self._compiled()
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        if short is not None:
            text = short.sub(REDACTED, text)
        return text

    def holds_short(self, text: str) -> bool:
        """Whether ``text`` contains a known short secret anywhere (even inside a word)."""
        with self._lock:
            short = tuple(self._short)
        return any(v in text for v in short)

    def excerpt(self, text: object, limit: int, *, tail: bool = False, squeeze: bool = False) -> str:
        """A bounded excerpt of untrusted text, safe to show and to record.

        Redacted first (every form of every secret, across the whole text), then made
        printable (``gonogo.untrusted``), then cut to ``limit`` characters, so a cut
        never leaves the head of a secret behind. Text containing a secret too short
        to redact safely is withheld as a whole (``WITHHELD``).
        """
        s = text if isinstance(text, str) else str(text)
        if self.holds_short(s):
            return WITHHELD
        return _excerpt(self.text(s), limit, tail=tail, squeeze=squeeze)

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.data(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))


class KeyedHasher:
    """HMAC-SHA256 fingerprints: secrets are compared by these, never by value."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or _stdlib_secrets.token_bytes(32)

    def digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def fingerprint(self, value: str) -> str:
        """A short, non-reversible label safe to show (e.g. ``h:3f9a1c``)."""
        return "h:" + self.digest(value)[:8]

    def same(self, a: str, b: str) -> bool:
        return hmac.compare_digest(self.digest(a), self.digest(b))


VaultReader = Callable[[str, str, str], Any]  # (mount, path, key) -> value (sync)


class SecretResolver:
    """Resolves ``SecretRef``/``Value`` against the environment, files and Vault."""

    def __init__(
        self,
        redactor: Redactor,
        *,
        environ: Mapping[str, str] | None = None,
        base_dir: str = ".",
        vault_reader: VaultReader | None = None,
    ) -> None:
        self.redactor = redactor
        self.environ = environ if environ is not None else os.environ
        self.base_dir = base_dir
        self.vault_reader = vault_reader

    def resolve_sync(self, ref: SecretRef, *, secret: bool = True) -> str:
        if ref.scheme == "env":
            if ref.target not in self.environ:
                raise SecretError(f"environment variable {ref.target} is not set")
            value = self.environ[ref.target]
        elif ref.scheme == "file":
            path = os.path.join(self.base_dir, os.path.expanduser(ref.target))
            try:
                value = read_small_file(path, SECRET_FILE_LIMIT).decode("utf-8").strip()
            except UnsafePath as exc:
                raise SecretError(f"cannot read secret file {ref.target}: {exc}") from None
            except UnicodeDecodeError:
                raise SecretError(f"secret file {ref.target} is not UTF-8 text") from None
        else:
            if self.vault_reader is None:
                raise SecretError(f"{ref}: no [integrations.vault] configured to resolve it")
            mount, path, key = ref.vault_parts
            try:
                raw = self.vault_reader(mount, path, key)
            except SecretError:
                raise
            except Exception as exc:  # the client's message may echo the request, not values
                raise SecretError(f"{ref}: vault read failed ({type(exc).__name__})") from None
            if raw is None:
                raise SecretError(f"{ref}: key not found in vault")
            value = str(raw)
        if secret:
            self.redactor.add(value, declared=True)
        return value

    async def resolve(self, ref: SecretRef, *, secret: bool = True) -> str:
        if ref.scheme == "vault":
            return await asyncio.to_thread(self.resolve_sync, ref, secret=secret)
        return self.resolve_sync(ref, secret=secret)

    async def value(self, value: Value) -> str:
        """A non-secret setting: the literal, or the reference resolved (not redacted)."""
        if value.literal is not None:
            return value.literal
        assert value.ref is not None
        return await self.resolve(value.ref, secret=False)

    def value_sync(self, value: Value) -> str:
        if value.literal is not None:
            return value.literal
        assert value.ref is not None
        return self.resolve_sync(value.ref, secret=False)
