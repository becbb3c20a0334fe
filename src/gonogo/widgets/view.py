"""Pure view-model functions: rollout state in, display values out.

No Textual here, so the formatting rules (countdowns, rule states, the header,
the health grid) are unit-tested without a screen. Widgets call these and only
style the result. Everything reads the engine's real types (``RolloutState``,
``Phase``, ``RuleEvaluation``), so a recorded session renders exactly like a live one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gonogo.config import TBD, Plan, Service
from gonogo.model import CheckResult, Status
from gonogo.rollout.analysis import RuleEvaluation, fmt_metric
from gonogo.rollout.state import Phase, RolloutState, StageView
from gonogo.verdict import Verdict

# Phases in which the rollout is under way (quitting asks first).
ACTIVE_PHASES = frozenset({Phase.SHIFTING, Phase.HOLDING, Phase.PAUSED, Phase.READY,
                           Phase.ROLLING_BACK})
ROLLBACK_PHASES = frozenset({Phase.ROLLING_BACK, Phase.ROLLED_BACK})


def is_active(state: RolloutState) -> bool:
    return state.phase in ACTIVE_PHASES


def phase_text(phase: Phase) -> str:
    """``Phase.ROLLING_BACK`` -> ``"ROLLING BACK"``."""
    return phase.name.replace("_", " ")


def fmt_duration(seconds: float | None) -> str:
    """``754`` -> ``"12:34"``, ``3723`` -> ``"1:02:03"``; ``None`` -> ``"--:--"``."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    total = max(0, int(round(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def fmt_span(seconds: float) -> str:
    """Compact human span for rule durations: ``120`` -> ``"2m"``, ``90`` -> ``"1m30s"``."""
    total = max(0, int(round(seconds)))
    m, s = divmod(total, 60)
    h, m = divmod(m, 60)
    if h:
        return f"{h}h{m:02d}m" if m else f"{h}h"
    if m:
        return f"{m}m{s:02d}s" if s else f"{m}m"
    return f"{s}s"


def fmt_weight(weight: float) -> str:
    return f"{weight:g}%"


def fmt_value(value: float | None, unit: str = "") -> str:
    """A metric's value with its unit (``rollout.analysis.fmt_metric``): ``ratio`` as a
    percentage, ``s`` under a second in ``ms``; ``"no data"`` for none."""
    return fmt_metric(value, unit, missing="no data")


CellStatus = Literal["done", "current", "stopped", "next"]


@dataclass(frozen=True, slots=True)
class StageCell:
    label: str
    status: CellStatus  # "stopped": where a rollback took the rollout back from


SHORT_LABEL = 12


def stage_label(stage: StageView, prev_weight: float | None) -> str:
    """A short label for the stage bar: ``Staging``, ``Canary 5%``, ``25%``, ``100%``, ``Verify``."""
    title = (stage.title or stage.id).strip()
    if ":" in title:  # "Stage C: 25%" -> "25%"
        title = title.split(":", 1)[1].strip()
    weight = fmt_weight(stage.weight)
    if title and len(title) <= SHORT_LABEL:
        label = title[0].upper() + title[1:]
    else:
        label = stage.id.replace("-", " ").replace("_", " ").strip().capitalize()
        if f"{stage.weight:g}" in stage.id or (stage.weight == 100 and (prev_weight or 0) < 100):
            return weight
    if 0 < stage.weight < 100 and f"{stage.weight:g}" not in label:
        label = f"{label} {weight}"
    return label


def stopped_index(state: RolloutState) -> int | None:
    """The stage a rollback took the rollout back from (``None`` unless rolling back
    or rolled back)."""
    if state.phase not in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
        return None
    return state.stopped_at


def stage_cells(state: RolloutState, stopped: int | None = None) -> tuple[StageCell, ...]:
    """One cell per stage plus the final ``Stable``; the current (or stopped) one marked."""
    phase = state.phase
    cells: list[StageCell] = []
    current = state.stage_index if stopped is None else stopped
    prev: float | None = None
    status: CellStatus
    for stage in state.stages:
        label = stage_label(stage, prev)
        prev = stage.weight
        if phase is Phase.STABLE or stage.index < current:
            status = "done"
        elif stage.index == current and stopped is not None:
            status = "stopped"
        elif stage.index == current and phase not in (Phase.IDLE, Phase.ROLLED_BACK):
            status = "current"
        else:
            status = "next"
        cells.append(StageCell(label, status))
    cells.append(StageCell("Stable", "current" if phase is Phase.STABLE else "next"))
    return tuple(cells)


