"""Configuration-and-secrets check kinds (seed checklist 1.1): ``env_not_default``,
``secret_consistent``, ``db_credentials``.

They read secret values, so they follow two rules: a value is compared only by
keyed hash or against known defaults and never appears in a summary, detail or
evidence; and every value read here is handed to the redactor, so that even an
unrelated check that prints it (a command echoing its environment) is scrubbed.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from gonogo.context import CheckContext
from gonogo.model import Outcome
from gonogo.safefs import UnsafePath, read_small_file
from gonogo.values import SecretRef, Value

PROCESS_ENV = "process env"
_SECRETISH = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|CREDENTIAL|DSN|PRIVATE", re.I)
_INLINE_COMMENT = re.compile(r"\s+#")
KNOWN_DEFAULT_PASSWORDS = frozenset(
    {
        "postgres", "password", "passw0rd", "changeme", "change_me", "change-me", "secret",
        "admin", "root", "example", "test", "testing", "default", "123456", "12345678",
        "qwerty", "letmein", "pass", "postgrespassword", "postgres_password", "p@ssw0rd",
    }
)  # fmt: skip
KNOWN_DEFAULT_USERS = frozenset({"postgres", "admin", "root", "user", "test", "example"})


class _Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class EnvFileError(Exception):
    """An env file that cannot be read; the message names the file, never contents."""


def parse_dotenv(text: str) -> dict[str, str]:
    """The ``KEY=value`` lines of a dotenv file (``export``, quotes, comments)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            continue
        if value[:1] in ('"', "'"):
            quote = value[0]
            end = value.find(quote, 1)
            value = value[1:end] if end != -1 else value[1:]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = _INLINE_COMMENT.split(value, maxsplit=1)[0].rstrip()
        out[key] = value
    return out


ENV_FILE_LIMIT = 1024 * 1024


def read_env_file(ctx: CheckContext, path: str) -> dict[str, str]:
    full = os.path.join(ctx.base_dir, os.path.expanduser(path))
    if not os.path.lexists(full):
        raise EnvFileError(f"env file {path} not found")
    try:
        return parse_dotenv(read_small_file(full, ENV_FILE_LIMIT).decode("utf-8"))
    except UnicodeDecodeError:
        raise EnvFileError(f"env file {path} is not UTF-8 text") from None
    except UnsafePath as exc:
        raise EnvFileError(f"cannot read env file {path}: {exc}") from None


def remember(ctx: CheckContext, values: dict[str, str], *, all_keys: bool = False) -> None:
    """Teach the redactor every secret-looking value just read."""
    for key, value in values.items():
        if value and (all_keys or _SECRETISH.search(key)):
            ctx.redactor.add(value)


def service_sources(
    ctx: CheckContext, names: tuple[str, ...]
) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    """(service, env) per service, from its env_file or the process env; plus errors."""
    known = {s.name: s for s in ctx.plan.services}
    unknown = [n for n in names if n not in known]
    if unknown:
        return [], [f"unknown service(s) in config: {', '.join(unknown)}"]
    chosen = [known[n] for n in names] if names else [s for s in ctx.plan.services if s.env_file]
    if not chosen:
        return [(PROCESS_ENV, dict(ctx.resolver.environ))], []
    sources: list[tuple[str, dict[str, str]]] = []
    errors: list[str] = []
    for svc in chosen:
        if not svc.env_file:
            sources.append((svc.name, dict(ctx.resolver.environ)))
            continue
        try:
            sources.append((svc.name, read_env_file(ctx, svc.env_file)))
        except EnvFileError as exc:
            errors.append(f"{svc.name}: {exc}")
    return sources, errors


def grouped(pairs: list[tuple[str, str]]) -> list[str]:
    """``[(key, service)]`` -> ``["KEY in a, b", ...]`` in a stable order."""
    by_key: dict[str, list[str]] = {}
    for key, service in pairs:
        by_key.setdefault(key, []).append(service)
    return [f"{key} in {', '.join(services)}" for key, services in sorted(by_key.items())]


# -- env_not_default ----------------------------------------------------------------


class EnvNotDefaultParams(_Params, frozen=True, kw_only=True):
    service_fields: ClassVar[tuple[str, ...]] = ("services",)  # checked against [[services]]

    example: str = ".env.example"  # relative to the config file's directory
    keys: tuple[str, ...] = ()  # default: every key in the example file
    services: tuple[str, ...] = ()  # default: every [[services]] entry with an env_file
    ignore: tuple[str, ...] = ()  # keys whose example value is a fine production value


