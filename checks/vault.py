"""Vault check kinds: ``vault_token`` and ``vault_secret_age``.

hvac is synchronous: every call runs in a worker thread (``asyncio.to_thread``) on
the run's one client (``CheckContext.vault()``). Secret values are
read only when a check names a key to verify, go straight to the redactor, and are
never part of a summary, detail or evidence.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.integrations.vault import describe_vault_error
from gonogo.model import Outcome
from gonogo.values import Duration, format_duration


class VaultTokenParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    min_ttl: Duration = Duration(3600.0)  # the token must outlive the release window
    renewable: bool = True  # require a renewable token
    policies: tuple[str, ...] = ()  # policies the token must carry
    allow_no_expiry: bool = False  # a TTL-less (root-like) token is a warning unless allowed


class VaultSecretAgeParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    mount: str = "secret"  # the KV v2 mount
    secrets: tuple[str, ...]  # "PATH" or "PATH#KEY" (the key must exist and be non-empty)
    max_age: Duration = Duration(90 * 86400.0)


_FRACTION = re.compile(r"(\.\d{6})\d+")


def human(seconds: float) -> str:
    """Durations as people say them: ``200d``, ``1d6h``, ``12m``."""
    if seconds >= 2 * 86400:
        days, rest = divmod(int(seconds), 86400)
        return f"{days}d" + (f"{rest // 3600}h" if days < 10 and rest >= 3600 else "")
    return format_duration(seconds)


def parse_time(text: str) -> float:
    """Vault's RFC 3339 timestamps (nanosecond fractions, ``Z``) as unix time."""
    cleaned = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    return datetime.fromisoformat(cleaned).timestamp()


