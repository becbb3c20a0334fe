"""Folding a journal at once gives exactly the state its events give one by one.

``fold`` takes a run of consecutive polls in one step (a 4-hour canary is thousands
of polls; judging every rule after each one made a replay take seconds): these tests
hold it to ``apply``, event by event, on recorded journals and on a synthetic one
with what changes a poll's effect — blind polls, a pause, a change of speed, a run
longer than the kept window, a rollback and a re-rollout."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from gonogo.config import Plan, load_plan
from gonogo.rollout.events import (
    AdvanceConfirmed,
    CriterionTripped,
    EventBody,
    Paused,
    Resumed,
    RollbackFinished,
    RollbackStarted,
    Samples,
    SessionResumed,
    SessionStarted,
    StageEntered,
)
from gonogo.rollout.journal import GENESIS, Event, make_event, read_events
from gonogo.rollout.stages import plan_metrics, plan_stages
from gonogo.rollout.state import MAX_SAMPLES, RolloutState, apply, fold, initial_state
from support.panel_journals import FIXTURES as PANEL_FIXTURES
from support.panel_journals import panel_plan

JOURNALS = Path(__file__).parents[1] / "fixtures" / "journals"


def one_by_one(events: list[Event], plan: Plan) -> RolloutState:
    return functools.reduce(lambda s, e: apply(s, e, plan), events, initial_state(plan))


def journal(bodies: list[tuple[float, EventBody]]) -> list[Event]:
    events, prev = [], GENESIS
    for seq, (t, body) in enumerate(bodies, start=1):
        event = make_event(seq, t, "ada", body, prev)
        events.append(event)
        prev = event.hash
    return events


@pytest.mark.parametrize("name", ["v1-stable", "v1-rollback"])
def test_recorded_journals_fold_as_applied_one_by_one(name: str) -> None:
    events = read_events(JOURNALS / name)
    plan = load_plan(JOURNALS / name / "plan.toml")
    assert fold(events, plan) == one_by_one(events, plan)


@pytest.mark.parametrize("name", ["holding", "rollback-proposed", "rolled-back", "runbook-failed"])
def test_panel_recordings_fold_as_applied_one_by_one(name: str) -> None:
    events = read_events(PANEL_FIXTURES / name)
    plan = panel_plan()
    assert fold(events, plan) == one_by_one(events, plan)


def test_runs_of_polls_with_gaps_pauses_speed_and_a_rollback_fold_as_applied() -> None:
    plan = panel_plan()
    metrics = [m.id for m in plan_metrics(plan)]
    stages = plan_stages(plan)
    analysed = next(i for i, s in enumerate(stages) if s.analysis)
    t = 1_790_000_000.0
    bodies: list[tuple[float, EventBody]] = [(t, SessionStarted(release="r", speed=2.0))]

    def polls(n: int, step: float = 15.0, blind_every: int = 0, value: float = 0.01) -> None:
        nonlocal t
        for i in range(n):
            t += step if i % 7 else step * 4  # now and then a gap longer than a few polls
            if blind_every and i % blind_every == 0:
                body = Samples(values={m: None for m in metrics},
                               errors={metrics[0]: "connection refused"})
            else:
                body = Samples(values={m: (value * (1 + i % 5), value) if j else (None, value)
                                       for j, m in enumerate(metrics)} if i % 3 else
                               {m: (value * 3, value) for m in metrics})
            bodies.append((t, body))

    bodies.append((t, AdvanceConfirmed(to_index=analysed, to_stage=stages[analysed].id)))
    bodies.append((t, StageEntered(index=analysed, stage=stages[analysed].id, weight=5.0)))
    polls(MAX_SAMPLES + 37, blind_every=11)  # longer than the kept window
    bodies.append((t, Paused(reason="lunch")))
    polls(9)  # polls while paused
    bodies.append((t + 60, Resumed()))
    t += 60
    polls(25, blind_every=4)
    bodies.append((t, SessionResumed(speed=5.0)))  # a new driver, another speed
    polls(40, step=3.0, value=0.2)
    bodies.append((t, CriterionTripped(metric=metrics[0], reason="5xx above 2x")))
    bodies.append((t, RollbackStarted(reason="5xx above 2x")))
    bodies.append((t, RollbackFinished()))
    polls(3)
    bodies.append((t, AdvanceConfirmed(to_index=analysed, to_stage=stages[analysed].id)))
    bodies.append((t, StageEntered(index=analysed, stage=stages[analysed].id, weight=5.0)))
    polls(12)
    events = journal(bodies)
    folded = fold(events, plan)
    assert folded == one_by_one(events, plan)
    assert folded.hold_blind_s > 0 and folded.evaluations  # the case is not vacuous
    for upto in (5, 100, MAX_SAMPLES + 40, len(events) - 20):  # every prefix, not only the end
        assert fold(events[:upto], plan) == one_by_one(events[:upto], plan)