class EnvNotDefault:
    """No key still holds its ``.env.example`` default or is empty."""

    kind = "env_not_default"
    Params = EnvNotDefaultParams

    async def run(self, params: EnvNotDefaultParams, ctx: CheckContext) -> Outcome:
        try:
            example = read_env_file(ctx, params.example)
        except EnvFileError as exc:
            return Outcome.errored(str(exc))
        # The example's values are public defaults, not secrets: teaching them to the
        # redactor would blank words like "postgres" from every later message.
        keys = [k for k in (params.keys or tuple(example)) if k not in params.ignore]
        unknown = [k for k in params.keys if k not in example]
        if unknown:
            return Outcome.errored(f"{', '.join(unknown)} not in {params.example}; nothing to compare with")
        sources, errors = service_sources(ctx, params.services)
        if errors:
            return Outcome.errored(errors[0], *errors)
        defaults: list[tuple[str, str]] = []
        empty: list[tuple[str, str]] = []
        unset: list[tuple[str, str]] = []
        compared = 0
        for service, env in sources:
            remember(ctx, {k: env[k] for k in keys if k in env})
            for key in keys:
                if key not in env:
                    # A service's env file holds only its own keys; a key listed
                    # explicitly in ``keys`` must be present everywhere.
                    if params.keys:
                        unset.append((key, service))
                    continue
                compared += 1
                value = env[key]
                if not value.strip():
                    empty.append((key, service))
                elif value == example[key]:
                    defaults.append((key, service))
        findings = (
            [f"{g} still equals the {params.example} default" for g in grouped(defaults)]
            + [f"{g} is empty" for g in grouped(empty)]
            + [f"{g} is not set" for g in grouped(unset)]
        )
        where = ", ".join(name for name, _ in sources)
        if findings:
            head = findings[0] if len(findings) == 1 else f"{len(findings)} problems: {findings[0]}"
            return Outcome.failed(head, *findings, sources=where, keys=keys)
        if compared == 0:
            return Outcome.failed(f"none of the {len(keys)} key(s) is set in {where}", sources=where)
        return Outcome.passed(
            f"{compared} value(s) across {len(sources)} source(s) differ from {params.example}",
            sources=where,
            keys=keys,
        )


# -- secret_consistent --------------------------------------------------------------


class SecretSource(_Params, frozen=True, kw_only=True):
    service: str  # a label; a [[services]] name when read from its env file
    ref: SecretRef | None = None  # env:/file:/vault: reference to this service's copy
    env_file: str = ""  # default: the service's [[services]].env_file
    key: str = ""  # default: the check's ``secret`` name


class SecretConsistentParams(_Params, frozen=True, kw_only=True):
    service_fields: ClassVar[tuple[str, ...]] = ("services",)  # checked against [[services]]

    secret: str  # e.g. AUTH_SECRET_KEY
    sources: tuple[SecretSource, ...] = ()
    services: tuple[str, ...] = ()  # when no sources: these services' env files (default all)


class SecretConsistent:
    """One secret, the same everywhere it is used; compared by keyed hash only."""

    kind = "secret_consistent"
    Params = SecretConsistentParams

    async def run(self, params: SecretConsistentParams, ctx: CheckContext) -> Outcome:
        values: dict[str, str] = {}
        missing: list[str] = []
        if params.sources:
            services = {s.name: s for s in ctx.plan.services}
            for src in params.sources:
                if src.ref is not None:
                    values[src.service] = await ctx.resolver.resolve(src.ref)
                    continue
                env_file = src.env_file or (services[src.service].env_file if src.service in services else "")
                if not env_file:
                    return Outcome.errored(f"{src.service}: no ref and no env_file to read {params.secret} from")
                try:
                    env = read_env_file(ctx, env_file)
                except EnvFileError as exc:
                    return Outcome.errored(f"{src.service}: {exc}")
                key = src.key or params.secret
                if env.get(key, "").strip():
                    values[src.service] = env[key]
                else:
                    missing.append(src.service)
        else:
            sources, errors = service_sources(ctx, params.services)
            if errors:
                return Outcome.errored(errors[0], *errors)
            for service, env in sources:
                if env.get(params.secret, "").strip():
                    values[service] = env[params.secret]
                else:
                    missing.append(service)
        remember(ctx, values, all_keys=True)
        if len(values) + len(missing) < 2:
            return Outcome.errored(f"{params.secret}: need at least two services to compare")
        groups: dict[str, list[str]] = {}
        for service, value in values.items():
            groups.setdefault(ctx.hasher.digest(value), []).append(service)
        # Largest group first: the odd ones out are what the operator must fix.
        ordered = sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g))
        evidence: dict[str, Any] = {
            "groups": ordered,
            "missing": missing,
            "compared_by": "keyed hash (HMAC-SHA256)",
        }
        findings: list[str] = []
        if len(ordered) > 1:
            parts = " | ".join("{" + ", ".join(g) + "}" for g in ordered)
            findings.append(f"{params.secret} differs across services: {parts}")
        if missing:
            findings.append(f"{params.secret} not set in {', '.join(missing)}")
        if findings:
            return Outcome.failed(findings[0], *findings, **evidence)
        return Outcome.passed(
            f"{params.secret} identical across {len(values)} services (keyed hash)", **evidence
        )