async def _call(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run a sync hvac call in a thread; (result, None) or (None, operator-facing error)."""
    try:
        return await asyncio.to_thread(fn), None
    except Exception as exc:
        return None, describe_vault_error(exc) or describe_error(exc)


async def _vault_url(ctx: CheckContext) -> str:
    cfg = ctx.plan.integrations.vault
    return await ctx.resolver.value(cfg.url) if cfg is not None else "?"


class VaultToken:
    """Token lookup-self: valid, TTL above a minimum, renewable, expected policies."""

    kind = "vault_token"
    imports = ('hvac',)  # loaded off the event loop before the run
    Params = VaultTokenParams

    async def run(self, params: VaultTokenParams, ctx: CheckContext) -> Outcome:
        if ctx.plan.integrations.vault is None:
            return Outcome.errored("no [integrations.vault] in the config")
        url = await _vault_url(ctx)
        data, error = await _call(lambda: ctx.vault().lookup_self())
        if error is not None:
            if error.startswith("permission denied"):
                return Outcome.failed(f"Vault at {url} rejected the token: {error}")
            return Outcome.errored(f"Vault at {url}: {error}")
        ttl = int(data.get("ttl") or 0)
        policies = sorted(set(data.get("policies") or []) | set(data.get("identity_policies") or []))
        evidence = {
            "vault": url,
            "display_name": data.get("display_name", ""),
            "ttl_s": ttl,
            "expire_time": data.get("expire_time"),
            "renewable": bool(data.get("renewable")),
            "policies": policies,
            "type": data.get("type", ""),
        }
        problems: list[str] = []
        warnings: list[str] = []
        no_expiry = ttl == 0 and not data.get("expire_time")
        if no_expiry:
            warnings.append("token never expires (ttl 0, no expire_time)")
        elif ttl < params.min_ttl.seconds:
            problems.append(f"token TTL {human(ttl)} < required {human(params.min_ttl.seconds)}")
        if params.renewable and not data.get("renewable") and not no_expiry:
            problems.append("token is not renewable")
        missing = [p for p in params.policies if p not in policies]
        if missing:
            problems.append(
                f"missing polic{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)} "
                f"(has {', '.join(policies) or 'none'})"
            )
        if problems:
            return Outcome.failed("; ".join(problems), *problems, *warnings, **evidence)
        shown = "no expiry" if no_expiry else f"TTL {human(ttl)}"
        summary = f"token valid, {shown}, policies {', '.join(policies) or 'none'}"
        if warnings and not params.allow_no_expiry:
            return Outcome.warned(f"{summary}; {warnings[0]}", *warnings, **evidence)
        return Outcome.passed(summary, **evidence)


class VaultSecretAge:
    """KV v2 metadata: each named secret exists and was rotated within ``max_age``."""

    kind = "vault_secret_age"
    imports = ('hvac',)  # loaded off the event loop before the run
    Params = VaultSecretAgeParams

    async def run(self, params: VaultSecretAgeParams, ctx: CheckContext) -> Outcome:
        if ctx.plan.integrations.vault is None:
            return Outcome.errored("no [integrations.vault] in the config")
        if not params.secrets:
            return Outcome.skipped("no secrets listed")
        rows = await asyncio.gather(*(self._one(params, ctx, s) for s in params.secrets))
        errors = [r["problem"] for r in rows if r.get("error")]
        problems = [r["problem"] for r in rows if r.get("problem") and not r.get("error")]
        evidence = {"mount": params.mount, "secrets": {r["name"]: r["evidence"] for r in rows}}
        if problems:
            head = problems[0] if len(problems) == 1 else f"{len(problems)}/{len(rows)} secrets: {problems[0]}"
            return Outcome.failed(head, *problems, *errors, **evidence)
        if errors:
            return Outcome.errored(errors[0], *errors, **evidence)
        oldest = max(r["age"] for r in rows)
        return Outcome.passed(
            f"{len(rows)} secret(s) rotated within {human(params.max_age.seconds)} (oldest {human(oldest)})",
            **evidence,
        )

    async def _one(self, params: VaultSecretAgeParams, ctx: CheckContext, spec: str) -> dict[str, Any]:
        path, _, key = spec.partition("#")
        name = f"{params.mount}/{path}" + (f"#{key}" if key else "")
        meta, error = await _call(lambda: ctx.vault().read_metadata(params.mount, path))
        if error is not None:
            if error.startswith("not found"):
                return {"name": name, "problem": f"{name}: not found in Vault", "evidence": {"exists": False}}
            return {"name": name, "problem": f"{name}: {error}", "error": True, "evidence": {}}
        current = str(meta.get("current_version", ""))
        version = (meta.get("versions") or {}).get(current) or {}
        updated_text = str(meta.get("updated_time") or version.get("created_time") or "")
        try:
            updated = parse_time(updated_text)
        except ValueError:
            return {"name": name, "problem": f"{name}: unreadable updated_time {ctx.redactor.excerpt(repr(updated_text), 42)}",
                    "error": True, "evidence": {}}  # fmt: skip
        age = max(0.0, time.time() - updated)
        evidence = {"updated_time": updated_text, "age_s": round(age), "version": meta.get("current_version")}
        row: dict[str, Any] = {"name": name, "age": age, "evidence": evidence}
        if version.get("destroyed") or version.get("deletion_time"):
            row["problem"] = f"{name}: current version {current} is deleted"
            return row
        if age > params.max_age.seconds:
            row["problem"] = f"{name} rotated {human(age)} ago > max {human(params.max_age.seconds)}"
            return row
        if key:
            handle = ctx.vault()
            try:
                value = await asyncio.to_thread(handle.read_kv, params.mount, path, key)
            except Exception as exc:
                row.update(problem=f"{name}: {describe_vault_error(exc) or type(exc).__name__}", error=True)
                return row
            if value not in (None, ""):
                ctx.redactor.add(str(value), declared=True)  # a key the config names
            evidence["key_present"] = value not in (None, "")
            if value in (None, ""):
                row["problem"] = f"{name}: key {key} is missing or empty"
        return row


KINDS = [VaultToken, VaultSecretAge]
