"""Access-control check kinds: ``gateway_not_routed``, ``auth_propagation``,
``weaviate_anonymous_disabled`` (seed checklist 1.4).

Every request goes through the shared ``ctx.http``. A gateway or service that cannot
be reached at all raises (``httpx.ConnectError``) so the runner retries and then
reports an ``error``: an unreachable endpoint proves nothing either way, so it must
never read as a pass or as a security finding.
"""

from __future__ import annotations

from typing import Any

import msgspec
from gonogo.checks.http import shown_url

from gonogo.context import CheckContext
from gonogo.model import Outcome
from gonogo.values import SecretRef, Value

DENIED = (401, 403)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


def join_url(base: str, path: str) -> str:
    """``path`` as given when it is a full URL, else appended to ``base``."""
    if path.startswith(("http://", "https://")):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def codes(statuses: tuple[int, ...]) -> str:
    return "/".join(str(s) for s in statuses)


def is_2xx(status: int) -> bool:
    return 200 <= status < 300


# -- gateway_not_routed -------------------------------------------------------------


class GatewayNotRoutedParams(_Params, frozen=True, kw_only=True):
    prefixes: tuple[str, ...]  # internal route prefixes, e.g. "/api/calendar/"
    # Paths probed under each prefix: a routed service may 404 its bare prefix yet
    # answer /health, so both are tried by default.
    probe_paths: tuple[str, ...] = ("", "health")
    expect_status: tuple[int, ...] = (403, 404)
    gateway_url: Value | None = None  # default: [integrations.gateway].public_url

    def __post_init__(self) -> None:
        if not self.prefixes:
            raise ValueError("prefixes: name at least one internal route prefix")
        if not self.probe_paths:
            raise ValueError("probe_paths: probe at least one path per prefix ('' = the prefix)")
        for prefix in self.prefixes:
            if not prefix.startswith("/"):
                raise ValueError(f"prefixes: {prefix[:40]!r} must start with '/'")


async def gateway_base(ctx: CheckContext, override: Value | None) -> str | None:
    if override is not None:
        return await ctx.resolver.value(override)
    gateway = ctx.plan.integrations.gateway
    if gateway is None:
        return None
    return await ctx.resolver.value(gateway.public_url)


class GatewayNotRouted:
    """Internal-only prefixes must answer 403/404 through the public gateway."""

    kind = "gateway_not_routed"
    Params = GatewayNotRoutedParams

    async def run(self, params: GatewayNotRoutedParams, ctx: CheckContext) -> Outcome:
        base = await gateway_base(ctx, params.gateway_url)
        if base is None:
            return Outcome.errored("no [integrations.gateway] public_url configured")
        exposed: list[str] = []
        probes: dict[str, Any] = {}
        for prefix in params.prefixes:
            shown = prefix.rstrip("/") + "/*"
            for probe in params.probe_paths:
                path = prefix.rstrip("/") + "/" + probe.lstrip("/") if probe else prefix
                response = await ctx.http.get(join_url(base, path))
                probes[path] = response.status_code
                if response.status_code not in params.expect_status:
                    exposed.append(
                        f"{shown} publicly routed: HTTP {response.status_code} on {path} "
                        f"(expected {codes(params.expect_status)})"
                    )
                    break  # one leak per prefix is enough to name it
        evidence = {"gateway": shown_url(base), "probes": probes}
        if exposed:
            head = exposed[0] if len(exposed) == 1 else f"{len(exposed)} internal prefixes publicly routed: {exposed[0]}"
            return Outcome.failed(head, *exposed, **evidence)
        return Outcome.passed(
            f"{len(params.prefixes)} internal prefix(es) closed at the gateway "
            f"({codes(params.expect_status)})",
            **evidence,
        )


# -- auth_propagation ---------------------------------------------------------------


class AuthPair(_Params, frozen=True, kw_only=True):
    from_: str = msgspec.field(name="from")  # the caller, e.g. "consent"
    to: tuple[str, ...]  # the callee(s) it forwards the credentials to
    path: str  # an endpoint of the caller that calls the callee(s); or a full URL
    base_url: Value | None = None  # default: the check's base_url, else the gateway
    method: str = "GET"
    json: Any = None
    header: str = "Authorization"
    token: SecretRef
    scheme: str = "Bearer"  # prefix before the token; "" sends the bare token
    expect_without: tuple[int, ...] = DENIED

    def __post_init__(self) -> None:
        if self.method.upper() not in METHODS:
            raise ValueError(f"method: {self.method[:20]!r} is not one of {', '.join(sorted(METHODS))}")

    @property
    def label(self) -> str:
        return f"{self.from_} -> {' + '.join(self.to)}"


