"""Child processes that must not outlive gonogo (the demo's sandbox, its servers)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies.

    A panel killed by a dropped SSH connection (SIGHUP) or by SIGKILL would otherwise
    leave the sandbox and its Prometheus and Alertmanager holding their ports. The
    signal comes when the *thread* that started the child exits, so start such children
    from a thread that lives as long as they should. ``None`` off Linux.
    """
    return _set_parent_death_signal if sys.platform.startswith("linux") else None