def hold_line(state: RolloutState, now: float) -> str:
    """``HOLDING · hold 12:34 left of 30:00 · traffic 25% · Stage C: 25%``."""
    phase = state.phase
    parts = [phase_text(phase)]
    stage = current_stage(state)
    if stage is not None and stage.hold_s > 0 and phase in (Phase.HOLDING, Phase.PAUSED, Phase.READY):
        remaining = state.hold_remaining(now)
        parts.append(f"hold {fmt_duration(remaining)} left of {fmt_duration(stage.hold_s)}")
    traffic = f"traffic {fmt_weight(state.weight_confirmed)}"
    if abs(state.weight_intended - state.weight_confirmed) > 1e-9:
        traffic += f" → {fmt_weight(state.weight_intended)}"
    parts.append(traffic)
    waiting = operator_prompt(state)
    if waiting:
        parts.append(waiting)
    # the stop reason is the header's (wrapped there in full), not repeated here; the
    # stage's long title last: a narrow terminal keeps the countdown and cuts the title
    if stage is not None and len(stage.title or "") > SHORT_LABEL:
        parts.append(stage.title)
    return " · ".join(parts)


def who_line(actor: str, driving: bool, state: RolloutState, line: str,
             watchers: Sequence[str] = ()) -> str:
    """``line`` with who you are and who watches: a watcher's first (``WATCHING Rosa
    Diaz as Tomas · …``), the driver's last (``… · you: Rosa Diaz (driving) · watching:
    Tomas, Mei``)."""
    others = [w for w in watchers if w != actor or driving]
    seen = f" · watching: {', '.join(others)}" if others else ""
    if not driving:
        # what you can do as a watcher last: the state must survive a narrow terminal
        return (f"WATCHING {state.driver or 'a session with no driver yet'} as {actor} · "
                f"{line}{seen} · p asks a pause, R proposes a rollback, s signs your checks")
    return f"{line} · you: {actor} (driving){seen}"


def operator_prompt(state: RolloutState) -> str:
    """What the engine is waiting for from the operator, if anything (keys per the footer)."""
    phase = state.phase
    if state.traffic_error:
        return f"traffic shift failed: {state.traffic_error}"
    if phase is Phase.SHIFTING:
        return f"set the weight to {fmt_weight(state.weight_intended)}, then C to confirm"
    if phase is Phase.PAUSED and state.rollback_proposed:
        return "rollback proposed: R to roll back, p to decline"
    if state.pause_requests:
        who, reason = state.pause_requests[-1]
        return f"PAUSE REQUESTED by {who}" + (f": {reason}" if reason else "") + " (p pauses)"
    if phase is Phase.ROLLED_BACK:
        open_items = [k for k, done in state.reconciliation.items() if not done]
        if open_items:
            return f"reconcile before re-rollout: {', '.join(open_items)} (b, then m)"
    if phase is Phase.ROLLING_BACK:
        for step in state.runbook:
            if step.status == "failed":
                return f"runbook step {step.id} failed: b, then y retry / s skip"
            if step.status == "running":
                return f"runbook: {step.title}…"
    return ""


def current_stage(state: RolloutState) -> StageView | None:
    return state.stage


def rule_state_text(ev: RuleEvaluation) -> str:
    """``ok`` / ``breaching 2m of 5m`` / ``TRIPPED`` / ``inconclusive``."""
    state = ev.state
    if state == "breaching":
        return f"breaching {fmt_span(ev.breach_s)} of {fmt_span(ev.required_s)}"
    if state == "tripped":
        return "TRIPPED"
    return state


RULE_GLYPH = {"ok": "✔", "breaching": "▲", "tripped": "✘", "inconclusive": "?"}


@dataclass(frozen=True, slots=True)
class HealthRow:
    service: str
    health: Status
    detail: str  # "HTTP 200", or why the request failed; "not checked"
    latency_ms: float | None
    scrape: str  # Prometheus' view of its targets: "up", "down", "1/2 up"; "" unknown
    version: str  # what its /health body reports as ``version``; "" none
    checked: str = ""  # how long ago its health was checked (``fmt_recent``), "" never

    @property
    def code(self) -> str:
        """The detail, shortest: ``200`` for ``HTTP 200`` (a narrow grid), else as is."""
        return self.detail.removeprefix("HTTP ")


def fmt_age(seconds: float | None) -> str:
    """A result's age, coarse so that a screen showing it repaints once a minute at
    most: ``<1m``, ``7m``, ``2h``, ``3d``; ``""`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def fmt_recent(seconds: float | None) -> str:
    """The age of a result that is re-checked every few seconds: ``<10s``, ``20s``
    (tens of seconds: a row repaints every 10 s at most), then as ``fmt_age``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 10:
        return "<10s"
    if seconds < 60:
        return f"{int(seconds // 10) * 10}s"
    return fmt_age(seconds)


