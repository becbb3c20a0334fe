"""Synthetic user traffic sent through the public gateway.

A modest, steady rate (the machine is shared): mostly reads across the public
services, some writes and document uploads (which feed the OCR worker's queue).
A healthy fleet answers all of it: no background 5xx or auth-failure noise.
The gateway decides each request's track, so canary volume follows the weight.

Canary load: 5 % of 15 requests/s is under one request a second, too few for a
canary analysis to judge a 2 % auth-failure ratio or catch a failed write within the
stage. So while the canary serves a small share (0 < weight < 100), the generator
also sends load pinned to the canary by header (``X-Gonogo-Track: canary``, like
nginx-ingress canary-by-header or Flagger's load tester) until the canary gets at
least ``canary_floor`` requests a second. The baseline only ever gets its organic
share: at 100 % it gets none.
"""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp

from gonogo.sandbox import tokens
from gonogo.sandbox.services import PUBLIC, TRACK_HEADER, FleetContext
from gonogo.sandbox.window import Sample

DEFAULT_RATE = 15.0  # requests per real second
CANARY_FLOOR = 8.0  # canary requests per real second while its share is small
MAX_IN_FLIGHT = 16
WORDS = ("invoice", "payslip", "lease", "receipt", "statement", "contract")


class TrafficGenerator:
    def __init__(self, fleet: FleetContext, rate: float = DEFAULT_RATE,
                 canary_floor: float = CANARY_FLOOR) -> None:
        self.fleet = fleet
        self.rate = rate
        self.canary_floor = canary_floor
        self._pin_acc = 0.0
        self.rng = random.Random(42)
        self.base = fleet.layout.gateway.url
        self.sent = 0
        self._token = ""

    def _auth(self) -> str:
        if not self._token:
            self._token = tokens.mint(self.fleet.state.secrets["auth_secret_key"], "usr_synthetic")
        return f"Bearer {self._token}"

    def _pick(self) -> tuple[str, str, dict[str, object] | None]:
        r = self.rng.random()
        if r < 0.12:
            return "POST", "/api/transactions/transactions", {
                "description": self.rng.choice(["grocer", "rent", "rail", "cafe"]),
                "amount": round(self.rng.uniform(2, 900), 2),
            }
        if r < 0.20:
            word = self.rng.choice(WORDS)
            return "POST", "/api/documents/documents", {"name": f"{word}.pdf", "content": f"scanned {word}"}
        if r < 0.28:
            return "GET", f"/api/qna/search?q={self.rng.choice(WORDS)}", None
        # Journeys whose services call others with the caller's credentials (seed 1.4).
        if r < 0.32:
            return "POST", "/api/consent/consents", {"scope": self.rng.choice(["analytics", "marketing"])}
        if r < 0.35:
            return "POST", "/api/partner-registry/handoffs", {"partner_id": "partner-acme"}
        if r < 0.38:
            return "POST", "/api/transactions/bank-callback", {
                "account": "acc-synthetic",
                "transactions": [{"description": self.rng.choice(["grocer", "rail"]), "amount": 12.0}],
            }
        service = self.rng.choice([s for s in PUBLIC if s != "web-portal"])
        return "GET", f"/api/{service}/items", None

    def canary_load(self) -> float:
        """Requests a second pinned to the canary on top of its organic share."""
        weight = self.fleet.state.weight
        if not 0 < weight < 100 or self.canary_floor <= 0:
            return 0.0
        return max(0.0, self.canary_floor - self.rate * weight / 100.0)

    def _pinned(self, extra: float) -> bool:
        """Whether the next request is canary load: exactly ``extra`` of every
        ``rate + extra`` requests, evenly spread."""
        self._pin_acc += extra / (self.rate + extra) if extra > 0 else 0.0
        if self._pin_acc >= 1.0:
            self._pin_acc -= 1.0
            return True
        return False

    async def _one(self, sem: asyncio.Semaphore, pinned: bool = False) -> None:
        method, path, body = self._pick()
        auth = self._auth()
        started = time.perf_counter()
        sim_t, real_t = self.fleet.state.now(), time.monotonic()
        status, track, write_failed = 0, "canary" if pinned else "baseline", False
        try:
            headers = {"Authorization": auth}
            if pinned:
                headers[TRACK_HEADER] = "canary"
            async with self.fleet.session.request(method, self.base + path, json=body,
                                                  headers=headers) as resp:
                await resp.read()
                status = resp.status
                track = resp.headers.get(TRACK_HEADER, "baseline")
                write_failed = resp.headers.get("X-Write-Failed") == "1"
        except (aiohttp.ClientError, TimeoutError):
            pass
        finally:
            sem.release()
        if status == 404 or track not in ("canary", "baseline"):
            return
        latency = (time.perf_counter() - started) * 1000
        self.fleet.window.record(
            Sample(sim_t, real_t, track, status, latency, status == 401, write_failed)
        )
        self.sent += 1

    async def run(self) -> None:
        sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        next_at = time.monotonic()
        while True:
            extra = self.canary_load()
            next_at += 1.0 / (self.rate + extra)
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_at = time.monotonic()  # fell behind (busy machine): do not burst
            if sem.locked():
                continue  # the fleet is slow; shed load instead of queueing
            await sem.acquire()
            self.fleet.spawn(self._one(sem, self._pinned(extra)))
