"""A gate's status: one rule for the CLI report and the panel's checklist.

Headless (no Textual, no Rich): ``gonogo check`` and the panel both call
``gate_status`` so that a gate never reads one way in the terminal report and
another way on the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping

from gonogo.config import Gate
from gonogo.model import CheckResult, Status

GATE_PRECEDENCE: tuple[Status, ...] = (
    Status.ERROR,
    Status.FAIL,
    Status.PENDING,
    Status.SKIPPED,
    Status.WARN,
    Status.PASS,
)
"""Worst first. The order follows the verdict (``gonogo.verdict.decide``): every
status that blocks GO for a required check ranks above every status that lets
it through, so a gate never looks better than what the verdict says about it.

1. ``error`` — the check could not judge (a crash, a timeout): the gate is
   unknown, which hides anything else, so it ranks worst.
2. ``fail`` — the check judged and it is bad.
3. ``pending`` — not run yet (or re-running): the gate is not finished, and GO
   is blocked until it is.
4. ``skipped`` — a required check a kind found nothing to run for: it blocks GO
   (nothing was verified), but it is settled, so it ranks below pending. A check the
   config skips through ``skip_if`` does not block, so it is not judged (a gate of
   nothing else reads ``skipped``).
5. ``warn`` — passed with a note: lets GO through, so it ranks below every
   blocking status but above a clean pass.
6. ``pass``.

There is no *inconclusive* check status: inconclusive belongs to canary rules
(``gonogo.rollout.analysis``), which never feed a gate.
"""

_RANK = {status: rank for rank, status in enumerate(GATE_PRECEDENCE)}


def worst(statuses: list[Status]) -> Status:
    """The highest-precedence status of ``statuses`` (``pass`` when there are none)."""
    return min(statuses, key=_RANK.__getitem__, default=Status.PASS)


def gate_status(gate: Gate, results: Mapping[str, CheckResult]) -> Status:
    """The worst status among the gate's required checks (see ``GATE_PRECEDENCE``).

    A required check without a result counts as ``pending``. A gate whose checks
    are all optional is judged on them instead (it cannot block, but it still says
    how its checks went); a gate without checks is ``skipped``, and so is one whose
    judged checks were all skipped by the config (``skip_if``), which are otherwise
    left out: the config decided they do not count.
    """
    if not gate.checks:
        return Status.SKIPPED
    judged = [c for c in gate.checks if c.required] or list(gate.checks)
    statuses = [
        results[c.id].status if c.id in results else Status.PENDING
        for c in judged
        if not (c.id in results and results[c.id].skipped_by_config)
    ]
    return worst(statuses) if statuses else Status.SKIPPED
