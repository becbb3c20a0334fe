"""The recent traffic the generator actually sent, summarised per track.

This is what ``GET /admin/metrics`` serves to the rollout engine's ``sandbox``
metrics source: the same numbers a PromQL query over the services' metrics would
give, computed from observed requests, so they follow the weight and the scenario.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

WINDOW_SIM_S = 60.0  # judge the last simulated minute...
MIN_REAL_S = 12.0  # ...but never fewer than this many real seconds of traffic
MAX_SAMPLES = 50_000

METRIC_KEYS = (
    "http_5xx_ratio",
    "error_rate",
    "latency_p95_ms",
    "latency_p99_ms",
    "auth_failure_ratio",
    "queue_lag",
    "failed_writes",
)


@dataclass(frozen=True, slots=True)
class Sample:
    sim_t: float
    real_t: float
    track: str
    status: int  # 0 = no response (connection failed)
    latency_ms: float
    auth_failed: bool
    write_failed: bool


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class TrafficWindow:
    def __init__(self) -> None:
        self._samples: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self._lock = threading.Lock()  # read from the admin API, possibly another thread

    def record(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)
            # Forget what no window can include any more, so reads stay cheap.
            while self._samples and (
                self._samples[0].sim_t < sample.sim_t - WINDOW_SIM_S
                and self._samples[0].real_t < sample.real_t - MIN_REAL_S
            ):
                self._samples.popleft()

    def recent(self, sim_now: float, real_now: float) -> list[Sample]:
        with self._lock:
            samples = list(self._samples)
        return [
            s for s in samples if s.sim_t >= sim_now - WINDOW_SIM_S or s.real_t >= real_now - MIN_REAL_S
        ]

    def summary(self, sim_now: float, real_now: float, queue_lag: dict[str, float]) -> dict[str, Any]:
        """``{KEY: {"canary": x, "baseline": y}}``; ``None`` where a track saw no traffic."""
        recent = self.recent(sim_now, real_now)
        out: dict[str, dict[str, float | None]] = {k: {} for k in METRIC_KEYS}
        counts: dict[str, int] = {}
        for track in ("canary", "baseline"):
            rows = [s for s in recent if s.track == track]
            counts[track] = len(rows)
            n = len(rows)
            lat = [s.latency_ms for s in rows if s.status]
            out["http_5xx_ratio"][track] = (sum(s.status >= 500 for s in rows) / n) if n else None
            errors = sum(s.status == 0 or s.status >= 400 for s in rows)
            out["error_rate"][track] = errors / n if n else None
            out["latency_p95_ms"][track] = round(percentile(lat, 95), 2) if lat else None
            out["latency_p99_ms"][track] = round(percentile(lat, 99), 2) if lat else None
            out["auth_failure_ratio"][track] = (sum(s.auth_failed for s in rows) / n) if n else None
            out["failed_writes"][track] = float(sum(s.write_failed for s in rows)) if n else None
            out["queue_lag"][track] = round(queue_lag.get(track, 0.0), 3)
        return {"metrics": out, "samples": counts}

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()
