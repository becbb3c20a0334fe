"""One driver per release on this host, whatever session directory it uses.

The journal's own lock is per session directory: two drivers of one release in two
directories would both shift the same gateway. ``DriverLock`` is an exclusive
``flock`` on a file named after the release in the user's state directory
(``$GONOGO_STATE_DIR``, else ``$XDG_STATE_HOME/gonogo``, else
``~/.local/state/gonogo``), holding who drives it, from which session, host and pid,
and since when. The lock dies with its process (even on SIGKILL), so a driver that
is gone never blocks the next one. Across hosts, the PostgreSQL store's advisory
lock plays the same part.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import socket
from pathlib import Path

from gonogo.rollout.journal import SessionBusy
from gonogo.safefs import UnsafePath, open_private_dir
from gonogo.untrusted import printable

__all__ = ["DriverLock", "state_dir"]


def state_dir() -> Path:
    explicit = os.environ.get("GONOGO_STATE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "gonogo"


def _lock_name(release: str, environment: str = "") -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{release}-{environment}" if environment else release)[:80]
    key = f"{release}\n{environment}" if environment else release
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.driver"


class DriverLock:
    """Held while this process drives ``release`` into ``environment`` (one release
    rolled out to staging and to production is two rollouts); ``SessionBusy`` names the
    holder."""

    def __init__(self, release: str, *, actor: str, session: str, environment: str = "") -> None:
        self.release = release
        self._fd = -1
        try:
            d = open_private_dir(state_dir() / "releases")
        except (UnsafePath, OSError) as exc:
            raise SessionBusy(f"cannot take the driver role for {release}: {exc}") from None
        with d:
            name = _lock_name(release, environment)
            fd = d.open(name, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raw = os.pread(fd, 4096, 0)
                os.close(fd)
                raise SessionBusy(f"release {release} is driven by {_describe(raw)}; watch it with "
                                  "`gonogo watch`, or take over once it stops",
                                  holder_session=_session_of(raw)) from None
            record = {"actor": actor, "session": session, "host": socket.gethostname(),
                      "pid": os.getpid(), "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
            self._fd = fd

    def release_lock(self) -> None:
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = -1


def _session_of(raw: bytes) -> str:
    try:
        return str(json.loads(raw.decode("utf-8"))["session"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return ""


def _describe(raw: bytes) -> str:
    try:
        who = json.loads(raw.decode("utf-8"))
        return printable(f"{who['actor']} (session {who['session']}, host {who['host']}, "
                         f"pid {who['pid']}, since {who['since']})")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "another gonogo process"
