"""The reality check: is the router at the weight the journal believes?

The engine reads the weight back through its traffic driver (``TrafficDriver.read``)
before each advance, on every resume, and while traffic sits at a stage; ``judge``
decides what that reading means. Pure: the state and a reading in, the events to
journal and whether to go on out.

- The weight read back is the journal's (within ``WEIGHT_TOLERANCE``; during or
  after a failed shift, the weight it was heading to counts too, since it may have
  landed): go on; a drift held earlier is journaled as verified.
- Another weight: ``WeightDrifted`` is journaled and the rollout is held. Nothing is
  shifted: a drift is never "fixed" by shifting; a person sets the router back (and
  resumes) or rolls back. An interrupted shift found drifted is abandoned first.
- No reading (the router did not answer): before a shift, a failed shift (the usual
  retries, then the driver stops); on resuming, a refusal; while holding, nothing.

A session that has confirmed no weight yet believes nothing, and a driver that
cannot be read back (``manual``) is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gonogo.config import Stage
from gonogo.rollout.events import EventBody, TrafficFailed, WeightDrifted, WeightVerified
from gonogo.rollout.phases import Phase
from gonogo.rollout.state import RolloutState
from gonogo.rollout.traffic import WeightReading

__all__ = ["WEIGHT_TOLERANCE", "Before", "Outcome", "believes", "judge"]

# A weight read back this close to the journal's is the same: a router that rounds
# 12.5 % to 12 or 13 has not drifted.
WEIGHT_TOLERANCE = 0.5
Before = Literal["advance", "resume", "hold"]


@dataclass(frozen=True, slots=True)
class Outcome:
    events: tuple[EventBody, ...] = ()  # to journal, in this order
    go_on: bool = True  # False: the caller acts on nothing (no shift, no resume)
    refusal: str = ""  # what to tell the operator ("" when there is nothing to say)


def believes(state: RolloutState) -> bool:
    """The journal holds a weight to check: a stage was entered, or a rollback ended."""
    return state.stage_index >= 0 or state.phase == Phase.ROLLED_BACK


def judge(state: RolloutState, reading: WeightReading, stages: Sequence[Stage], before: Before,
          to_index: int | None = None) -> Outcome:
    s = state
    target = to_index if to_index is not None else s.target_index
    to_stage = "" if target is None else stages[target].id if target < len(stages) else "stable"
    shifting = before == "advance" or s.phase == Phase.SHIFTING
    if reading.weight is None:
        error = (f"could not read the current weight from the {reading.where} "
                 f"({reading.detail}); nothing was shifted")
        if before == "hold" and not shifting:
            return Outcome()  # the next advance reads it again, and stops if it must
        if not shifting:
            return Outcome(go_on=False, refusal=f"{error}: not resuming on an unverified weight")
        weight = float(stages[target].weight) if target is not None and target < len(stages) \
            else s.weight_confirmed
        return Outcome((TrafficFailed(weight=weight, stage=to_stage, error=error),), go_on=False)
    believed = [s.weight_confirmed]
    if s.phase == Phase.SHIFTING or s.traffic_error is not None:
        believed.append(s.weight_intended)  # the shift under way (or that failed) may have landed
    if any(abs(reading.weight - w) <= WEIGHT_TOLERANCE for w in believed):
        if s.drift is None:
            return Outcome()
        return Outcome((WeightVerified(weight=reading.weight, where=reading.where,
                                       detail=reading.detail),))
    events: list[EventBody] = []
    if s.phase == Phase.SHIFTING:  # an interrupted shift is abandoned, never finished blind
        events.append(TrafficFailed(weight=s.weight_intended, stage=to_stage,
                                    error=f"abandoned: the {reading.where} is at {reading.weight:g} %"))
    drifted = WeightDrifted(journal=s.weight_confirmed, actual=reading.weight, where=reading.where,
                            before=before, stage=s.stage.id if s.stage is not None else "",
                            to_stage=to_stage if before == "advance" else "", detail=reading.detail)
    events.append(drifted)
    return Outcome(tuple(events), go_on=False, refusal=(
        f"{drifted.message}: nothing was shifted. Set the {reading.where} back to "
        f"{s.weight_confirmed:g} % and resume, or roll back"))
