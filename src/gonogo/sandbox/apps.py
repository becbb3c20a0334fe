"""Each service's aiohttp app: the common endpoints plus its journeys and probes."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gonogo.sandbox import documents as d
from gonogo.sandbox import journeys as j
from gonogo.sandbox.services import PROPAGATION, Service

JOURNEYS: dict[str, Callable[[Service, web.Application], None]] = {
    "auth": j.add_auth,
    "user-profile": j.add_user_profile,
    "transactions": j.add_transactions,
    "categorization": j.add_categorization,
    "tax-engine": j.add_tax_engine,
    "compliance": j.add_compliance,
    "consent": j.add_consent,
    "partner-registry": j.add_partner_registry,
    "web-portal": j.add_web_portal,
    "documents": d.add_documents,
    "qna": d.add_qna,
}


def build(svc: Service) -> web.Application:
    """The service's app: common endpoints plus its journeys and probes."""
    app = svc.make_app()
    j.add_verify(svc, app)
    if svc.name in PROPAGATION:
        j.add_propagation(svc, app)
    if svc.name in JOURNEYS:
        JOURNEYS[svc.name](svc, app)
    elif svc.name == "calendar":
        j.add_record_sink(svc, app, "/events")
    elif svc.name == "integrations":
        j.add_record_sink(svc, app, "/outbound")
    elif svc.name == "documents-worker":
        svc.fleet.worker = d.add_worker(svc, app)
    return app
