"""Resolving secret references at run time, comparing secrets by keyed hash, redaction.

A resolved value never leaves this module's objects except to the check that
asked for it. Every resolved value is remembered by the ``Redactor`` so that any
text about to be shown, logged or exported can be scrubbed of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets as _stdlib_secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gonogo.values import SecretRef, Value

REDACTED = "«redacted»"
_MIN_REDACT_LEN = 4  # shorter values would shred ordinary words


class SecretError(Exception):
    """A reference that cannot be resolved; the message never contains a value."""


class Redactor:
    """Remembers secret values and scrubs them from text and nested data."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) < _MIN_REDACT_LEN:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern

    def text(self, text: str) -> str:
        pattern = self._compiled()
        return pattern.sub(REDACTED, text) if pattern is not None else text

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
                with open(path, encoding="utf-8") as fh:
                    value = fh.read().strip()
            except OSError as exc:
                raise SecretError(f"cannot read secret file {ref.target}: {exc.strerror}") from None
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
            self.redactor.add(value)
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
