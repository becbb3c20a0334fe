"""Following a driven session read-only: what ``gonogo watch`` sees.

A ``FileFollower`` opens a session's journal without its lock and without writing
anything: it reads what is there, then ``poll()`` (or ``follow()``) picks up each line
the driver appends, verifying that it continues the hash chain. A line still being
written (no newline yet) is left for the next poll; a line that breaks the chain stops
the follower with a ``JournalError`` naming it — a watcher never shows an event the
journal cannot prove.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from gonogo.rollout.journal import (
    EVENTS_FILE,
    GENESIS,
    Event,
    JournalError,
    _decode_lines,
    _verify_chain,
)
from gonogo.safefs import UnsafePath, open_private_dir

__all__ = ["Follower", "FileFollower", "FOLLOW_INTERVAL_S"]

FOLLOW_INTERVAL_S = 0.2
READ_CHUNK = 1 << 20


class Follower(Protocol):
    """A session followed read-only: ``FileFollower``, or ``pgstore.PgJournal`` opened as a
    follower (``cli.session.Place.open_follower`` picks). ``read`` is every event so far,
    ``poll`` the ones recorded since the last poll, ``follow(after_seq)`` each event after
    ``after_seq`` as it is recorded (it never ends by itself: close it)."""

    location: str

    def read(self) -> list[Event]: ...

    def poll(self) -> list[Event]: ...

    def follow(self, after_seq: int = 0) -> AsyncIterator[Event]: ...

    def close(self) -> None: ...


class FileFollower:
    """The events of the session in ``directory``, and the ones appended after."""

    def __init__(self, directory: str | os.PathLike[str], *, key: bytes | None = None,
                 key_ref: str = "") -> None:
        self.dir = Path(directory)
        self.location = str(self.dir)
        self.key = key
        self.key_ref = key_ref
        self.path = self.dir / EVENTS_FILE
        try:
            # a partner's session may be group-readable: only links and non-directories
            # are refused here (nothing is ever written through this descriptor)
            with open_private_dir(self.dir, create=False, strict=False) as d:
                self._fd = os.open(EVENTS_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                   dir_fd=d.fd)
        except FileNotFoundError:
            raise JournalError(f"no session at {self.dir} (no {EVENTS_FILE})") from None
        except UnsafePath as exc:
            raise JournalError(f"refusing session {self.dir}: {exc}") from None
        except OSError as exc:
            raise JournalError(f"cannot read session {self.dir}: {exc.strerror}") from None
        self._offset = 0
        self._events: list[Event] = []
        self._prev = GENESIS
        self.poll()

    def read(self) -> list[Event]:
        return list(self._events)

    def poll(self) -> list[Event]:
        """The events appended since the last poll (verified, oldest first)."""
        if self._fd < 0:
            return []
        size = os.fstat(self._fd).st_size
        if size < self._offset:
            raise JournalError(f"{self.path} shrank from {self._offset} to {size} bytes while "
                               "watched: it was cut back or replaced")
        chunks = []
        offset = self._offset
        while offset < size:
            chunk = os.pread(self._fd, min(READ_CHUNK, size - offset), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        raw = b"".join(chunks)
        end = raw.rfind(b"\n") + 1  # complete lines only; the rest is still being written
        if end <= 0:
            return []
        lines = raw[:end].splitlines(keepends=True)
        check = _verify_chain(lines, self.key, after=len(self._events), prev=self._prev)
        if not check.ok:
            raise JournalError(f"{self.path}: {check.problem}; stopped following "
                               f"(run `gonogo log verify {self.dir}`)")
        fresh = _decode_lines(lines, self.path)
        self._offset += end
        self._events.extend(fresh)
        if fresh:
            self._prev = fresh[-1].hash
        return fresh

    async def follow(self, after_seq: int = 0,
                     interval: float = FOLLOW_INTERVAL_S) -> AsyncIterator[Event]:
        """Every event after ``after_seq``, then each new one as it is appended."""
        for event in self._events:
            if event.seq > after_seq:
                yield event
        while self._fd >= 0:
            await asyncio.sleep(interval)
            for event in self.poll():
                yield event

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
