"""The rollout engine: the only writer of a session's journal.

Every operator intent and every observation becomes a journal event (fsync'd)
before the method returns; ``state`` is the fold of those events, so a restarted
engine on the same journal is in exactly the same state. The clock is injected:
holds and rule durations run in plan time (real seconds × the session's speed).

Subscribers (the panel, the headless CLI) get ``(event, state)`` after each write.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

import msgspec

from gonogo.config import TBD, Plan, owner_problem, set_owner
from gonogo.context import CheckContext, make_context
from gonogo.errors import describe_error
from gonogo.model import Status
from gonogo.rollout.analysis import stall_limit_s
from gonogo.rollout.events import (
    AdvanceConfirmed,
    ChainKeyed,
    CheckRecorded,
    CheckResultRecord,
    CriterionTripped,
    EvaluationRecord,
    EventBody,
    GuardFailed,
    HoldCompleted,
    Note,
    OwnerSet,
    Paused,
    PauseRequested,
    ProposalDeclined,
    Reconciled,
    ReleaseStable,
    Resumed,
    RollbackFinished,
    RollbackProposed,
    RollbackStarted,
    RunbookDecision,
    RunbookStepFinished,
    RunbookStepStarted,
    Samples,
    SessionResumed,
    SessionStarted,
    SignedOff,
    StageEntered,
    Stalled,
    TrafficConfirmed,
    TrafficFailed,
    TrafficIntended,
    redact,
)
from gonogo.rollout.intents import Answer, Inbox, IntentInbox, IntentKind, Presence, Received
from gonogo.rollout.journal import Event, JournalError, JournalStore, make_event
from gonogo.rollout.metrics import MetricsSource, Reading, make_source
from gonogo.rollout.phases import (
    AdvancePreview,
    Phase,
    can_pause,
    force_advance_refusal,
    in_stage,
    preview,
    rollback_refusal,
    starts_over,
)
from gonogo.rollout.reality import Before, believes, judge
from gonogo.rollout.runbook import execute
from gonogo.rollout.stages import (
    exit_check_ids,
    guard_ids,
    guard_interval,
    manual_role,
    plan_metrics,
    plan_runbook,
    plan_stages,
)
from gonogo.rollout.state import RolloutState, apply, fold
from gonogo.rollout.traffic import TrafficDriver, WeightReading, make_driver
from gonogo.runner import prime, run_checks, select
from gonogo.values import Duration
from gonogo.verdict import Verdict, decide

__all__ = ["Engine", "EngineRefused", "Callback", "default_actor", "ENGINE_ACTOR", "same_person"]

Callback = Callable[[Event, RolloutState], None]
log = logging.getLogger(__name__)

ENGINE_ACTOR = "gonogo"  # the actor of what a rule did, never a person's name
MIN_GUARD_S = 2.0  # real seconds between two guard runs, whatever the speed
# ... and at least this many times what the last run took: a guard over 200 services
# (~1 s of probes on the driver's event loop) may not take more than a fifth of it
GUARD_DUTY = 5.0
WORSE = 1.1  # a declined proposal comes back at once when its value grows by this factor


class EngineRefused(Exception):
    """An intent the engine will not carry out now; the message is for the operator."""


def default_actor(plan: Plan | None = None, override: str | None = None) -> str:
    """--actor, else $GONOGO_ACTOR, else settings.actor, else user@host."""
    if override and override.strip():
        return override.strip()
    if os.environ.get("GONOGO_ACTOR", "").strip():
        return os.environ["GONOGO_ACTOR"].strip()
    if plan is not None and plan.settings.actor.strip():
        return plan.settings.actor.strip()
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def same_person(a: str, b: str) -> bool:
    """``Rosa Diaz`` is ``rosa diaz``; ``rosa@host`` is ``rosa`` (case and spacing aside)."""
    def norm(x: str) -> str:
        return " ".join(x.casefold().split())
    x, y = norm(a), norm(b)
    return bool(x) and (x == y or x.split("@", 1)[0] == y or y.split("@", 1)[0] == x)


class Engine:
    driving = True  # the only writer of its session (a watcher is a ``WatchControl``)

    def __init__(
        self,
        plan: Plan,
        journal: JournalStore,
        *,
        clock: Callable[[], float] = time.time,
        actor: str | None = None,
        traffic: TrafficDriver | None = None,
        metrics: MetricsSource | None = None,
        context_factory: Callable[[], CheckContext] | None = None,
        session_dir: str | None = None,
        inbox: IntentInbox | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.clock = clock
        self.actor = actor or default_actor(plan)
        self._traffic = traffic
        self._metrics = metrics
        self._context_factory = context_factory or (lambda: make_context(plan))
        self._ctx: CheckContext | None = None
        self.session_dir = Path(session_dir or journal.location)
        self.stages = plan_stages(plan)
        self.metrics = plan_metrics(plan)
        self.steps = {s.id: s for s in plan_runbook(plan)}
        self._subs: list[Callback] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._lock: asyncio.Lock | None = None
        self.inbox = inbox
        self.wall_clock = wall_clock  # ages of check results (their finished_at is wall time)
        self._guards_at: float | None = None  # real time of the last guard run
        self._guards_cost = 0.0  # real seconds the last guard run took (GUARD_DUTY)
        self._guards_stage = -1
        self._polled_at: float | None = None  # engine-clock time of the last metrics poll
        self._weight_read_at: float | None = None  # engine-clock time of the last reality check
        self._acting: str | None = None  # who the events are by while a rule acts (the engine)
        self.state: RolloutState = fold(journal.read(), plan)

    # Plumbing ----------------------------------------------------------
    @property
    def ctx(self) -> CheckContext:
        if self._ctx is None:
            self._ctx = self._context_factory()
            self._ctx.wall_clock = self.wall_clock
        return self._ctx

    @property
    def traffic(self) -> TrafficDriver:
        if self._traffic is None:
            self._traffic = make_driver(self.plan, self.ctx)
        return self._traffic

    @property
    def source(self) -> MetricsSource:
        if self._metrics is None:
            self._metrics = make_source(self.plan, self.ctx)
        return self._metrics

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def emit(self, body: EventBody, *, actor: str | None = None) -> Event:
        """Append one event (its free text redacted), fold it in, tell subscribers.
        ``actor``: someone other than the driver (an intent's submitter, the engine)."""
        clean = redact(body, self.ctx.redactor.text)
        who = self.ctx.redactor.text(actor) if actor else (self._acting or self.actor)
        event = self.journal.append(clean, who, float(self.clock()))
        self.state = apply(self.state, event, self.plan)
        for cb in list(self._subs):
            try:
                cb(event, self.state)
            except Exception:  # a broken view must not stop the rollout; it is logged
                log.exception("subscriber %r failed on event #%d (%s); the rollout goes on",
                              cb, event.seq, event.kind)
        return event

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` first when the engine closes, while the journal is still open
        (a subscriber's last deliveries, which may journal their failures)."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        for closer in self._closers:
            try:
                await closer()
            except Exception:  # closing must go on: the journal is closed below
                log.exception("closing %r failed", closer)
        self._closers.clear()
        if self._metrics is not None:
            await self._metrics.aclose()
        if self._ctx is not None:
            await self._ctx.aclose()
            self._ctx = None
        self.journal.close()

    # Views -------------------------------------------------------------
    def events(self) -> list[Event]:
        """The session's events so far, oldest first."""
        return self.journal.read()

    def watchers(self) -> list[str]:
        """Who watches this session (``gonogo watch`` on a file session says so)."""
        if self.inbox is None or not isinstance(self.inbox, Inbox):
            return []
        return Presence(self.session_dir).present()

    def verdict(self) -> Verdict:
        """The checklist verdict on the results as they are now (stale ones block). A
        result's age is wall-clock time, like its ``finished_at`` (the engine's clock runs
        holds, and may be compressed or injected)."""
        return decide(self.plan, self.state.results, self.state.owners, now=self.wall_clock())

    def advance_preview(self) -> AdvancePreview:
        return preview(self.state, self.plan, self.clock(), self.verdict())

    # Session -----------------------------------------------------------
    def start(self, *, speed: float = 1.0) -> Event:
        """Open the session (first run) or record that this driver resumed it."""
        if not speed > 0:
            raise EngineRefused("speed must be greater than 0")
        if self.state.events == 0:
            p = self.plan
            started = self.emit(SessionStarted(
                release=p.release.name, commit=p.release.commit, config=p.source,
                environment=p.release.environment, speed=float(speed),
                stages=tuple(s.id for s in self.stages),
            ))
            if self.journal.key_ref:  # tell a verifier which key proves this chain
                self.emit(ChainKeyed(key_ref=self.journal.key_ref))
            return started
        previous = self.state.driver or ""
        return self.emit(SessionResumed(
            speed=float(speed), took_over_from=previous if previous != self.actor else ""))

    async def prime(self) -> None:
        """Teach the redactor every secret of the plan (vault ones included) before a
        driver, check or runbook step runs; once per context, cheap after that."""
        await prime(self.ctx)

    async def recover(self) -> None:
        """Finish what a crash interrupted: a sign-off whose check did not re-run, a
        tripped criterion not yet acted on, an unconfirmed shift, a runbook midway."""
        await self.prime()  # a resumed shift or runbook re-runs commands before any check
        s = self.state
        stale = [cid for cid in s.signoffs
                 if cid in s.results and s.results[cid].status == Status.PENDING]
        if stale:
            await self.run_checks(stale)
            s = self.state
        if s.trip_pending and in_stage(s.phase):
            tripped = next((e.body for e in reversed(self.journal.read())
                            if isinstance(e.body, CriterionTripped)), None)
            if tripped is not None:
                async with self._guard():
                    await self._stop(tripped, record=False)
            return
        if (in_stage(s.phase) or s.phase == Phase.SHIFTING) and not await self._resume_check():
            return
        s = self.state
        if s.phase == Phase.SHIFTING and s.target_index is not None:
            async with self._guard():
                if s.target_index >= len(self.stages):  # the advance to stable was confirmed
                    self.emit(ReleaseStable(release=self.plan.release.name))
                else:
                    await self._shift_into(s.target_index)
        elif s.phase == Phase.ROLLING_BACK and s.runbook_waiting is None:
            await self.continue_rollback()

    # Checks ------------------------------------------------------------
    async def run_checks(self, ids: Iterable[str] | None = None) -> None:
        selected = select(self.plan, list(ids) if ids is not None else None)
        ctx = self.ctx
        ctx.signoffs.clear()
        ctx.signoffs.update(self.state.signoffs)
        async for result in run_checks(ctx, selected):
            self.emit(CheckRecorded(result=CheckResultRecord.of(result)))

    def signoff_role(self, check_id: str) -> str:
        """The owner role that signs ``check_id`` (a manual check's ``who``; "" for none)."""
        return manual_role(self.plan, check_id)

    async def sign_off(self, check_id: str, note: str = "") -> None:
        """This driver signs ``check_id`` (as the owner of its role), with a note."""
        await self.record_signoff(check_id, note)

    async def record_signoff(self, check_id: str, note: str = "", *, signer: str | None = None,
                             automatic: bool = False, rule: str = "") -> Event:
        """Record a sign-off by ``signer`` (default: this driver) for the check's owner
        role, with a note; or, ``automatic``, by ``rule`` (a rehearsal), never a person."""
        try:
            spec = self.plan.check(check_id)
        except KeyError:
            stage_signoffs = {s.signoff for s in self.stages if s.signoff}
            if check_id not in stage_signoffs:
                raise EngineRefused(f"no check or stage sign-off {check_id!r}") from None
        else:
            if spec.kind != "manual":
                raise EngineRefused(f"{check_id} is a {spec.kind} check: it is run, not signed off")
        role = self.signoff_role(check_id)
        if automatic:
            self._not_signed_yet(check_id)
            event = self.emit(SignedOff(
                check_id=check_id, role=role, automatic=True, rule=rule or "automatic",
                note=note.strip() or f"signed automatically by {rule or 'a rule'}: no person ran this",
            ), actor=ENGINE_ACTOR)
        else:
            person = (signer or self.actor).strip()
            if not note.strip():
                raise EngineRefused(f"a sign-off of {check_id} needs a note: what was checked, and how")
            if (why := owner_problem(person)) is not None:
                raise EngineRefused(f"signer: {why}")
            if role:
                owner = self.state.owners.get(role, "").strip()
                if not owner or owner.upper() == TBD:
                    raise EngineRefused(f"{check_id} is signed by its owner role {role}, which has no "
                                        "owner yet: name one first (o in the panel, or [owners])")
                if not same_person(person, owner):
                    raise EngineRefused(f"{check_id} is signed by {role} ({owner}); {person} is not "
                                        f"{owner}: {owner} signs it (gonogo signoff {check_id} --as "
                                        f"'{owner}' --note ...)")
            self._not_signed_yet(check_id)
            event = self.emit(SignedOff(check_id=check_id, note=note.strip(), role=role), actor=person)
        if any(c.id == check_id for _, c in self.plan.checks()):
            await self.run_checks([check_id])  # the manual check now passes, on the record
        return event

    def _not_signed_yet(self, check_id: str) -> None:
        done = self.state.signoffs.get(check_id)
        if done is not None:
            raise EngineRefused(f"{check_id} is already signed off by {done.actor}")

    async def take_intents(self) -> None:
        """Apply (or refuse) what others submitted to this session, under their names."""
        if self.inbox is None:
            return
        for received in list(self.inbox.take()):
            answer = await self._apply_intent(received)
            if received.intent is not None:
                delay = max(0.0, time.time() - received.intent.submitted_at)
                answer = msgspec.structs.replace(answer, delay_s=round(delay, 3))
            self.inbox.answer(answer)

    async def _apply_intent(self, received: Received) -> Answer:
        intent = received.intent
        if intent is None:
            return Answer(id=received.id, applied=False, detail=received.problem)
        try:
            event = await self.apply_intent(intent.kind, intent.actor, check_id=intent.check_id,
                                            text=intent.note)
        except EngineRefused as exc:
            return Answer(id=intent.id, applied=False, detail=str(exc))
        done = {"signoff": "signed off", "note": "noted", "pause": "pause requested; the driver decides",
                "rollback": "rollback proposed; the driver decides"}[intent.kind]
        return Answer(id=intent.id, applied=True, seq=event.seq,
                      detail=f"{done}: journaled as event #{event.seq} by the driver {self.actor}")

    async def apply_intent(self, kind: IntentKind, actor: str, *, check_id: str = "",
                           text: str = "") -> Event:
        """Journal what ``actor`` (not the driver) asks: a sign-off, a note, a pause
        request, a rollback proposal; ``EngineRefused`` says why not. The driver calls it
        for each intent it takes, and a command with no driver running calls it itself."""
        who = actor.strip()
        if (why := owner_problem(who)) is not None:
            raise EngineRefused(f"submitter: {why}")
        if kind == "signoff":
            return await self.record_signoff(check_id, text, signer=who)
        if kind == "note":
            if not text.strip():
                raise EngineRefused("an empty note")
            return self.emit(Note(text=text.strip()), actor=who)
        if kind == "pause":
            if not can_pause(self.state.phase):
                raise EngineRefused(f"nothing to pause while {self.state.phase}")
            return self.emit(PauseRequested(reason=text.strip()), actor=who)
        return await self.propose_rollback(text, proposer=who)

    async def propose_rollback(self, reason: str, *, proposer: str) -> Event:
        """A person proposes a rollback: the hold pauses and the driver decides."""
        if not reason.strip():
            raise EngineRefused("a rollback proposal needs a reason")
        async with self._guard():
            refusal = rollback_refusal(self.state.phase)
            if refusal is not None:
                raise EngineRefused(refusal)
            if self.state.rollback_proposed:
                raise EngineRefused(f"a rollback is already proposed: {self.state.stop_reason}")
            return self.emit(RollbackProposed(reason=f"{proposer} proposes a rollback: "
                                                     f"{reason.strip()}", check="person"),
                             actor=proposer)

    async def set_owner(self, role: str, name: str) -> None:
        role, name = role.strip(), name.strip()
        if not role or not name:
            raise EngineRefused("an owner needs a role and a name (write TBD until known)")
        if (why := owner_problem(name)) is not None:
            raise EngineRefused(why)
        self.emit(OwnerSet(role=role, name=name))
        if self.plan.source and Path(self.plan.source).is_file():
            try:
                await asyncio.to_thread(set_owner, self.plan.source, role, name)
            except OSError as exc:
                raise EngineRefused(f"owner logged, but {self.plan.source} not updated: {exc.strerror}") from None

    # Stages ------------------------------------------------------------
    async def advance(self) -> None:
        async with self._guard():
            pv = self.advance_preview()
            if not pv.can_advance:
                raise EngineRefused("cannot advance: " + "; ".join(pv.blockers))
            await self._advance(forced=False, reason="")

    async def force_advance(self, reason: str) -> None:
        if not reason.strip():
            raise EngineRefused("a force-advance needs a typed reason")
        async with self._guard():
            refusal = force_advance_refusal(self.state.phase)
            if refusal is not None:
                raise EngineRefused(refusal)
            await self._advance(forced=True, reason=reason.strip())

    async def _advance(self, *, forced: bool, reason: str) -> None:
        s = self.state
        restart = starts_over(s.phase)
        to_index = 0 if restart else s.stage_index + 1
        if not await self._reality_check("advance", to_index=to_index):
            return
        s = self.state
        self.emit(AdvanceConfirmed(
            from_index=-1 if restart else s.stage_index, to_index=to_index,
            from_stage=s.stage.id if s.stage and not restart else None,
            to_stage=self.stages[to_index].id if to_index < len(self.stages) else "stable",
            forced=forced, reason=reason,
        ))
        if to_index >= len(self.stages):
            self.emit(ReleaseStable(release=self.plan.release.name))
            return
        await self._shift_into(to_index)

    async def _shift_into(self, index: int) -> None:
        stage = self.stages[index]
        self.emit(TrafficIntended(weight=float(stage.weight), stage=stage.id, purpose="advance"))
        if self.traffic.needs_confirmation:
            return  # the operator confirms with confirm_traffic()
        await self.prime()
        shift = await self.traffic.shift(float(stage.weight), stage.id, self.plan.release.name)
        if not shift.confirmed:
            self.emit(TrafficFailed(weight=shift.weight, stage=stage.id, error=shift.detail))
            return
        self.emit(TrafficConfirmed(weight=shift.weight, stage=stage.id, detail=shift.detail))
        await self._enter(index)

    # The reality check (``gonogo.rollout.reality``) --------------------------
    async def _reality_check(self, before: Before, *, to_index: int | None = None) -> bool:
        """Read the weight back and act on ``reality.judge``: True to go on. A drift is
        journaled (by the rule) and raised as ``EngineRefused``, as is a resume on a
        weight that cannot be read; a read failure before a shift is a failed shift."""
        s = self.state
        if not believes(s):
            return True
        await self.prime()
        try:
            reading = await self.traffic.read(s.stage.id if s.stage else "", self.plan.release.name)
        except Exception as exc:  # a driver's bug must not let a stale belief through
            reading = WeightReading(None, describe_error(exc))
        if reading is None:
            return True  # this driver cannot be read back (manual)
        outcome = judge(s, reading, self.stages, before, to_index)
        for body in outcome.events:
            self.emit(body, actor=None if isinstance(body, TrafficFailed) else ENGINE_ACTOR)
        if outcome.refusal:
            raise EngineRefused(outcome.refusal)
        return outcome.go_on

    async def _resume_check(self) -> bool:
        """The reality check of a resumed session; a hold that a drift caused ends (by
        the rule, journaled) once the weight read back is the journal's again."""
        s = self.state
        held = (s.drift is not None and s.phase == Phase.PAUSED and s.stop_reason == s.drift
                and not s.rollback_proposed)
        if not await self._reality_check("resume"):
            return False
        if held:
            self.emit(Resumed(reason=f"reality check: the weight is back at "
                                     f"{self.state.weight_confirmed:g} %, as the journal says"),
                      actor=ENGINE_ACTOR)
        return True

    async def _reality_turn(self) -> None:
        """While traffic sits at a stage, read the weight back once per canary interval:
        a router set to 0 % behind the driver's back would otherwise only show as a
        canary without data, and the hold would wait on it forever."""
        s = self.state
        if s.phase not in (Phase.HOLDING, Phase.READY) or s.drift is not None or not believes(s):
            return
        now = self.clock()
        period = max(MIN_GUARD_S, self.plan.canary.interval.seconds / max(s.speed, 1e-9))
        if self._weight_read_at is not None and now - self._weight_read_at < period:
            return
        self._weight_read_at = now
        try:
            await self._reality_check("hold")
        except EngineRefused:
            pass  # journaled: the rollout is held, and says why

    async def _enter(self, index: int) -> None:
        stage = self.stages[index]
        self.emit(StageEntered(index=index, stage=stage.id, weight=float(stage.weight)))
        if stage.entry_checks:
            await self.run_checks(stage.entry_checks)

    async def confirm_traffic(self, note: str = "") -> None:
        """The operator confirms the weight they set by hand (manual driver): the shift
        into a stage, or the rollback's shift back."""
        s = self.state
        detail = f"confirmed by {self.actor}" + (f": {note}" if note else "")
        if s.phase == Phase.SHIFTING and s.target_index is not None:
            stage = self.stages[s.target_index]
            self.emit(TrafficConfirmed(weight=s.weight_intended, stage=stage.id, detail=detail))
            await self._enter(s.target_index)
            return
        running = next((st for st in s.runbook if st.status == "running"), None)
        if (s.phase == Phase.ROLLING_BACK and running is not None
                and self.steps[running.id].action == "shift_traffic"):
            self.emit(TrafficConfirmed(weight=s.weight_intended, stage="rollback", detail=detail))
            self.emit(RunbookStepFinished(step=running.id, status="done", detail=detail))
            await self.continue_rollback()
            return
        raise EngineRefused("no traffic shift is waiting for confirmation")

    async def pause(self, reason: str = "") -> None:
        if not can_pause(self.state.phase):
            raise EngineRefused(f"nothing to pause while {self.state.phase}")
        self.emit(Paused(reason=reason))

    async def resume(self, reason: str = "") -> None:
        """Resume a pause; with a rollback proposed, decline it (it snoozes)."""
        s = self.state
        if s.phase != Phase.PAUSED:
            raise EngineRefused("not paused")
        if s.rollback_proposed and s.proposal is not None:
            key, value = s.proposal
            kind, _, ident = key.partition(":")
            self.emit(ProposalDeclined(
                reason=reason or "rollback declined", metric=ident if kind == "metric" else "",
                check=ident if kind == "check" else "", value=value,
                snooze_s=self.plan.rollout.propose_snooze.seconds,
            ))
            return
        await self._reality_check("resume")
        self.emit(Resumed(reason=reason))

    def snoozed(self, key: str, value: float | None = None) -> bool:
        """A declined proposal for ``key`` stays quiet until its snooze ends, unless
        ``value`` grew past the one declined."""
        entry = self.state.snoozed.get(key)
        if entry is None:
            return False
        until, declined = entry
        if self.clock() >= until:
            return False
        # declined without a value (a stall: nothing was measured), a measured breach is worse
        worse = value is not None and (declined is None or abs(value) > abs(declined) * WORSE + 1e-12)
        return not worse

    # Polling -----------------------------------------------------------
    def analysing(self) -> bool:
        s = self.state
        stage = s.stage
        return (
            bool(self.metrics) and stage is not None
            and self.stages[stage.index].analysis
            and in_stage(s.phase)
            and not s.rollback_proposed
        )

    async def tick(self) -> None:
        """One poll: intents, guards, metrics and rules, stop criteria, hold timer."""
        await self.take_intents()
        try:
            await self._guard_turn()
        except JournalError as exc:
            # the disk filled while a guard was being recorded: judge the canary on a poll
            # that cannot be recorded either, and take traffic to 0 % if it is failing
            if self.analysing():
                await self._fail_safe(exc, await self._poll())
            raise
        await self._reality_turn()
        if self.analysing() and self._poll_due():
            polled = await self._poll()
            async with self._guard():
                if not self.analysing():
                    return
                try:
                    self.emit(polled)
                except JournalError as exc:
                    await self._fail_safe(exc, polled)
                    raise
                tripped = self._tripped()
                if tripped is not None and not self._quiet(tripped):
                    try:
                        await self._stop(tripped)
                    except JournalError as exc:
                        await self._fail_safe(exc, reason=tripped.reason)
                        raise
                    return
                if await self._watch_stalls():
                    return
        s = self.state
        if s.phase == Phase.HOLDING and s.hold_remaining(self.clock()) <= 0:
            stage = self.stages[s.stage_index]
            self.emit(HoldCompleted(stage=stage.id, hold_s=stage.hold.seconds))
            if stage.exit_checks:
                await self.run_checks(stage.exit_checks)
                await self._judge(exit_check_ids(self.plan, stage))

    async def _poll(self) -> Samples:
        await self.prime()
        return self._polled(await self.source.poll(self.metrics, self.clock()))

    def _poll_due(self) -> bool:
        """Metrics are polled once per ``canary.interval`` (plan time): a driver may tick
        more often (to take intents) without polling the source more often."""
        now = self.clock()
        period = self.plan.canary.interval.seconds / max(self.state.speed, 1e-9)
        if self._polled_at is not None and now - self._polled_at < 0.8 * period:
            return False
        self._polled_at = now
        return True

    def _quiet(self, tripped: CriterionTripped) -> bool:
        """A proposal declined for this criterion is snoozed (propose mode only)."""
        return (self.plan.rollout.on_stop == "propose"
                and self.snoozed(f"metric:{tripped.metric}", tripped.canary))

    # Guards ------------------------------------------------------------
    def guards_due(self) -> bool:
        s = self.state
        if not in_stage(s.phase) or s.rollback_proposed or s.stage is None:
            return False
        stage = self.stages[s.stage_index]
        if not guard_ids(self.plan, stage):
            return False
        if self._guards_at is None or self._guards_stage != s.stage_seq:
            return True
        period = max(MIN_GUARD_S, guard_interval(self.plan, stage).seconds / max(s.speed, 1e-9),
                     GUARD_DUTY * self._guards_cost)
        return self.clock() - self._guards_at >= period

    async def _guard_turn(self) -> None:
        """Re-run the stage's guards when due, and act on a failing one."""
        if not self.guards_due():
            return
        s = self.state
        stage = self.stages[s.stage_index]
        self._guards_at, self._guards_stage = self.clock(), s.stage_seq
        ids = guard_ids(self.plan, stage)
        began = time.monotonic()
        await self.run_checks(ids)
        self._guards_cost = time.monotonic() - began
        await self._judge(ids)

    async def _judge(self, ids: Iterable[str]) -> None:
        """A required guard or exit check that failed (or could not judge) while canary
        traffic is live acts per ``rollout.on_stop``: the runbook, or a proposal."""
        s = self.state
        if not in_stage(s.phase) or s.rollback_proposed or s.stage is None:
            return
        if max(s.weight_confirmed, s.weight_intended) <= 0:
            return  # nothing to roll back: the verdict and the advance preview block instead
        stage = self.stages[s.stage_index]
        for cid in ids:
            result = s.results.get(cid)
            if result is None or not result.required or result.status not in (Status.FAIL, Status.ERROR):
                continue
            if self.snoozed(f"check:{cid}"):
                continue
            propose = self.plan.rollout.on_stop == "propose"
            reason = f"guard {cid} {result.status} at {stage.id}: {result.summary}"
            async with self._guard():
                self.emit(GuardFailed(check=cid, stage=stage.id, status=str(result.status),
                                      summary=result.summary,
                                      action="propose" if propose else "rollback"),
                          actor=ENGINE_ACTOR)
                if propose:
                    self.emit(RollbackProposed(reason=reason, check=cid), actor=ENGINE_ACTOR)
                else:
                    await self._rollback(reason, trigger="guard")
            return

    async def _fail_safe(self, exc: JournalError, pending: EventBody | None = None, *,
                         reason: str = "") -> None:
        """The journal cannot be written while the canary takes traffic. If a stop
        criterion is failing (or would be, by the poll that could not be recorded),
        traffic still goes to 0 %: an unrecorded rollback beats a recorded outage.
        Raises ``JournalError`` saying what was done; otherwise returns."""
        state = self.state
        if pending is not None and not reason:
            unwritten = make_event(state.events + 1, float(self.clock()), self.actor, pending,
                                   state.last_hash)
            tripped = self._tripped(apply(state, unwritten, self.plan))
            reason = tripped.reason if tripped is not None else ""
        if not reason or max(state.weight_confirmed, state.weight_intended) <= 0:
            return
        if self.traffic.needs_confirmation:
            done = "SET THE CANARY WEIGHT TO 0% BY HAND NOW (manual traffic driver)"
        else:
            try:
                shift = await self.traffic.shift(0.0, "rollback", self.plan.release.name)
                done = (f"traffic shifted to 0% ({shift.detail})" if shift.confirmed
                        else f"the shift to 0% FAILED ({shift.detail}): shift traffic by hand now")
            except Exception as shift_exc:  # the fail-safe must report, whatever happens
                done = f"the shift to 0% FAILED ({describe_error(shift_exc)}): shift traffic by hand now"
        message = (f"FAIL-SAFE: {exc}; {reason}: {done}. None of this is in the journal; "
                   f"fix the disk and resume to record the rollback")
        log.critical("%s", message)
        raise JournalError(message) from exc

    def _tripped(self, state: RolloutState | None = None) -> CriterionTripped | None:
        for ev in (state or self.state).evaluations.values():
            if ev.stop and ev.state == "tripped":
                return CriterionTripped(
                    metric=ev.metric_id, title=ev.title, rule=ev.rule, state=ev.state,
                    canary=ev.canary, baseline=ev.baseline, threshold=ev.threshold,
                    breach_s=round(ev.breach_s, 3), required_s=ev.required_s,
                    reason=f"stop criterion {ev.metric_id} ({ev.title}): {ev.reason}",
                    series=ev.series[-12:],
                )
        return None

    def _polled(self, readings: Mapping[str, Reading]) -> Samples:
        """One poll as the journal records it. Where the baseline gets no traffic (the
        canary at 100 %), ratio rules get the baseline last measured with traffic, and
        the event names the stage it came from."""
        s = self.state
        no_baseline_traffic = s.weight_confirmed >= 100.0
        metrics = {m.id: m for m in self.metrics}
        values: dict[str, tuple[float | None, float | None] | None] = {}
        errors: dict[str, str] = {}
        requests: dict[str, float] = {}
        carried: dict[str, str] = {}
        for k, r in readings.items():
            m = metrics.get(k)
            baseline, error = r.baseline, r.error
            if m is not None and no_baseline_traffic and m.rule == "ratio_above":
                kept = s.baselines.get(k)
                if kept is not None:
                    baseline, carried[k] = kept
                else:
                    baseline = None
                    error = error or ("the baseline gets no traffic at 100% and no earlier stage "
                                      "measured it")
            values[k] = (r.canary, baseline) if r.canary is not None or baseline is not None else None
            if error:
                errors[k] = error
            if r.requests is not None and m is not None and self.plan.canary.min_requests_of(m) > 0:
                requests[k] = r.requests
        return Samples(values=values, errors=errors, requests=requests, carried=carried)

    async def _watch_stalls(self) -> bool:
        """Report each stop criterion inconclusive past ``max_inconclusive`` (a ``stalled``
        event, once per stall and stage), then act per ``[canary] on_inconclusive``: hold
        (keep waiting, visibly), propose a rollback, or stop as a tripped criterion would.
        True when it stopped the rollout (a proposal or a rollback)."""
        s = self.state
        stage = s.stage
        if stage is None:
            return False
        canary = self.plan.canary
        hold_s = self.stages[stage.index].hold.seconds
        first: tuple[str, str, float, float] | None = None
        for m in self.metrics:
            ev = s.evaluations.get(m.id)
            if not m.stop or ev is None or ev.state != "inconclusive" or m.id in s.stalled:
                continue  # a dry run (stop = false) never stalls the rollout
            limit = stall_limit_s(canary, m, hold_s)
            since = s.inconclusive_since.get(m.id, 0.0)
            tries = sum(1 for x in s.samples.get(m.id, ()) if x.t >= since)
            # long enough, and polled often enough to have had a fair chance: a compressed
            # rehearsal polls less often (in plan time) than the metric's interval
            if ev.inconclusive_s < limit or tries < m.min_samples + 2:
                continue
            self.emit(Stalled(metric=m.id, reason=ev.reason, stage=stage.id,
                              inconclusive_s=round(ev.inconclusive_s, 3), limit_s=limit,
                              action=canary.on_inconclusive), actor=ENGINE_ACTOR)
            first = first or (m.id, ev.reason, ev.inconclusive_s, limit)
        if first is None or canary.on_inconclusive == "hold":
            return False
        metric_id, why, spent, limit = first
        reason = (f"stalled: {metric_id}: {why} (inconclusive for {Duration(spent)}, "
                  f"max_inconclusive {Duration(limit)})")
        if canary.on_inconclusive == "propose":
            self.emit(RollbackProposed(reason=reason, metric=metric_id), actor=ENGINE_ACTOR)
            return True
        ev = s.evaluations[metric_id]
        tripped = CriterionTripped(
            metric=metric_id, title=ev.title, rule=ev.rule, state=ev.state, canary=ev.canary,
            baseline=ev.baseline, threshold=ev.threshold, breach_s=0.0, required_s=limit,
            reason=f"stop criterion {metric_id} ({ev.title}): {reason}", series=ev.series[-12:],
        )
        try:
            await self._stop(tripped)
        except JournalError as exc:
            await self._fail_safe(exc, reason=tripped.reason)
            raise
        return True

    async def _stop(self, tripped: CriterionTripped, *, record: bool = True) -> None:
        if record:
            self.emit(tripped, actor=ENGINE_ACTOR)
        if self.plan.rollout.on_stop == "propose":
            self.emit(RollbackProposed(reason=tripped.reason, metric=tripped.metric,
                                       value=tripped.canary), actor=ENGINE_ACTOR)
            return
        await self._rollback(tripped.reason, trigger="criterion")

    # Rollback ----------------------------------------------------------
    async def rollback(self, reason: str) -> None:
        if not reason.strip():
            raise EngineRefused("a rollback needs a reason")
        async with self._guard():
            refusal = rollback_refusal(self.state.phase)
            if refusal is not None:
                raise EngineRefused(refusal)
            await self._rollback(reason.strip(), trigger="operator")

    async def _rollback(self, reason: str, *,
                        trigger: Literal["operator", "criterion", "guard"]) -> None:
        snapshot = {k: EvaluationRecord.of(ev) for k, ev in self.state.evaluations.items()}
        self.emit(RollbackStarted(reason=reason, trigger=trigger, snapshot=snapshot,
                                  weight=self.state.weight_confirmed),
                  actor=None if trigger == "operator" else ENGINE_ACTOR)
        await self._run_runbook()

    async def continue_rollback(self) -> None:
        if self.state.phase != Phase.ROLLING_BACK:
            raise EngineRefused("no rollback in progress")
        await self._run_runbook()

    async def _run_runbook(self) -> None:
        """The runbook's steps, as the engine when a rule started the rollback (the
        events say so), as the driver when an operator did."""
        self._acting = self._runbook_actor()
        try:
            await self._runbook_steps()
        finally:
            self._acting = None

    async def _runbook_steps(self) -> None:
        await self.prime()
        for step_state in self.state.runbook:
            if step_state.status in ("done", "skipped"):
                continue
            if step_state.status == "failed":
                return  # waits for runbook_decision
            step = self.steps[step_state.id]
            self.emit(RunbookStepStarted(step=step.id, action=step.action))
            outcome = await execute(step, self)
            if outcome is None:
                return  # waits for the operator (manual step or manual traffic)
            ok, detail = outcome
            self.emit(RunbookStepFinished(step=step.id, status="done" if ok else "failed",
                                          detail=detail))
            if not ok:
                return
        self.emit(RollbackFinished(weight=self.state.weight_confirmed))

    def _runbook_actor(self) -> str | None:
        """A runbook started by a rule runs as the engine; one an operator started, as
        the driver (a person's decision on a failed step is always theirs)."""
        return ENGINE_ACTOR if self.state.rollback_trigger in ("criterion", "guard") else None

    async def runbook_decision(self, step_id: str, decision: str, reason: str) -> None:
        if decision not in ("retry", "skip"):
            raise EngineRefused("decide 'retry' or 'skip'")
        if not reason.strip():
            raise EngineRefused("a runbook decision needs a reason")
        waiting = self.state.runbook_waiting
        if waiting is None or waiting.id != step_id:
            raise EngineRefused(f"runbook step {step_id!r} is not waiting for a decision")
        self.emit(RunbookDecision(step=step_id, decision="retry" if decision == "retry" else "skip",
                                  reason=reason.strip()))
        await self._run_runbook()

    async def confirm_step(self, step_id: str, note: str = "") -> None:
        """Confirm a manual runbook step as done."""
        running = next((st for st in self.state.runbook if st.status == "running"), None)
        if running is None or running.id != step_id or self.steps[step_id].action != "manual":
            raise EngineRefused(f"runbook step {step_id!r} is not waiting for confirmation")
        self.emit(RunbookStepFinished(step=step_id, status="done",
                                      detail=f"confirmed by {self.actor}" + (f": {note}" if note else "")))
        await self._run_runbook()

    async def mark_reconciled(self, item_id: str) -> None:
        if item_id not in self.state.reconciliation:
            known = ", ".join(self.state.reconciliation) or "none configured"
            raise EngineRefused(f"no reconciliation item {item_id!r} (known: {known})")
        self.emit(Reconciled(item=item_id))
