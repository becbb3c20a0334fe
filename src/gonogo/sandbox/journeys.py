"""Journey endpoints: enough of each service for the seed's six smoke scenarios.

In-memory and simple, but real request/response flows with ids to capture:
register/login/profile; banking callback -> import -> transactions + categories;
tax calculate + submit; (documents upload -> OCR -> search: documents.py);
consent grant/revoke + activity log; partner handoff + history. Inter-service calls
propagate the caller's credentials (seed 1.4) and break as the scenario says.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web

from gonogo.sandbox import tokens
from gonogo.sandbox.services import (
    BROKEN_PAIR,
    PROPAGATION,
    TRACK_HEADER,
    Service,
    json_body,
    propagation_header,
    track_of,
)

_ids = itertools.count(1000)
CATEGORIES = {"grocer": "groceries", "rent": "housing", "rail": "transport", "cafe": "dining"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


def bound(store: dict[str, Any], limit: int = 2000) -> None:
    """Keep an in-memory store from growing forever under generated traffic."""
    while len(store) > limit:
        del store[next(iter(store))]


def not_found(what: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=f'{{"error": "{what} not found"}}', content_type="application/json")


async def call(svc: Service, request: web.Request, callee: str, method: str, path: str,
               body: dict[str, Any] | None = None) -> tuple[int, Any]:  # fmt: skip
    """Call ``callee`` from ``svc``, propagating the caller's credential and track."""
    header = propagation_header(svc.name, callee)
    value = request.headers.get(header)
    if svc.fleet.scenario == "auth-outage" and (svc.name, callee) == BROKEN_PAIR:
        value = None  # the regression: the client stopped forwarding credentials
    headers = {TRACK_HEADER: track_of(request)}
    if value:
        headers[header] = value
    url = svc.fleet.url(callee) + path
    try:
        async with svc.fleet.session.request(method, url, json=body, headers=headers) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = None
            return resp.status, data
    except (aiohttp.ClientError, TimeoutError):
        return 503, None


def upstream_failed(svc: Service, callee: str, status: int) -> web.Response:
    return web.json_response(
        {"error": f"{callee} answered {status}", "service": svc.name, "upstream_status": status},
        status=502,
    )


# -- propagation probes (what the auth_propagation check calls) -----------------
def add_propagation(svc: Service, app: web.Application) -> None:
    async def probe(request: web.Request) -> web.Response:
        """Call each callee (or the one named) forwarding the caller's credential."""
        named = request.match_info.get("callee")
        callees = PROPAGATION.get(svc.name, ())
        if named is not None:
            if named not in callees:
                raise not_found(f"propagation pair {svc.name} -> {named}")
            callees = (named,)
        statuses = {}
        for callee in callees:
            verify = "/internal/verify-token" if callee == "qna" else "/internal/verify"
            statuses[callee], _ = await call(svc, request, callee, "GET", verify)
        worst = next((s for s in statuses.values() if s != 200), 200)
        return web.json_response({"from": svc.name, "downstream": statuses}, status=worst)

    app.router.add_get("/propagation", probe)
    app.router.add_get("/propagation/{callee}", probe)


