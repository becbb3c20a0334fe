"""A HashiCorp Vault stand-in: token lookup-self and the KV v2 engine (read-only).

Follows the HTTP API closely enough for hvac to run unchanged against it:
- token lookup-self, ``GET /v1/auth/token/lookup-self`` with ``X-Vault-Token``
  (https://developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self);
- KV v2 read, ``GET /v1/{mount}/data/{path}`` and metadata, ``GET
  /v1/{mount}/metadata/{path}``
  (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2);
- errors as Vault sends them: ``{"errors": [...]}`` with 403 for a bad token and 404
  with an empty list for a missing path.

The token is the fleet's ``state.secrets["vault_token"]`` (created if missing). Under
the ``stale-secret`` scenario ``monorepo/weaviate`` was last written 200 days ago.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gonogo.sandbox.standins import demo_secret, scenario

MOUNT = "secret"
TOKEN_TTL_S = 24 * 3600
TOKEN_POLICIES = ["default", "gonogo-release"]
STALE_PATH = "monorepo/weaviate"
STALE_AGE_S = 200 * 86400.0
FRESH_AGE_S = 12 * 86400.0
# path -> {key: name of the demo secret in state.secrets}
KV_LAYOUT: dict[str, dict[str, str]] = {
    "monorepo/weaviate": {
        "WEAVIATE_API_KEY": "weaviate_api_key",
        "WEAVIATE_ADMIN_USER": "weaviate_admin_user",
    },
    "monorepo/qna": {"QNA_INTERNAL_TOKEN": "qna_internal_token"},
    "monorepo/auth": {"AUTH_SECRET_KEY": "auth_secret_key"},
}


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _errors(status: int, *messages: str) -> web.Response:
    return web.json_response({"errors": list(messages)}, status=status)


def _envelope(data: dict[str, Any], **extra: Any) -> web.Response:
    body = {
        "request_id": str(uuid.uuid4()),
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": data,
        "wrap_info": None,
        "warnings": None,
        "auth": None,
        "mount_type": "",
    }
    body.update(extra)
    return web.json_response(body)


def make_app(
    state: Any, *, issued_at: float | None = None, token_ttl_s: int = TOKEN_TTL_S
) -> web.Application:
    """``token_ttl_s=0`` serves a root-like token: no TTL, no expiry, not renewable."""
    token = demo_secret(state, "vault_token")
    for keys in KV_LAYOUT.values():
        for name in keys.values():
            demo_secret(state, name)
    token_issued = issued_at if issued_at is not None else time.time()
    accessor = str(uuid.uuid4())

    def authorized(request: web.Request) -> bool:
        given = request.headers.get("X-Vault-Token", "")
        if not given:
            auth = request.headers.get("Authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
        return bool(given) and given == token

    def written_at(path: str) -> float:
        age = STALE_AGE_S if scenario(state) == "stale-secret" and path == STALE_PATH else FRESH_AGE_S
        return time.time() - age

    async def lookup_self(request: web.Request) -> web.Response:
        if not authorized(request):
            return _errors(403, "permission denied")
        ttl = max(0, int(token_issued + token_ttl_s - time.time())) if token_ttl_s else 0
        expires = rfc3339(token_issued + token_ttl_s) if token_ttl_s else None
        return _envelope(
            {
                "accessor": accessor,
                "creation_time": int(token_issued),
                "creation_ttl": token_ttl_s,
                "display_name": "token-gonogo-release",
                "entity_id": "",
                "expire_time": expires,
                "explicit_max_ttl": 0,
                "id": token,
                "identity_policies": [],
                "issue_time": rfc3339(token_issued),
                "meta": None,
                "num_uses": 0,
                "orphan": False,
                "path": "auth/token/create",
                "policies": TOKEN_POLICIES,
                "renewable": bool(token_ttl_s),
                "ttl": ttl,
                "type": "service",
            }
        )

    async def kv(request: web.Request) -> web.Response:
        if not authorized(request):
            return _errors(403, "permission denied")
        mount, op, path = (request.match_info[k] for k in ("mount", "op", "path"))
        if mount != MOUNT:
            return _errors(403, "permission denied")  # Vault answers so for unmounted paths
        if path not in KV_LAYOUT:
            return _errors(404)
        updated = written_at(path)
        created = updated - 90 * 86400.0
        if op == "data":
            values = {key: state.secrets[name] for key, name in KV_LAYOUT[path].items()}
            return _envelope(
                {
                    "data": values,
                    "metadata": {
                        "created_time": rfc3339(updated),
                        "custom_metadata": None,
                        "deletion_time": "",
                        "destroyed": False,
                        "version": 3,
                    },
                }
            )
        versions = {
            str(v): {"created_time": rfc3339(t), "deletion_time": "", "destroyed": False}
            for v, t in ((1, created), (2, (created + updated) / 2), (3, updated))
        }
        return _envelope(
            {
                "cas_required": False,
                "created_time": rfc3339(created),
                "current_version": 3,
                "custom_metadata": {"owner": "platform"},
                "delete_version_after": "0s",
                "max_versions": 0,
                "oldest_version": 0,
                "updated_time": rfc3339(updated),
                "versions": versions,
            }
        )

    async def health(request: web.Request) -> web.Response:
        # https://developer.hashicorp.com/vault/api-docs/system/health
        return web.json_response(
            {"initialized": True, "sealed": False, "standby": False, "version": "1.15.6-standin",
             "cluster_name": "gonogo-sandbox", "server_time_utc": int(time.time())}
        )  # fmt: skip

    app = web.Application()
    app.router.add_get("/v1/auth/token/lookup-self", lookup_self)
    app.router.add_get("/v1/sys/health", health)
    app.router.add_get(r"/v1/{mount}/{op:data|metadata}/{path:.+}", kv)
    return app