class AuthPropagationParams(_Params, frozen=True, kw_only=True):
    pairs: tuple[AuthPair, ...]
    base_url: Value | None = None

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("pairs: list at least one caller -> callee pair")


class AuthPropagation:
    """With credentials the call chain answers 2xx; without, 401/403."""

    kind = "auth_propagation"
    Params = AuthPropagationParams

    async def run(self, params: AuthPropagationParams, ctx: CheckContext) -> Outcome:
        default_base = await gateway_base(ctx, params.base_url)
        broken: list[str] = []
        rows: dict[str, Any] = {}
        for pair in params.pairs:
            if pair.base_url is not None:
                base = await ctx.resolver.value(pair.base_url)
            elif default_base is not None or pair.path.startswith(("http://", "https://")):
                base = default_base or ""
            else:
                return Outcome.errored(
                    f"{pair.label}: no base_url and no [integrations.gateway] to call through"
                )
            url = join_url(base, pair.path)
            token = await ctx.resolver.resolve(pair.token)
            value = f"{pair.scheme} {token}" if pair.scheme else token
            with_creds = await self._call(ctx, pair, url, {pair.header: value})
            without = await self._call(ctx, pair, url, {})
            rows[pair.label] = {"url": shown_url(url), "with": with_creds, "without": without}
            if not is_2xx(with_creds):
                broken.append(
                    f"{pair.label}: with credentials HTTP {with_creds} (expected 2xx)"
                    + (" — token rejected or not forwarded" if with_creds in DENIED else "")
                )
            elif without not in pair.expect_without:
                broken.append(
                    f"{pair.label}: without credentials HTTP {without} "
                    f"(expected {codes(pair.expect_without)}) — endpoint not protected"
                )
        if broken:
            head = broken[0] if len(broken) == 1 else f"{len(broken)}/{len(params.pairs)} pairs broken: {broken[0]}"
            return Outcome.failed(head, *broken, pairs=rows)
        return Outcome.passed(f"{len(params.pairs)} pair(s) propagate auth", pairs=rows)

    async def _call(
        self, ctx: CheckContext, pair: AuthPair, url: str, headers: dict[str, str]
    ) -> int:
        response = await ctx.http.request(
            pair.method.upper(), url, headers=headers, json=pair.json
        )
        return response.status_code


# -- weaviate_anonymous_disabled ----------------------------------------------------


class WeaviateParams(_Params, frozen=True, kw_only=True):
    # Weaviate answers 401 to anonymous requests once
    # AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false; API keys travel as a Bearer token.
    paths: tuple[str, ...] = ("/v1/schema",)
    url: Value | None = None  # default: [integrations.weaviate].url
    api_key: SecretRef | None = None  # default: [integrations.weaviate].api_key

    def __post_init__(self) -> None:
        if not self.paths:
            raise ValueError("paths: probe at least one path, e.g. '/v1/schema'")


class WeaviateAnonymousDisabled:
    """Anonymous requests to Weaviate are refused; the configured key is accepted."""

    kind = "weaviate_anonymous_disabled"
    Params = WeaviateParams

    async def run(self, params: WeaviateParams, ctx: CheckContext) -> Outcome:
        integration = ctx.plan.integrations.weaviate
        url_value = params.url or (integration.url if integration else None)
        if url_value is None:
            return Outcome.errored("no [integrations.weaviate] url configured")
        base = await ctx.resolver.value(url_value)
        key_ref = params.api_key or (integration.api_key if integration else None)
        key = await ctx.resolver.resolve(key_ref) if key_ref is not None else None
        problems: list[str] = []
        rows: dict[str, Any] = {}
        for path in params.paths:
            url = join_url(base, path)
            anonymous = (await ctx.http.get(url)).status_code
            rows[path] = {"anonymous": anonymous}
            if anonymous not in DENIED:
                problems.append(
                    f"anonymous access enabled: GET {path} HTTP {anonymous} without a key "
                    f"(expected {codes(DENIED)})"
                )
                continue
            if key is not None:
                keyed = (await ctx.http.get(url, headers={"Authorization": f"Bearer {key}"})).status_code
                rows[path]["with_key"] = keyed
                if not is_2xx(keyed):
                    problems.append(f"the configured API key is refused: GET {path} HTTP {keyed} (expected 200)")
        if problems:
            return Outcome.failed(problems[0], *problems, url=shown_url(base), probes=rows)
        tail = "; API key accepted" if key is not None else "; no API key configured to test"
        return Outcome.passed(f"anonymous access refused ({codes(DENIED)}){tail}", url=shown_url(base), probes=rows)


KINDS = [GatewayNotRouted, AuthPropagation, WeaviateAnonymousDisabled]
