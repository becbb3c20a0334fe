"""A session journal that SIGKILLs its own process at an exact point, for the crash
tests: right after the Nth event of a kind is fsync'd (``after:KIND:N``), just before
it is written (``before:KIND:N``), or half-way through writing its line
(``torn:KIND:N``). ``KIND`` may be ``*`` (any kind; N then counts that kind's events).
Events already in the journal when it opens count too, as in one uninterrupted run.

Run gonogo with it in place of ``FileJournal``:

    python -m support.killing_journal SPEC ARGS...    (with ``tests/`` on PYTHONPATH)

is ``python -m gonogo ARGS...`` with ``gonogo.rollout.journal.FileJournal`` replaced,
before anything else of gonogo is imported, by ``KillingJournal`` set to ``SPEC``.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gonogo.rollout import journal
from gonogo.rollout.events import EventBody, kind_of
from gonogo.rollout.journal import GENESIS, Event, FileJournal, make_event


@dataclass(frozen=True)
class KillPoint:
    when: str  # "before" | "after" | "torn"
    kind: str
    count: int

    @classmethod
    def parse(cls, spec: str) -> KillPoint:
        when, kind, count = spec.split(":")
        if when not in ("before", "after", "torn"):
            raise ValueError(f"kill point {spec!r}: expected before|after|torn:KIND:N")
        return cls(when, kind, int(count))

    def hits(self, kind: str, count: int) -> bool:
        return self.kind in (kind, "*") and self.count == count


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillingJournal(FileJournal):
    point: KillPoint | None = None  # set by the launcher for every journal it opens

    def __init__(self, directory: str | os.PathLike[str], *,
                 warn: Callable[[str], None] | None = None, key: bytes | None = None,
                 key_ref: str = "") -> None:
        super().__init__(directory, warn=warn, key=key, key_ref=key_ref)
        self._counts = Counter(e.kind for e in self.read())

    def append(self, body: EventBody, actor: str, time: float) -> Event:
        kind = kind_of(body)
        count = self._counts[kind] + 1
        hit = self.point is not None and self.point.hits(kind, count)
        when = self.point.when if self.point is not None else ""
        if hit and when == "before":
            _die()
        if hit and when == "torn":
            events = self.read()
            last = events[-1] if events else None
            event = make_event((last.seq if last else 0) + 1, time, actor, body,
                               last.hash if last else GENESIS, self.key)
            payload = (event.line() + "\n").encode("ascii")
            with open(self.path, "ab") as fh:
                fh.write(payload[: max(1, len(payload) // 2)])
                fh.flush()
                os.fsync(fh.fileno())
            _die()
        event = super().append(body, actor, time)
        self._counts[kind] = count
        if hit and when == "after":
            _die()
        return event


def main(argv: list[str]) -> None:
    spec, *args = argv
    KillingJournal.point = KillPoint.parse(spec)
    journal.FileJournal = KillingJournal  # type: ignore[misc]  # the one seam this launcher patches
    sys.argv = ["gonogo", *args]
    runpy.run_module("gonogo", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
