"""A thin hvac wrapper: one synchronous client per run, used off the event loop.

hvac is imported lazily: it pulls in requests, which costs start-up time that
``gonogo --version`` and the panel's first frame should not pay.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import VaultIntegration
    from gonogo.secrets import SecretResolver


class VaultHandle:
    """Builds the hvac client on first use; safe to share between worker threads.

    Every method is synchronous: call it from a worker thread, never the event loop.
    """

    def __init__(self, cfg: VaultIntegration, resolver: SecretResolver, timeout_s: float) -> None:
        self._cfg = cfg
        self._resolver = resolver
        self._timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import hvac

                cfg = self._cfg
                url = self._resolver.value_sync(cfg.url)
                # The token itself is never resolved through Vault (it opens Vault).
                token = self._resolver.resolve_sync(cfg.token)
                self._client = hvac.Client(
                    url=url,
                    token=token,
                    namespace=cfg.namespace or None,
                    verify=cfg.verify_tls,
                    timeout=int(max(1, self._timeout_s)),
                )
            return self._client

    def read_kv(self, mount: str, path: str, key: str) -> Any:
        """KV v2 read: GET /v1/{mount}/data/{path}; returns the key's value or None."""
        response = self.client().secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
        return (response.get("data") or {}).get("data", {}).get(key)

    def lookup_self(self) -> dict[str, Any]:
        """Token lookup-self (GET /v1/auth/token/lookup-self): the token's own metadata."""
        response = self.client().auth.token.lookup_self()
        return dict(response.get("data") or {})

    def read_metadata(self, mount: str, path: str) -> dict[str, Any]:
        """KV v2 metadata (GET /v1/{mount}/metadata/{path}); never returns values."""
        response = self.client().secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)
        return dict(response.get("data") or {})


def describe_vault_error(exc: BaseException) -> str | None:
    """An operator-facing line for hvac/requests failures, or None if not one of them."""
    import hvac.exceptions as hx
    import requests

    if isinstance(exc, hx.Forbidden):
        return "permission denied (403): token invalid, expired or lacking the policy"
    if isinstance(exc, hx.Unauthorized):
        return "unauthorized (401)"
    if isinstance(exc, hx.InvalidPath):
        return "not found (404)"
    if isinstance(exc, hx.VaultDown):
        return "Vault is sealed or down (503)"
    if isinstance(exc, hx.VaultError):
        return f"Vault error: {type(exc).__name__}"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out waiting for Vault"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect to Vault"
    if isinstance(exc, requests.exceptions.RequestException):
        return f"request to Vault failed: {type(exc).__name__}"
    return None
