"""A Weaviate stand-in with API-key authentication.

Follows https://weaviate.io/developers/weaviate/configuration/authentication :
with ``AUTHENTICATION_APIKEY_ENABLED`` and anonymous access disabled, a request
must carry ``Authorization: Bearer <api key>``; without one Weaviate answers 401
("anonymous access not enabled"), with an unknown key 401 as well. The readiness
and liveness probes under ``/v1/.well-known/`` stay open, as in Weaviate. In the
``weaviate-anonymous`` scenario anonymous access is enabled (the misconfiguration
the checklist's "Weaviate anonymous access is disabled" item catches).
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from gonogo.sandbox.state import SandboxState

WEAVIATE_VERSION = "1.24.10"


def _error(message: str, status: int) -> web.Response:
    # Weaviate's REST error body: {"error": [{"message": "..."}]}
    return web.json_response({"error": [{"message": message}]}, status=status)


def make_app(state: SandboxState) -> web.Application:
    @web.middleware
    async def apikey_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/.well-known/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if not header:
            if state.scenario == "weaviate-anonymous":
                return await handler(request)
            return _error("anonymous access not enabled, please provide an auth scheme such as OIDC", 401)
        expected = state.secrets.get("weaviate_api_key", "")
        if scheme.lower() != "bearer" or not expected or not hmac.compare_digest(key.encode(), expected.encode()):
            return _error("unauthorized: invalid api key", 401)
        return await handler(request)

    async def ready(request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def meta(request: web.Request) -> web.Response:
        return web.json_response({"hostname": f"http://{request.host}", "modules": {},
                                  "version": WEAVIATE_VERSION})  # fmt: skip

    async def schema(request: web.Request) -> web.Response:
        return web.json_response({"classes": [{
            "class": "Document",
            "description": "OCR text of uploaded documents (qna semantic search)",
            "vectorizer": "none",
            "properties": [
                {"name": "documentId", "dataType": ["text"]},
                {"name": "text", "dataType": ["text"]},
            ],
        }]})  # fmt: skip

    app = web.Application(middlewares=[apikey_auth])
    app.router.add_get("/v1/.well-known/ready", ready)
    app.router.add_get("/v1/.well-known/live", ready)
    app.router.add_get("/v1/meta", meta)
    app.router.add_get("/v1/schema", schema)
    return app
