"""``wait_until``: poll real progress (a server's first scrape, a fleet's metrics, a
reload) until it shows, or fail the test naming what never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str | Callable[[], str],
    *,
    interval: float = 0.2,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; after
    ``timeout`` seconds fail with ``what`` (a callable is asked at that moment, for
    the state that explains the wait) and the last value."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout:g}s waiting for {described} (last: {value!r})")
        time.sleep(interval)
        value = condition()
    return value