def add_verify(svc: Service, app: web.Application) -> None:
    async def verify(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        return web.json_response({"ok": True, "service": svc.name, "sub": claims.get("sub")})

    app.router.add_get("/internal/verify", verify)


# -- auth and user-profile ---------------------------------------------------------
def add_auth(svc: Service, app: web.Application) -> None:
    users: dict[str, dict[str, str]] = {}

    def digest(password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()

    async def register(request: web.Request) -> web.Response:
        body = await json_body(request)
        email, password = str(body.get("email", "")), str(body.get("password", ""))
        if "@" not in email or len(password) < 8:
            return web.json_response({"error": "email and a password of 8+ chars required"}, status=422)
        known = users.get(email)
        if known is not None:  # an idempotent retry with the same password is fine
            if known["password"] != digest(password):
                return web.json_response({"error": "email already registered"}, status=409)
            return web.json_response({"user_id": known["user_id"], "email": email}, status=201)
        users[email] = {"user_id": new_id("usr"), "password": digest(password)}
        return web.json_response({"user_id": users[email]["user_id"], "email": email}, status=201)

    async def login(request: web.Request) -> web.Response:
        body = await json_body(request)
        user = users.get(str(body.get("email", "")))
        if user is None or user["password"] != digest(str(body.get("password", ""))):
            svc.metrics.auth_failures.labels(svc.name, track_of(request)).inc()
            return web.json_response({"error": "invalid credentials"}, status=401)
        token = tokens.mint(svc.auth_key, user["user_id"], ttl_s=3600)
        return web.json_response({"access_token": token, "token_type": "bearer", "user_id": user["user_id"]})

    app.router.add_post("/register", register)
    app.router.add_post("/login", login)


def add_user_profile(svc: Service, app: web.Application) -> None:
    profiles: dict[str, dict[str, Any]] = {}

    async def put_profile(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        user_id = request.match_info["user_id"]
        if claims.get("sub") != user_id:
            return web.json_response({"error": "a user may only edit their own profile"}, status=403)
        body = await json_body(request)
        if svc.write_fails(request):
            return svc.failed_write(request)
        profile = {"user_id": user_id, **{k: str(v)[:120] for k, v in body.items() if k != "user_id"}}
        profiles[user_id] = profile
        return web.json_response(profile)

    async def get_profile(request: web.Request) -> web.Response:
        svc.authenticate(request)
        profile = profiles.get(request.match_info["user_id"])
        if profile is None:
            raise not_found("profile")
        return web.json_response(profile)

    app.router.add_put("/profiles/{user_id}", put_profile)
    app.router.add_get("/profiles/{user_id}", get_profile)


# -- transactions + categorization ----------------------------------------------------
def add_transactions(svc: Service, app: web.Application) -> None:
    imports: dict[str, dict[str, Any]] = {}
    txns: dict[str, dict[str, Any]] = {}

    async def bank_callback(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        rows = body.get("transactions")
        if not isinstance(rows, list) or not rows:
            return web.json_response({"error": "transactions: a non-empty list required"}, status=422)
        imp: dict[str, Any] = {"import_id": new_id("imp"), "status": "queued", "count": 0, "transaction_ids": []}
        imports[imp["import_id"]] = imp
        bound(imports)
        # The async import: categorise each row through categorization (propagated auth).
        imp["task"] = svc.fleet.spawn(run_import(request, imp, rows[:100]))
        return web.json_response({"import_id": imp["import_id"], "status": "queued"}, status=202)

    async def run_import(request: web.Request, imp: dict[str, Any], rows: list[Any]) -> None:
        for row in rows:
            desc = str(row.get("description", "")) if isinstance(row, dict) else ""
            status, data = await call(svc, request, "categorization", "POST", "/categorize",
                                      {"description": desc})  # fmt: skip
            if status != 200 or not isinstance(data, dict):
                imp["status"] = "failed"
                imp["error"] = f"categorization answered {status}"
                return
            tid = new_id("txn")
            amount = row.get("amount", 0) if isinstance(row, dict) else 0
            txns[tid] = {"id": tid, "description": desc, "amount": amount,
                         "category": data.get("category"), "import_id": imp["import_id"]}  # fmt: skip
            imp["transaction_ids"].append(tid)
        imp["count"] = len(imp["transaction_ids"])
        imp["status"] = "done"

    async def get_import(request: web.Request) -> web.Response:
        svc.authenticate(request)
        imp = imports.get(request.match_info["import_id"])
        if imp is None:
            raise not_found("import")
        task = imp.get("task")
        if task is not None and not task.done():  # imports finish in milliseconds
            await asyncio.wait([task], timeout=5)
        return web.json_response({k: v for k, v in imp.items() if k != "task"})

    async def list_txns(request: web.Request) -> web.Response:
        svc.authenticate(request)
        import_id = request.query.get("import_id")
        rows = [t for t in txns.values() if not import_id or t["import_id"] == import_id]
        return web.json_response({"transactions": rows[-50:], "count": len(rows)})

    async def create_txn(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        await svc.think(request)
        if svc.write_fails(request):
            return svc.failed_write(request)
        tid = new_id("txn")
        txns[tid] = {"id": tid, "description": str(body.get("description", ""))[:80],
                     "amount": body.get("amount", 0), "category": None, "import_id": None}  # fmt: skip
        if len(txns) > 2000:  # bounded: the generator writes forever
            for old in list(txns)[:500]:
                del txns[old]
        return web.json_response(txns[tid], status=201)

    async def patch_txn(request: web.Request) -> web.Response:
        svc.authenticate(request)
        txn = txns.get(request.match_info["txn_id"])
        if txn is None:
            raise not_found("transaction")
        body = await json_body(request)
        if svc.write_fails(request):
            return svc.failed_write(request)
        if "category" in body:
            txn["category"] = str(body["category"])[:40]
        return web.json_response(txn)

    app.router.add_post("/bank-callback", bank_callback)
    app.router.add_get("/imports/{import_id}", get_import)
    app.router.add_get("/transactions", list_txns)
    app.router.add_post("/transactions", create_txn)
    app.router.add_patch("/transactions/{txn_id}", patch_txn)


def add_categorization(svc: Service, app: web.Application) -> None:
    async def categorize(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        desc = str(body.get("description", "")).lower()
        category = next((c for k, c in CATEGORIES.items() if k in desc), "other")
        return web.json_response({"category": category})

    app.router.add_post("/categorize", categorize)


# -- tax-engine + calendar + integrations ---------------------------------------------
def add_tax_engine(svc: Service, app: web.Application) -> None:
    calcs: dict[str, dict[str, Any]] = {}

    async def calculate(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        body = await json_body(request)
        try:
            income = float(body.get("income", 0))
        except (TypeError, ValueError):
            return web.json_response({"error": "income must be a number"}, status=422)
        tax = round(max(0.0, income - 12_000) * 0.2, 2)
        calc = {"calculation_id": new_id("calc"), "year": body.get("year", 2025),
                "income": income, "tax": tax, "user": claims.get("sub")}  # fmt: skip
        calcs[calc["calculation_id"]] = calc
        bound(calcs)
        return web.json_response(calc, status=201)

    async def submit(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        calc = calcs.get(str(body.get("calculation_id", "")))
        if calc is None:
            raise not_found("calculation")
        # Filing books a deadline (calendar) and notifies the tax authority (integrations).
        for callee, path in (("calendar", "/events"), ("integrations", "/outbound")):
            status, _ = await call(svc, request, callee, "POST", path, {"ref": calc["calculation_id"]})
            if status not in (200, 201):
                return upstream_failed(svc, callee, status)
        if svc.write_fails(request):
            return svc.failed_write(request)
        sub = {"submission_id": new_id("sub"), "calculation_id": calc["calculation_id"], "status": "submitted"}
        return web.json_response(sub, status=201)

    app.router.add_post("/calculate", calculate)
    app.router.add_post("/submissions", submit)


def add_record_sink(svc: Service, app: web.Application, path: str) -> None:
    """calendar /events, integrations /outbound: internal endpoints that record a call."""
    records: deque[dict[str, Any]] = deque(maxlen=500)

    async def post(request: web.Request) -> web.Response:
        svc.authenticate(request)
        body = await json_body(request)
        rec = {"id": new_id(svc.name[:3]), "ref": str(body.get("ref", ""))[:80]}
        records.append(rec)
        return web.json_response(rec, status=201)

    async def get(request: web.Request) -> web.Response:
        svc.authenticate(request)
        return web.json_response({"items": list(records)[-50:]})

    app.router.add_post(path, post)
    app.router.add_get(path, get)


# -- compliance, consent, partner-registry ------------------------------------------------
def add_compliance(svc: Service, app: web.Application) -> None:
    async def review(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        body = await json_body(request)
        return web.json_response({"approved": True, "subject": claims.get("sub"),
                                  "purpose": str(body.get("purpose", ""))[:80]})  # fmt: skip

    app.router.add_post("/reviews", review)


def add_consent(svc: Service, app: web.Application) -> None:
    consents: dict[str, dict[str, Any]] = {}
    activity: deque[dict[str, Any]] = deque(maxlen=1000)

    async def grant(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        body = await json_body(request)
        scope = str(body.get("scope", "")).strip()
        if not scope:
            return web.json_response({"error": "scope required"}, status=422)
        status, _ = await call(svc, request, "compliance", "POST", "/reviews", {"purpose": scope})
        if status != 200:
            return upstream_failed(svc, "compliance", status)
        if svc.write_fails(request):
            return svc.failed_write(request)
        c: dict[str, Any] = {"consent_id": new_id("cns"), "user_id": claims.get("sub"), "scope": scope, "status": "granted"}
        consents[c["consent_id"]] = c
        bound(consents)
        activity.append({"action": "granted", "consent_id": c["consent_id"], "user_id": c["user_id"]})
        return web.json_response(c, status=201)

    async def revoke(request: web.Request) -> web.Response:
        svc.authenticate(request)
        c = consents.get(request.match_info["consent_id"])
        if c is None:
            raise not_found("consent")
        c["status"] = "revoked"
        activity.append({"action": "revoked", "consent_id": c["consent_id"], "user_id": c["user_id"]})
        return web.json_response(c)

    async def log(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        consent_id = request.query.get("consent_id")
        rows = [a for a in activity if a["user_id"] == claims.get("sub")
                and (not consent_id or a["consent_id"] == consent_id)]  # fmt: skip
        return web.json_response({"activity": rows[-50:], "count": len(rows)})

    app.router.add_post("/consents", grant)
    app.router.add_delete("/consents/{consent_id}", revoke)
    app.router.add_get("/activity", log)


def add_partner_registry(svc: Service, app: web.Application) -> None:
    handoffs: deque[dict[str, Any]] = deque(maxlen=1000)

    async def handoff(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        body = await json_body(request)
        partner = str(body.get("partner_id", "")).strip()
        if not partner:
            return web.json_response({"error": "partner_id required"}, status=422)
        status, _ = await call(svc, request, "compliance", "POST", "/reviews", {"purpose": f"handoff:{partner}"})
        if status != 200:
            return upstream_failed(svc, "compliance", status)
        h = {"handoff_id": new_id("hnd"), "partner_id": partner, "user_id": claims.get("sub"), "status": "sent"}
        handoffs.append(h)
        return web.json_response(h, status=201)

    async def history(request: web.Request) -> web.Response:
        claims = svc.authenticate(request)
        handoff_id = request.query.get("handoff_id")
        rows = [h for h in handoffs if h["user_id"] == claims.get("sub")
                and (not handoff_id or h["handoff_id"] == handoff_id)]  # fmt: skip
        return web.json_response({"handoffs": rows[-50:], "count": len(rows)})

    app.router.add_post("/handoffs", handoff)
    app.router.add_get("/handoffs", history)


def add_web_portal(svc: Service, app: web.Application) -> None:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Portal</title><h1>Sandbox portal</h1>",
                            content_type="text/html")  # fmt: skip

    app.router.add_get("/", index)