def health_rows(plan: Plan, results: Mapping[str, CheckResult],
                now: float | None = None) -> tuple[HealthRow, ...]:
    """Per-service health from the latest ``http_health`` and ``prometheus_targets``
    evidence; with ``now``, each row says how long ago its health was checked."""
    health: dict[str, dict[str, Any]] = {}
    checked_at: dict[str, float] = {}
    targets: dict[str, Any] = {}
    for result in sorted(results.values(), key=lambda r: r.finished_at):
        ev = result.evidence or {}
        if result.kind == "http_health" and isinstance(ev.get("services"), Mapping):
            for name, row in ev["services"].items():
                if isinstance(row, Mapping):
                    health[str(name)] = dict(row)
                    checked_at[str(name)] = result.finished_at
        if result.kind == "prometheus_targets" and isinstance(ev.get("targets"), Mapping):
            targets.update(ev["targets"])
    rows = []
    for svc in plan.services:
        row = health.get(svc.name)
        if row is None:
            status, detail, latency, version = Status.PENDING, "not checked", None, ""
        elif "error" in row:
            status, detail, latency, version = Status.FAIL, str(row["error"]), None, ""
        else:
            code = row.get("status")
            status = Status.PASS if code == 200 else Status.FAIL
            detail = f"HTTP {code}"
            latency = float(row["latency_ms"]) if _num(row.get("latency_ms")) else None
            version = str(row.get("version", ""))
        at = checked_at.get(svc.name)
        age = fmt_recent(now - at) if now is not None and at else ""
        rows.append(HealthRow(svc.name, status, detail, latency,
                              scrape_state(svc, targets), version, age))
    return tuple(rows)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _address(value: object) -> str:
    """``host:port`` of a literal URL (a reference is not resolved here: "")."""
    from urllib.parse import urlsplit

    literal = getattr(value, "literal", None)
    if not literal:
        return ""
    try:
        parts = urlsplit(literal)
        return f"{parts.hostname}:{parts.port}" if parts.hostname and parts.port else ""
    except ValueError:
        return ""


def scrape_state(service: Service, targets: Mapping[str, Any]) -> str:
    """Prometheus' view of a service from ``prometheus_targets`` evidence (keys ``"job
    instance"``, values ``{"up": 1.0}``): its targets are those of the job named like
    the service, or at the address of its metrics or health URL. ``"up"``, ``"down"``,
    ``"1/2 up"``; ``""`` when Prometheus scrapes nothing of it (or was not asked)."""
    addresses = {a for a in (_address(service.metrics_url), _address(service.health_url)) if a}
    ups: list[bool] = []
    for key, row in targets.items():
        job, _, instance = str(key).rpartition(" ")
        if job != service.name and instance not in addresses:
            continue
        value = row.get("up", row.get("health")) if isinstance(row, Mapping) else row
        ups.append(value in (1, 1.0, True, "up", "UP"))
    if not ups:
        return ""
    if all(ups):
        return "up"
    if not any(ups):
        return "down"
    return f"{sum(ups)}/{len(ups)} up"


def health_title(every_s: float, next_in_s: float | None, running: bool) -> str:
    """The grid's heading: ``Services · next in 20s · every 30s`` while the panel
    re-checks them, ``Services · checking…`` during a re-check, ``Services`` otherwise
    (a watcher: the driver's panel re-checks)."""
    if running:
        return "Services · checking…"
    if next_in_s is None or every_s <= 0:
        return "Services"
    # when comes first: a narrow grid cuts the end
    return f"Services · next in {fmt_span(max(0.0, next_in_s))} · every {fmt_span(every_s)}"


@dataclass(frozen=True, slots=True)
class OwnerRow:
    role: str
    name: str
    blocking: bool


def owner_rows(owners: Mapping[str, str]) -> tuple[OwnerRow, ...]:
    return tuple(OwnerRow(role, name, name.strip().upper() == TBD) for role, name in owners.items())


# The header ------------------------------------------------------------------
Tone = Literal["pass", "fail", "warn", "inconclusive", "canary"]

ROLLOUT_LABEL: Mapping[Phase, tuple[str, str, Tone]] = {
    # phase -> (glyph, label, colour variable)
    Phase.IDLE: ("…", "NOT STARTED", "inconclusive"),
    Phase.SHIFTING: ("⇄", "SHIFTING TRAFFIC", "canary"),
    Phase.HOLDING: ("▶", "ROLLING OUT", "canary"),
    Phase.READY: ("▶", "ROLLING OUT", "canary"),
    Phase.PAUSED: ("‖", "HELD", "warn"),
    Phase.ROLLING_BACK: ("⟲", "ROLLING BACK", "fail"),
    Phase.ROLLED_BACK: ("✘", "ROLLED BACK", "fail"),
    Phase.STABLE: ("✔", "STABLE", "pass"),
}


