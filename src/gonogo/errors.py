"""One-line, operator-facing descriptions of exceptions.

Used wherever an exception becomes text someone reads: check results, the rollout's
journal, the panel. The text is not yet redacted; callers pass it through their
redactor.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gonogo.secrets import SecretError

if TYPE_CHECKING:  # pragma: no cover
    import httpx


def describe_error(exc: BaseException) -> str:
    """A one-line, operator-facing description of an exception (not yet redacted)."""
    # httpx only if something imported it: an exception cannot be one of its kinds
    # otherwise, and the panel's first frame does not wait for it (~40 ms)
    httpx = sys.modules.get("httpx")
    if httpx is None:
        return _plain(exc)
    if isinstance(exc, httpx.TimeoutException):
        where = _url(exc)
        return f"timed out waiting for {where}" if where else "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {_url(exc) or 'server'}: {exc or 'connection refused'}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__} on {_url(exc)}: {exc}"
    return _plain(exc)


def _plain(exc: BaseException) -> str:
    if isinstance(exc, SecretError):
        return str(exc)  # already says which reference and why ("environment variable X is not set")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _url(exc: httpx.HTTPError) -> str:
    try:
        request = exc.request
    except RuntimeError:
        return ""
    # Neither the query nor any user:password in the URL is shown.
    return str(request.url.copy_with(query=None, userinfo=b""))
