"""The context every check receives (the plan and the shared clients), and the
protocol a check kind follows.

Checks take their clients from here instead of building their own, so that tests
can pass an ``httpx.MockTransport`` and the runner can share connection pools.
Clients that are expensive or synchronous (hvac, psycopg) are created lazily, once,
by ``shared(name, factory)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from gonogo.integrations.vault import VaultHandle
from gonogo.model import Outcome
from gonogo.secrets import KeyedHasher, Redactor, SecretResolver
from gonogo.values import SecretRef

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from gonogo.config import Plan

USER_AGENT = "gonogo"


@dataclass(frozen=True, slots=True)
class SignOff:
    actor: str  # the person who signed (or the engine, for an automatic sign-off)
    at: float
    note: str = ""
    role: str = ""  # the owner role signed for (the manual check's ``who``)
    automatic: bool = False  # signed by a rule (``--auto-signoff``), not by a person
    rule: str = ""


HTTP = "http"  # the run's httpx client, in ``_shared`` once built


@dataclass
class CheckContext:
    plan: Plan
    # builds ``http``: on first use, so that a context that only redacts (the engine's
    # journal writes while the panel opens) does not import httpx
    http_factory: Callable[[], httpx.AsyncClient]
    resolver: SecretResolver
    hasher: KeyedHasher
    redactor: Redactor
    base_dir: str = "."
    signoffs: dict[str, SignOff] = field(default_factory=dict)  # check id -> sign-off
    wall_clock: Callable[[], float] = time.time  # a result's finished_at (its age is judged on it)
    check_id: str = ""  # set on the per-check copy made by ``for_check``
    # secret reference -> "" once taught to the redactor, else why not (``runner.prime``);
    # shared by every per-check copy
    primed: dict[SecretRef, str] = field(default_factory=dict)
    _shared: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def http(self) -> httpx.AsyncClient:
        """The run's one HTTP client (shared by every per-check copy)."""
        client = self._shared.get(HTTP)
        if client is None:
            client = self._shared[HTTP] = self.http_factory()
        return client

    async def shared(
        self,
        name: str,
        factory: Callable[[], Awaitable[Any]],
        close: Callable[[Any], Awaitable[None]] | None = None,
    ) -> Any:
        """One client per name for the whole run (a Vault client, a DB pool...)."""
        if name in self._shared:
            return self._shared[name]
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name not in self._shared:
                client = await factory()
                self._shared[name] = client
                if close is not None:
                    self._closers.append(lambda: close(client))
        return self._shared[name]

    def vault(self) -> VaultHandle:
        """The run's one Vault client (hvac, built on first use in a worker thread)."""
        cfg = self.plan.integrations.vault
        if cfg is None:
            raise RuntimeError("no [integrations.vault] in the config")
        handle = self._shared.get("vault")
        if handle is None:
            handle = self._shared["vault"] = VaultHandle(cfg, self.resolver, self.plan.settings.timeout.seconds)
        assert isinstance(handle, VaultHandle)
        return handle

    def for_check(self, check_id: str) -> CheckContext:
        """A view for one check: same clients and caches, its own ``check_id``."""
        return dataclasses.replace(self, check_id=check_id)

    async def aclose(self) -> None:
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:  # closing must never mask the run's own outcome
                pass
        self._closers.clear()
        client = self._shared.pop(HTTP, None)
        self._shared.clear()
        if client is not None:
            await client.aclose()


def make_context(
    plan: Plan,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: dict[str, str] | None = None,
    hash_key: bytes | None = None,
) -> CheckContext:
    """Build the shared clients for a run of ``plan`` (the HTTP client on first use)."""
    redactor = Redactor()
    base_dir = os.path.dirname(os.path.abspath(plan.source)) if plan.source else "."
    resolver = SecretResolver(redactor, environ=environ, base_dir=base_dir)

    def http() -> httpx.AsyncClient:
        # imported here, not with the module: the panel's first frame does not need httpx
        import httpx

        from gonogo.aiotransport import AiohttpTransport
        from gonogo.httpcap import CappedTransport

        # Enough connections for a health check fanning out to many services at once;
        # the pool is aiohttp's, whose cost per request does not grow with its size
        # (httpcore's does: ``aiotransport``).
        network = AiohttpTransport(max_connections=max(plan.settings.concurrency * 4, 100))
        return httpx.AsyncClient(
            transport=CappedTransport(transport or network),
            timeout=httpx.Timeout(plan.settings.timeout.seconds),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )

    ctx = CheckContext(
        plan=plan,
        http_factory=http,
        resolver=resolver,
        hasher=KeyedHasher(hash_key),
        redactor=redactor,
        base_dir=base_dir,
    )
    if plan.integrations.vault is not None:
        resolver.vault_reader = ctx.vault().read_kv
    return ctx


@runtime_checkable
class CheckKind(Protocol):
    """A family of checks. One instance is shared by every check of that kind.

    ``Params`` is a ``msgspec.Struct`` describing the kind's own keys in the config
    (everything on a ``[[gates.checks]]`` table besides the common keys). ``run``
    receives the validated params and a context holding the shared clients; it
    never builds its own network client.
    """

    kind: ClassVar[str]
    Params: ClassVar[type]

    async def run(self, params: Any, ctx: CheckContext) -> Outcome: ...