# -- db_credentials -----------------------------------------------------------------


class DbEnvironment(_Params, frozen=True, kw_only=True):
    name: str  # e.g. "production"
    password: SecretRef  # POSTGRES_PASSWORD for that environment
    user: Value | None = None  # POSTGRES_USER; may be literal or a reference


class DbCredentialsParams(_Params, frozen=True, kw_only=True):
    environments: tuple[DbEnvironment, ...]
    example: str = ""  # a .env.example whose POSTGRES_* values count as defaults
    min_length: Annotated[int, Meta(ge=1, le=1024)] = 16
    min_entropy_bits: Annotated[float, Meta(ge=0, le=1024)] = 60.0
    forbidden: tuple[str, ...] = ()  # more values that must never be used
    allow_default_user: bool = False

    def __post_init__(self) -> None:
        if not self.environments:
            raise ValueError("environments: list at least one environment's credentials")
        names = [e.name for e in self.environments]
        if len(set(names)) != len(names):
            raise ValueError("environments: each environment name must appear once")


def entropy_bits(value: str) -> float:
    """A conservative strength estimate: the lower of the character-pool estimate
    (length × log2 pool) and the empirical Shannon estimate, so that long but
    repetitive values ("aaaa…") do not pass for strong ones."""
    if not value:
        return 0.0
    pool = 0
    pool += 26 if any(c.islower() for c in value) else 0
    pool += 26 if any(c.isupper() for c in value) else 0
    pool += 10 if any(c.isdigit() for c in value) else 0
    pool += 33 if any(not c.isalnum() for c in value) else 0
    by_pool = len(value) * math.log2(max(pool, 2))
    counts = Counter(value)
    shannon = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return max(0.0, min(by_pool, shannon * len(value)))  # max: never print '-0'


class DbCredentials:
    """POSTGRES_* credentials: not a default, strong, different per environment."""

    kind = "db_credentials"
    Params = DbCredentialsParams

    async def run(self, params: DbCredentialsParams, ctx: CheckContext) -> Outcome:
        defaults = {d.lower() for d in KNOWN_DEFAULT_PASSWORDS | set(params.forbidden)}
        default_users = set(KNOWN_DEFAULT_USERS)
        if params.example:
            try:
                example = read_env_file(ctx, params.example)
            except EnvFileError as exc:
                return Outcome.errored(str(exc))
            if example.get("POSTGRES_PASSWORD"):
                defaults.add(example["POSTGRES_PASSWORD"].lower())
            if example.get("POSTGRES_USER"):
                default_users.add(example["POSTGRES_USER"].lower())
        problems: list[str] = []
        digests: dict[str, list[str]] = {}
        rows: dict[str, Any] = {}
        for env in params.environments:
            password = await ctx.resolver.resolve(env.password)
            user = await ctx.resolver.value(env.user) if env.user is not None else ""
            bits = entropy_bits(password)
            rows[env.name] = {"user": user or None, "entropy_bits": round(bits)}
            digests.setdefault(ctx.hasher.digest(password), []).append(env.name)
            if password.lower() in defaults:
                problems.append(f"{env.name}: POSTGRES_PASSWORD is a well-known default or the example value")
                continue
            if user and password.lower() == user.lower():
                problems.append(f"{env.name}: POSTGRES_PASSWORD equals the user name")
                continue
            if len(password) < params.min_length:
                problems.append(f"{env.name}: POSTGRES_PASSWORD shorter than {params.min_length} characters")
            elif bits < params.min_entropy_bits:
                problems.append(
                    f"{env.name}: POSTGRES_PASSWORD weak (~{bits:.0f} bits estimated, "
                    f"need {params.min_entropy_bits:.0f})"
                )
            if user and not params.allow_default_user and user.lower() in default_users:
                problems.append(f"{env.name}: POSTGRES_USER is the default {user!r}; use a per-environment role")
        for names in digests.values():
            if len(names) > 1:
                problems.append(f"{' and '.join(names)} share the same POSTGRES_PASSWORD")
        if problems:
            head = problems[0] if len(problems) == 1 else f"{len(problems)} problems: {problems[0]}"
            return Outcome.failed(head, *problems, environments=rows)
        return Outcome.passed(
            f"{len(params.environments)} environment(s): distinct, non-default, strong credentials",
            environments=rows,
        )


KINDS = [EnvNotDefault, SecretConsistent, DbCredentials]
