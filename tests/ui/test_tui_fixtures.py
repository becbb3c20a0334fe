"""The panel's recorded sessions are what today's engine records.

The fixtures are re-recorded (tests/support/panel_journals.py, a few seconds) and
compared with the committed ones, ignoring what a real check run cannot repeat
(durations, finish times, latencies). A change to the engine or the journal's
vocabulary fails here first: re-record with
``python tests/support/panel_journals.py`` and look at the snapshots it moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gonogo.rollout.journal import Event, read_events
from support.panel_journals import FIXTURES, NAMES, record_all

VOLATILE = {"duration_ms", "finished_at", "latency_ms", "seconds"}


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def comparable(events: list[Event]) -> list[tuple[Any, ...]]:
    """Events without their volatile values; a run of check results in id order
    (checks run concurrently, so they may finish in either order)."""
    rows = [(e.time, e.actor, e.kind, stable(dict(e.data))) for e in events]
    out: list[tuple[Any, ...]] = []
    batch: list[tuple[Any, ...]] = []
    for row in [*rows, None]:
        if row is not None and row[2] == "check_result":
            batch.append(row)
            continue
        out.extend(sorted(batch, key=lambda r: str(r[3]["result"]["id"])))
        batch = []
        if row is not None:
            out.append(row)
    return out


@pytest.fixture(scope="module")
def rerecorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    out = tmp_path_factory.mktemp("panel-fixtures")
    asyncio.run(record_all(out))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_recorded_session_is_current(rerecorded: Path, name: str) -> None:
    committed = read_events(FIXTURES / name)  # also verifies the hash chain
    fresh = read_events(rerecorded / name)
    assert comparable(fresh) == comparable(committed), (
        f"fixture {name} is stale: re-record with `python tests/support/panel_journals.py`")
