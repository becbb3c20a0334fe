"""Documents upload -> OCR worker -> qna semantic search (seed 1.6), with the worker's
per-track job queues that the ``queue-backlog`` scenario stalls on the canary.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from gonogo.sandbox.journeys import new_id, not_found
from gonogo.sandbox.services import TRACK_HEADER, TRACKS, Service, json_body, track_of

QUEUE_LIMIT = 5000
STUCK_SIM_S = 60.0  # a job waiting longer than this is backlog, not work in progress


@dataclass
class Job:
    document_id: str
    text: str
    track: str
    enqueued_at: float  # simulated time


@dataclass
class OcrWorker:
    """Per-track job queues; the worker drains them each tick and indexes into qna.

    In ``queue-backlog`` the canary worker stops draining, so its oldest job ages
    with simulated time: the queue lag rises continuously.
    """

    svc: Service
    queues: dict[str, deque[Job]] = field(default_factory=lambda: {t: deque() for t in TRACKS})
    done: dict[str, asyncio.Event] = field(default_factory=dict)

    def enqueue(self, job: Job) -> bool:
        q = self.queues[job.track]
        if len(q) >= QUEUE_LIMIT:
            return False
        q.append(job)
        self.done.setdefault(job.document_id, asyncio.Event())
        return True

    def lag(self, track: str) -> float:
        q = self.queues[track]
        return max(0.0, self.svc.fleet.state.now() - q[0].enqueued_at) if q else 0.0

    def health(self) -> dict[str, int]:
        """``backlog``: jobs stuck (waiting > STUCK_SIM_S simulated and > 1 s real)."""
        now = self.svc.fleet.state.now()
        stuck_after = max(STUCK_SIM_S, self.svc.fleet.state.speed)
        depth = sum(len(q) for q in self.queues.values())
        backlog = sum(1 for q in self.queues.values() for j in q if now - j.enqueued_at > stuck_after)
        return {"depth": depth, "backlog": backlog}

    def update_gauges(self) -> None:
        for t in TRACKS:
            self.svc.metrics.queue_depth.labels(t).set(len(self.queues[t]))
            self.svc.metrics.queue_lag.labels(t).set(round(self.lag(t), 3))

    async def run(self) -> None:
        fleet = self.svc.fleet
        token = fleet.state.secrets["qna_internal_token"]
        while True:
            for track in TRACKS:
                if track == "canary" and fleet.scenario == "queue-backlog":
                    continue
                q = self.queues[track]
                for _ in range(min(len(q), 50)):
                    job = q[0]
                    headers = {"X-Internal-Token": token, TRACK_HEADER: track}
                    try:
                        async with fleet.session.post(fleet.url("qna") + "/internal/index", headers=headers,
                                                      json={"document_id": job.document_id, "text": job.text}) as r:  # fmt: skip
                            ok = r.status in (200, 201)
                    except (aiohttp.ClientError, TimeoutError):
                        ok = False
                    if not ok:
                        break  # retry next tick, the job stays first in line
                    q.popleft()
                    self.done.pop(job.document_id, asyncio.Event()).set()
            self.update_gauges()
            await asyncio.sleep(0.1)


def add_worker(svc: Service, app: web.Application) -> OcrWorker:
    worker = OcrWorker(svc)

    async def enqueue(request: web.Request) -> web.Response:
        svc.check_internal_token(request)
        body = await json_body(request)
        job = Job(str(body.get("document_id", "")), str(body.get("text", ""))[:2000],
                  track_of(request), svc.fleet.state.now())  # fmt: skip
        if not worker.enqueue(job):
            return web.json_response({"error": "queue full"}, status=503)
        return web.json_response({"queued": job.document_id, "depth": len(worker.queues[job.track])}, status=202)

    app.router.add_post("/jobs", enqueue)
    return worker


def add_documents(svc: Service, app: web.Application) -> None:
    docs: dict[str, dict[str, Any]] = {}

    async def upload(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        name, content = str(body.get("name", ""))[:120], str(body.get("content", ""))[:2000]
        if not content:
            return web.json_response({"error": "content required"}, status=422)
        if svc.write_fails(request):
            return svc.failed_write(request)
        doc = {"document_id": new_id("doc"), "name": name, "ocr_status": "pending"}
        docs[doc["document_id"]] = doc
        if len(docs) > 2000:
            for old in list(docs)[:500]:
                del docs[old]
        headers = {"X-Internal-Token": svc.fleet.state.secrets["qna_internal_token"], TRACK_HEADER: track_of(request)}
        try:
            async with svc.fleet.session.post(svc.fleet.url("documents-worker") + "/jobs", headers=headers,
                                              json={"document_id": doc["document_id"], "text": content}) as r:  # fmt: skip
                queued = r.status == 202
        except (aiohttp.ClientError, TimeoutError):
            queued = False
        if not queued:
            return web.json_response({"error": "OCR queue unavailable", **doc}, status=503)
        return web.json_response(doc, status=201)

    async def get_doc(request: web.Request) -> web.Response:
        svc.authenticate(request)
        doc = docs.get(request.match_info["document_id"])
        if doc is None:
            raise not_found("document")
        worker: OcrWorker | None = svc.fleet.worker
        event = worker.done.get(doc["document_id"]) if worker is not None else None
        if event is not None and "wait" in request.query:  # long-poll until OCR finished
            try:
                await asyncio.wait_for(event.wait(), timeout=min(float(request.query["wait"] or 5), 10))
            except (TimeoutError, ValueError):
                pass
        if event is None or event.is_set():
            doc["ocr_status"] = "done"
        return web.json_response(doc)

    app.router.add_post("/documents", upload)
    app.router.add_get("/documents/{document_id}", get_doc)


def add_qna(svc: Service, app: web.Application) -> None:
    index: dict[str, str] = {}

    async def index_doc(request: web.Request) -> web.Response:
        svc.check_internal_token(request)
        body = await json_body(request)
        index[str(body.get("document_id", ""))] = str(body.get("text", "")).lower()
        while len(index) > 2000:
            del index[next(iter(index))]
        return web.json_response({"indexed": True}, status=201)

    async def verify_token(request: web.Request) -> web.Response:
        svc.check_internal_token(request)
        return web.json_response({"ok": True, "service": svc.name})

    async def search(request: web.Request) -> web.Response:
        svc.authenticate(request)
        words = [w for w in request.query.get("q", "").lower().split() if w]
        hits = []
        for doc_id, text in reversed(index.items()):
            score = sum(text.count(w) for w in words)
            if score:
                hits.append({"document_id": doc_id, "score": score})
            if len(hits) >= 10:
                break
        return web.json_response({"query": request.query.get("q", ""), "results": hits, "count": len(hits)})

    app.router.add_post("/internal/index", index_doc)
    app.router.add_get("/internal/verify-token", verify_token)
    app.router.add_get("/search", search)
