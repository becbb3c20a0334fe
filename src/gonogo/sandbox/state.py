"""The mutable state of a running sandbox fleet: scenario, canary weight, simulated time.

Every part of the fleet (services, gateway, traffic generator, stand-ins) reads this
one object, so switching a scenario or the weight takes effect everywhere at once.
Writes come from the admin API or ``Fleet``; readers may run on another thread
(``FleetThread``), so compound updates hold a lock and readers see whole values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gonogo.schema import suggest

# Faults a `gonogo check` run catches (the checklist) and faults only the canary
# analysis catches (the rollout); `healthy` is neither.
CHECKLIST_SCENARIOS: dict[str, str] = {
    "leaky-gateway": "an internal API (/api/calendar/*) is publicly routed by the gateway",
    "auth-outage": "consent -> compliance drops the caller's Authorization header",
    "unhealthy-service": "analytics /health answers 503 degraded",
    "weaviate-anonymous": "Weaviate accepts anonymous requests (no API key)",
    # Integration scenarios: the stand-ins and the PostgreSQL cluster react to these.
    "stale-secret": "a Vault KV secret was last rotated long ago",
    "failing-ci": "a job of the Monorepo CI run for the target commit failed",
    "open-p0": "an open GitHub issue is labelled P0",
    "no-backup": "the last PostgreSQL backup marker is days old",
    "pending-migration": "a service's database is behind its migration head",
    "target-down": "analytics /metrics fails, so Prometheus sees the target down",
}
CANARY_SCENARIOS: dict[str, str] = {
    "canary-regression": "canary 5xx ratio climbs above 2x baseline once it takes traffic",
    "auth-failures": "canary rejects > 2% of valid tokens",
    "queue-backlog": "canary OCR worker stops draining: queue lag rises continuously",
    "failed-writes": "canary transaction writes fail",
}
SCENARIOS: dict[str, str] = {
    "healthy": "everything works; the checklist is GO",
    **CHECKLIST_SCENARIOS,
    **CANARY_SCENARIOS,
}


class UnknownScenario(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"unknown scenario {name[:40]!r}{suggest(name, SCENARIOS)}; "
            f"known: {', '.join(SCENARIOS)}"
        )


def check_scenario(name: str) -> str:
    if name not in SCENARIOS:
        raise UnknownScenario(name)
    return name


def check_speed(speed: float) -> float:
    if not (0.01 <= speed <= 10_000):  # also rejects NaN
        raise ValueError(f"speed must be between 0.01 and 10000, got {speed}")
    return float(speed)


@dataclass
class SandboxState:
    """What every part of the fleet reads: scenario, weight, speed and the sim clock.

    ``now()`` is simulated unix time: the wall time at start plus real elapsed
    time multiplied by ``speed``, so a 30-minute hold passes in 30 s at speed 60.
    """

    scenario: str = "healthy"
    speed: float = 1.0
    weight: float = 0.0  # percent of traffic the gateway sends to the canary
    commit: str = "0cab782"
    started_at: float = field(default_factory=time.time)  # real == simulated at start
    # Demo credentials the fleet generated, by name (auth_secret_key, vault_token...):
    # stand-ins validate against these; they are never shown or logged.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # The real clock the simulation runs on; tests inject a fake one.
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _t0: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _scenario_since: float = field(default=0.0, repr=False)  # sim time of last switch
    _weight_since: float = field(default=0.0, repr=False)
    _listeners: list[Callable[[SandboxState], None]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_scenario(self.scenario)
        self.speed = check_speed(self.speed)
        self._t0 = self.clock()
        self._scenario_since = self._weight_since = self.started_at

    def now(self) -> float:
        return self.started_at + (self.clock() - self._t0) * self.speed

    def set_scenario(self, name: str) -> None:
        check_scenario(name)
        with self._lock:
            changed = name != self.scenario
            self.scenario = name
            if changed:
                self._scenario_since = self.now()
            listeners = list(self._listeners)
        if changed:
            for listener in listeners:
                listener(self)

    def set_weight(self, weight: float) -> float:
        w = float(weight)
        if not (0.0 <= w <= 100.0):  # also rejects NaN
            raise ValueError(f"weight must be between 0 and 100, got {weight}")
        with self._lock:
            if w != self.weight:
                self._weight_since = self.now()
            self.weight = w
        return w

    def scenario_age(self) -> float:
        """Simulated seconds since the current scenario was switched on."""
        return self.now() - self._scenario_since

    def weight_age(self) -> float:
        """Simulated seconds since the weight last changed."""
        return self.now() - self._weight_since

    def on_scenario(self, listener: Callable[[SandboxState], None]) -> None:
        """Call ``listener(state)`` after each scenario switch (e.g. reseed PostgreSQL)."""
        with self._lock:
            self._listeners.append(listener)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "scenario": self.scenario,
                "weight": self.weight,
                "speed": self.speed,
                "sim_time": round(self.now(), 3),
                "commit": self.commit,
            }
