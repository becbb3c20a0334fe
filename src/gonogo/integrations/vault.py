"""A thin hvac wrapper: one synchronous client per run, used off the event loop.

hvac is imported lazily: it pulls in requests, which costs start-up time that
``gonogo --version`` and the panel's first frame should not pay.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.context import CheckContext


class VaultHandle:
    """Builds the hvac client on first use; safe to share between worker threads."""

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import hvac

                cfg = self._ctx.plan.integrations.vault
                if cfg is None:
                    raise RuntimeError("no [integrations.vault] in the config")
                resolver = self._ctx.resolver
                url = resolver.value_sync(cfg.url)
                # The token itself is never resolved through Vault (it opens Vault).
                token = resolver.resolve_sync(cfg.token)
                self._client = hvac.Client(
                    url=url,
                    token=token,
                    namespace=cfg.namespace or None,
                    verify=cfg.verify_tls,
                    timeout=int(max(1, self._ctx.plan.settings.timeout.seconds)),
                )
            return self._client

    def read_kv(self, mount: str, path: str, key: str) -> Any:
        """KV v2 read: GET /v1/{mount}/data/{path}; returns the key's value or None."""
        response = self.client().secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
        return (response.get("data") or {}).get("data", {}).get(key)


def vault_handle(ctx: CheckContext) -> VaultHandle:
    handle = ctx._shared.get("vault")
    if handle is None:
        handle = ctx._shared["vault"] = VaultHandle(ctx)
    return handle


def make_vault_reader(ctx: CheckContext) -> Any:
    return vault_handle(ctx).read_kv