@dataclass(frozen=True, slots=True)
class Header:
    """What the verdict bar says: the rollout's state beside the checklist verdict.

    While a rollback is proposed or runs, and after it finished, the checklist
    verdict is not shown as GO: the rollout failed, whatever the checklist says, so
    the bar shows the rollout's state and the reason instead.
    """

    rollout_glyph: str
    rollout_label: str
    rollout_tone: Tone
    verdict_shown: bool
    go: bool
    blocking: tuple[str, ...]  # blocker ids, most important first
    reason: str  # why the rollout stopped (rollback, proposal, pause)
    checked: bool = True  # False: no checklist result yet ("NOT CHECKED", never NO-GO)
    # (results in, checks run) while the panel runs the checklist: "CHECKING 12/29",
    # or beside a NO-GO that a failed check already decided
    checking: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ChecklistRun:
    """A checklist run the panel started: its checks and those that reported so far."""

    ids: frozenset[str]
    done: frozenset[str] = frozenset()

    @property
    def progress(self) -> tuple[int, int]:
        return len(self.done & self.ids), len(self.ids)

    def reported(self, check_id: str) -> ChecklistRun:
        return self if check_id not in self.ids else ChecklistRun(self.ids, self.done | {check_id})


def verdict_head(state: RolloutState, verdict: Verdict, plan: Plan,
                 run: ChecklistRun | None = None, *, following: bool = False) -> Header:
    """The bar for the checklist as it stands. Pending is not failing: before any
    result it reads NOT CHECKED; while the panel's run is under way CHECKING n/N, and
    NO-GO only for what is already decided (a check that reported a failure this run,
    an owner still TBD, an open P0/P1), never for a check still running. A watcher
    (``following`` a driver) sees the driver's run the same way: from the first result
    until every check that runs by itself has one, it reads CHECKING n/N."""
    ids = [c.id for _, c in plan.checklist()]
    checked = any(cid in state.results for cid in ids)
    blocking = [b.id for b in verdict.blocking]
    if following and run is None and checked:
        missing = {c.id for _, c in plan.checklist()  # a manual check waits for a person
                   if c.id not in state.results and c.kind != "manual"}
        if missing:  # results still coming in from the driver's run: pending is not failing
            run = ChecklistRun(frozenset(ids), frozenset(ids) - missing)
    if run is None:
        return header(state, verdict.go, blocking, checked=checked)
    waiting = run.ids - run.done
    decided = [b for b in blocking if b not in waiting]
    return header(state, False, decided, checked=bool(decided), checking=run.progress)


def header(state: RolloutState, go: bool, blocking: Sequence[str], *,
           checked: bool = True, checking: tuple[int, int] | None = None) -> Header:
    glyph, label, tone = ROLLOUT_LABEL[state.phase]
    reason = state.stop_reason or ""
    if state.phase in (Phase.HOLDING, Phase.READY):
        label = f"{label} {fmt_weight(state.weight_confirmed)}"
        if state.weight_confirmed <= 0 and state.stage is not None:  # staging: no users yet
            label = stage_label(state.stage, None).upper()
    if state.phase in (Phase.HOLDING, Phase.READY) and state.stalled:
        glyph, label, tone = "?", f"STALLED at {fmt_weight(state.weight_confirmed)}", "warn"
        reason = "; ".join(f"{metric}: {why}" for metric, why in state.stalled.items())
    if state.phase is Phase.PAUSED:
        reason = reason or "paused by the operator"
        label = f"HELD at {fmt_weight(state.weight_confirmed)}"
    if state.phase is Phase.PAUSED and state.rollback_proposed:
        glyph, label, tone = "✘", "HELD · ROLLBACK PROPOSED", "fail"
    if state.phase in ROLLBACK_PHASES and state.stopped_at is not None \
            and 0 <= state.stopped_at < len(state.stages):
        label = f"{label} from {stage_label(state.stages[state.stopped_at], None)}"
    # a stop criterion tripped: the rollout's state leads and no GO is shown
    stopped = state.phase in ROLLBACK_PHASES or state.rollback_proposed
    return Header(
        rollout_glyph=glyph, rollout_label=label, rollout_tone=tone,
        verdict_shown=not stopped, go=go and not stopped, blocking=tuple(blocking),
        reason=reason, checked=checked, checking=checking,
    )
