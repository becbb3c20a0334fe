"""Protocol-faithful stand-ins for the systems that cannot run here.

Each module exposes ``make_app(state) -> aiohttp.web.Application``; the fleet mounts it
on the address ``sandbox.toml`` gives for that integration. They follow the real
APIs' requests and responses (each module cites the documentation it follows), so
the same check code runs against them and against the real systems.

Ages (secret rotation, CI runs, log lines, traces) are relative to the wall clock,
because the checks, like the real systems, compare against it; the sandbox's
simulated clock only drives rollout holds.
"""

from __future__ import annotations

import secrets
from typing import Any


def demo_secret(state: Any, name: str, nbytes: int = 24) -> str:
    """The fleet's demo credential ``name``, created on first use and kept in the state."""
    store: dict[str, str] | None = getattr(state, "secrets", None)
    if store is None:
        store = {}
        try:
            state.secrets = store
        except AttributeError:  # a frozen stand-in state: keep it local
            pass
    value = store.get(name)
    if not value:
        value = store[name] = secrets.token_urlsafe(nbytes)
    return value


def scenario(state: Any) -> str:
    return str(getattr(state, "scenario", "healthy"))
