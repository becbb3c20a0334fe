"""The plan: ``gonogo.toml`` read with tomlkit and validated into frozen objects.

``load_plan(path)`` returns a ``Plan`` or raises ``ConfigError`` carrying every
problem found, each naming the key path. Nothing here resolves a secret: the plan
holds references only.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from gonogo.schema import MISSING, Problem, Validator, join, printable, short, suggest, type_name
from gonogo.values import Duration, SecretRef, Value, dsn_problem

# tomlkit keeps every byte of layout and parses at roughly 15 µs/byte: 512 KiB (14x
# the whole seed plan) stays under ~10 s even when hostile; a bigger file is refused.
MAX_CONFIG_BYTES = 512 * 1024
TBD = "TBD"

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Percent = Annotated[float, Meta(ge=0, le=100)]
PositiveInt = Annotated[int, Meta(ge=1, le=10_000)]


class Frozen(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Release(Frozen, frozen=True, kw_only=True):
    name: str
    commit: str
    environment: str = "production"
    previous: str = ""  # the stable release a rollback returns to
    description: str = ""


class Settings(Frozen, frozen=True, kw_only=True):
    concurrency: PositiveInt = 16
    timeout: Duration = Duration(10.0)
    retries: Annotated[int, Meta(ge=0, le=10)] = 2
    actor: str = ""  # the operator's name in the journal; default user@host
    theme: str = "gonogo-dark"
    hash_key: SecretRef | None = None  # key for comparing secrets; default per-process random
    # A check result older than this is stale: it never counts as passing (a check's
    # own ``stale_after`` overrides it). Guards re-run long before; a checklist run in
    # the morning does not vouch for an evening release.
    stale_after: Duration = Duration(6 * 3600.0)
    # The panel runs the checklist when it opens (``gonogo tui``, ``gonogo demo``), unless
    # the session it resumes already has a fresh result for every checklist check.
    run_on_open: bool = True
    # How often the open panel re-runs the checks behind its service grid (the checklist's
    # ``http_health`` and ``prometheus_targets`` checks); "0s" turns the refresh off.
    health_interval: Duration = Duration(30.0)


class SessionSettings(Frozen, frozen=True, kw_only=True):
    # a secret reference: makes the journal's hash chain an HMAC under this key, so
    # that nobody without it can edit the journal and recompute the chain
    key: SecretRef | None = None
    # a PostgreSQL session store (docs/postgres-store.md): a postgresql:// URL without a
    # password, or a reference to the DSN; unset, sessions are directories
    store: Value | None = None


class ServeSettings(Frozen, frozen=True, kw_only=True):
    """``[serve]``: ``gonogo serve``, the panel in a browser. ``token`` (a secret
    reference) is the access token every request must carry; without one, only a
    loopback address is served. ``--host``, ``--port`` and ``--token-ref`` override."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8000
    token: SecretRef | None = None


class PrometheusIntegration(Frozen, frozen=True, kw_only=True):
    url: Value


class AlertmanagerIntegration(Frozen, frozen=True, kw_only=True):
    url: Value


class VaultIntegration(Frozen, frozen=True, kw_only=True):
    url: Value
    token: SecretRef
    namespace: str = ""
    verify_tls: bool = True


class PostgresIntegration(Frozen, frozen=True, kw_only=True):
    host: Value = Value(literal="127.0.0.1")
    port: Annotated[int, Meta(ge=1, le=65535)] = 5432
    dbname: str = "postgres"
    user: Value = Value(literal="postgres")
    password: SecretRef | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    connect_timeout: Duration = Duration(5.0)


class GithubIntegration(Frozen, frozen=True, kw_only=True):
    api_url: Value = Value(literal="https://api.github.com")
    repo: str  # owner/name
    token: SecretRef | None = None


class GrafanaIntegration(Frozen, frozen=True, kw_only=True):
    url: Value
    token: SecretRef | None = None


class LokiIntegration(Frozen, frozen=True, kw_only=True):
    url: Value
    tenant: str = ""


class JaegerIntegration(Frozen, frozen=True, kw_only=True):
    url: Value


class WeaviateIntegration(Frozen, frozen=True, kw_only=True):
    url: Value
    api_key: SecretRef | None = None


class GatewayIntegration(Frozen, frozen=True, kw_only=True):
    public_url: Value
    admin_url: Value | None = None
    admin_token: SecretRef | None = None


class Integrations(Frozen, frozen=True, kw_only=True):
    prometheus: PrometheusIntegration | None = None
    alertmanager: AlertmanagerIntegration | None = None
    vault: VaultIntegration | None = None
    postgres: PostgresIntegration | None = None
    github: GithubIntegration | None = None
    grafana: GrafanaIntegration | None = None
    loki: LokiIntegration | None = None
    jaeger: JaegerIntegration | None = None
    weaviate: WeaviateIntegration | None = None
    gateway: GatewayIntegration | None = None


class Service(Frozen, frozen=True, kw_only=True):
    name: Id
    health_url: Value
    metrics_url: Value | None = None
    volumes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    env_file: str = ""


class CheckSpec(Frozen, frozen=True, kw_only=True):
    id: Id
    title: str
    kind: str
    required: bool = True
    timeout: Duration | None = None
    retries: Annotated[int, Meta(ge=0, le=10)] | None = None
    description: str = ""
    seed: str = ""  # the checklist line this check implements, for traceability
    # A reference (env:NAME or file:PATH). When it resolves to a non-empty text the
    # check is not run but reported `skipped` with that text as the reason — e.g. the
    # sandbox writes why it could not start PostgreSQL. That is the config's explicit
    # decision: the check is listed as skipped, with its reason, and does not block GO.
    skip_if: Value | None = None
    stale_after: Duration | None = None  # default [settings] stale_after
    params: Any = None  # the kind's own validated ``Params`` struct


CHECK_COMMON_KEYS = frozenset(f.encode_name for f in msgspec.structs.fields(CheckSpec)) - {
    "params"
}


class Gate(Frozen, frozen=True, kw_only=True):
    id: Id
    title: str
    description: str = ""
    # "checklist": part of the go/no-go verdict and of a plain `gonogo check`.
    # "stage": run only when a rollout stage names it (deploy actions, post-deploy
    # verification) or when `--gate` asks for it; it never blocks the initial GO.
    scope: Literal["checklist", "stage"] = "checklist"
    checks: tuple[CheckSpec, ...] = ()


class TrafficConfig(Frozen, frozen=True, kw_only=True):
    """``[rollout.traffic]``: how a stage's weight reaches the router, and how the
    weight the router really has is read back (the reality check: before each shift
    and on every resume, a weight other than the journal's stops the rollout).

    Reading it back, per driver: ``sandbox`` reads GET /admin/state on its admin
    address (nothing to set); ``http`` GETs ``get_url`` (same ``auth_header`` and
    ``token``) and takes the weight at ``get_field`` in the JSON answer (a dotted
    path, list indexes allowed, "" when the body is the number); ``command`` runs
    ``get``, an argv (``{stage}``, ``{release}``; no shell) that prints the weight and
    exits 0. ``manual`` cannot be read, nor an ``http``/``command`` driver without
    ``get_url``/``get``: those are not checked.
    """

    driver: Literal["manual", "command", "http", "sandbox"] = "manual"
    command: tuple[str, ...] = ()  # argv template: {weight} {stage} {release}
    url: Value | None = None  # http driver webhook / sandbox gateway admin URL
    auth_header: str = "Authorization"
    token: SecretRef | None = None
    body: dict[str, Any] = {}
    timeout: Duration = Duration(30.0)
    get: tuple[str, ...] = ()  # command driver: argv printing the current weight
    get_url: Value | None = None  # http driver: GET answering the current weight (JSON)
    get_field: str = "weight"  # http driver: dotted path of the weight in that answer


class Stage(Frozen, frozen=True, kw_only=True):
    id: Id
    title: str = ""
    weight: Percent
    hold: Duration = Duration(0.0)
    analysis: bool = True  # canary metrics are judged during this stage's hold
    entry_checks: tuple[str, ...] = ()  # check or gate ids run on entering the stage
    exit_checks: tuple[str, ...] = ()  # must be green before advancing
    signoff: str = ""  # a manual sign-off required before advancing, e.g. manual smoke
    description: str = ""
    # Checks (or gates) re-run every ``guard_interval`` while traffic sits at this stage;
    # unset: the rollout's default guards (open P0/P1 incidents, every service's health,
    # and this stage's exit checks). A failing guard acts per ``rollout.on_stop``.
    guards: tuple[str, ...] | None = None
    guard_interval: Duration | None = None  # default rollout.guard_interval


class Rollout(Frozen, frozen=True, kw_only=True):
    stages: tuple[Stage, ...] = ()
    traffic: TrafficConfig = TrafficConfig()
    on_stop: Literal["auto", "propose"] = "auto"
    guard_interval: Duration = Duration(60.0)  # plan time between two runs of a stage's guards
    # A declined rollback proposal is not made again for this long (plan time), unless
    # what triggered it gets worse.
    propose_snooze: Duration = Duration(300.0)


RuleName = Literal["ratio_above", "above", "rising", "nonzero"]


class CanaryMetric(Frozen, frozen=True, kw_only=True):
    """One ``[[canary.metrics]]`` entry: a canary query, its baseline, and the rule.

    How missing data reads (a metric is *inconclusive* while it cannot be judged: it
    blocks the advance and never counts as healthy):

    - ``no_data``: what an *empty* query result (no series at all) means. ``"inconclusive"``
      (default): nothing is known. ``"zero"``: the value is 0, for counters that only
      exist once something happened (``sum(increase(failed_writes_total[5m]))`` has no
      series until the first failed write). A ``NaN`` (0/0: the denominator had no
      traffic) and an unreachable source are always inconclusive, whatever this says.
      For a ratio, write the numerator as ``(sum(rate(...)) or vector(0))`` so that an
      empty numerator over a denominator with traffic reads 0 and an empty denominator
      stays empty.
    - ``min_requests``: canary requests the evaluation window must hold before the
      metric is judged (below it: inconclusive, "canary saw 14 requests < 200"); a
      positive ``nonzero`` reading is judged at any traffic. Default: ``[canary]
      min_requests``; 0 switches it off for this metric (a gauge like a queue lag).
    - ``requests``: the PromQL giving the canary's request count over the evaluation
      window (``sum(increase(http_requests_total{track="canary"}[5m]))``); default
      ``[canary] requests``. The sandbox source counts the requests it observed.
    """

    id: Id
    title: str = ""
    canary: str  # PromQL
    baseline: str = ""  # PromQL; required by ratio_above
    rule: RuleName
    factor: Annotated[float, Meta(gt=0)] = 2.0
    threshold: float = 0.0
    duration: Duration = Duration(300.0)  # how long in breach before it trips
    window: Duration = Duration(600.0)  # rising: the window judged
    min_samples: Annotated[int, Meta(ge=1)] = 3
    unit: str = ""
    stop: bool = True  # a breach is a stop criterion (else only shown: a dry run)
    sandbox: str = ""  # sandbox source: the fleet's metric key (canary/baseline stay PromQL)
    no_data: Literal["inconclusive", "zero"] = "inconclusive"  # an empty query result: no data, or 0
    min_requests: Annotated[int, Meta(ge=0)] | None = None  # None: [canary] min_requests
    requests: str = ""  # PromQL: canary requests in the window; "": [canary] requests


class Canary(Frozen, frozen=True, kw_only=True):
    """``[canary]``: where the metrics come from and what happens when they cannot be judged.

    - ``min_requests`` / ``requests``: the defaults of every metric's keys of the same
      name (0: no minimum).
    - ``max_inconclusive``: how long a stop criterion may stay inconclusive before the
      rollout reports ``stalled: <metric>: <why>`` (journaled, shown in the panel and the
      CLI). Default: the current stage's hold, and never less than ``min_samples`` + 2 polls
      (nor before that many polls were tried, however compressed the rehearsal).
    - ``on_inconclusive``: what a stall then does. ``"hold"`` keeps waiting (visibly);
      ``"propose"`` proposes a rollback with the reason (the driver decides);
      ``"rollback"`` stops as a tripped criterion would (per ``[rollout] on_stop``).
    """

    source: Literal["prometheus", "sandbox"] = "prometheus"
    url: Value | None = None  # sandbox source: the fleet's analysis endpoint
    interval: Duration = Duration(15.0)
    step: Duration = Duration(15.0)
    on_inconclusive: Literal["hold", "propose", "rollback"] = "hold"
    max_inconclusive: Duration | None = None  # stop criterion inconclusive this long: stalled
    min_requests: Annotated[int, Meta(ge=0)] = 0  # canary requests per window before judging
    requests: str = ""  # PromQL: the canary's request count over the window
    metrics: tuple[CanaryMetric, ...] = ()

    def min_requests_of(self, metric: CanaryMetric) -> int:
        """The canary requests ``metric`` needs per window (0: no minimum)."""
        return self.min_requests if metric.min_requests is None else metric.min_requests

    def requests_query(self, metric: CanaryMetric) -> str:
        return metric.requests or self.requests


class RunbookStep(Frozen, frozen=True, kw_only=True):
    id: Id
    title: str
    action: Literal["shift_traffic", "checks", "command", "incident", "manual"]
    checks: tuple[str, ...] = ()  # check or gate ids, for action = "checks"
    command: tuple[str, ...] = ()  # argv, no shell, for action = "command"
    timeout: Duration = Duration(120.0)
    webhook: Value | None = None  # incident: optional POST target
    out_dir: str = "incidents"  # incident: where the Markdown and JSON land


class Reconciliation(Frozen, frozen=True, kw_only=True):
    id: Id
    title: str
    service: str = ""


class Runbook(Frozen, frozen=True, kw_only=True):
    steps: tuple[RunbookStep, ...] = ()
    reconciliation: tuple[Reconciliation, ...] = ()


class KnownIssue(Frozen, frozen=True, kw_only=True):
    id: str
    title: str
    severity: Literal["P0", "P1", "P2", "P3"]
    status: Literal["open", "closed"] = "open"


# What a ``[[notify]]`` target can be told about (``gonogo.notify`` maps journal events
# to these; docs/notifications.md describes each payload).
NotifyEvent = Literal[
    "stage_entered", "hold_completed", "signoff_requested", "criterion_tripped", "guard_failed",
    "rollback_proposed", "rollback_started", "rollback_finished", "release_stable",
    "weight_drifted", "stalled",
]
NOTIFY_EVENTS: tuple[str, ...] = typing.get_args(NotifyEvent)
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = typing.get_args(Severity)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")


class NotifyTarget(Frozen, frozen=True, kw_only=True):
    """One ``[[notify]]`` receiver. Its URL and token are secret references: a Slack
    webhook URL is itself the credential, and neither is ever logged or shown."""

    kind: Literal["alertmanager", "slack", "webhook"]
    name: str = ""  # how the journal and `gonogo notify test` name it (default: KIND)
    url: SecretRef | None = None  # alertmanager: default [integrations.alertmanager].url
    token: SecretRef | None = None  # sent as "<auth_header>: Bearer <token>"
    auth_header: str = "Authorization"
    events: tuple[NotifyEvent, ...] = ()  # default: every event
    min_severity: Severity = "info"
    link: Value | None = None  # where a reader goes from a message (Alertmanager generatorURL)
    timeout: Duration = Duration(5.0)  # per attempt, connect to last byte
    retries: Annotated[int, Meta(ge=0, le=10)] = 3
    resend: Duration = Duration(60.0)  # alertmanager: re-post firing alerts this often


class PlanDoc(Frozen, frozen=True, kw_only=True):
    """The top-level TOML document."""

    release: Release
    settings: Settings = Settings()
    session: SessionSettings = SessionSettings()
    owners: dict[str, str] = {}
    integrations: Integrations = Integrations()
    services: tuple[Service, ...] = ()
    gates: tuple[Gate, ...] = ()
    rollout: Rollout = Rollout()
    canary: Canary = Canary()
    runbook: Runbook = Runbook()
    issues: tuple[KnownIssue, ...] = ()
    keys: dict[str, str] = {}  # binding id -> key, to rebind the panel's keys
    notify: tuple[NotifyTarget, ...] = ()
    serve: ServeSettings = ServeSettings()


class Plan(Frozen, frozen=True, kw_only=True):
    """A validated config plus where it came from."""

    source: str
    doc: PlanDoc

    # Convenience views -------------------------------------------------
    @property
    def release(self) -> Release:
        return self.doc.release

    @property
    def settings(self) -> Settings:
        return self.doc.settings

    @property
    def session(self) -> SessionSettings:
        return self.doc.session

    @property
    def owners(self) -> dict[str, str]:
        return self.doc.owners

    @property
    def integrations(self) -> Integrations:
        return self.doc.integrations

    @property
    def services(self) -> tuple[Service, ...]:
        return self.doc.services

    @property
    def gates(self) -> tuple[Gate, ...]:
        return self.doc.gates

    @property
    def rollout(self) -> Rollout:
        return self.doc.rollout

    @property
    def canary(self) -> Canary:
        return self.doc.canary

    @property
    def runbook(self) -> Runbook:
        return self.doc.runbook

    @property
    def notify(self) -> tuple[NotifyTarget, ...]:
        return self.doc.notify

    def checks(self) -> Iterable[tuple[Gate, CheckSpec]]:
        for gate in self.doc.gates:
            for check in gate.checks:
                yield gate, check

    def checklist(self) -> Iterable[tuple[Gate, CheckSpec]]:
        """The checks that make up the go/no-go verdict (gates with scope "checklist")."""
        return ((g, c) for g, c in self.checks() if g.scope == "checklist")

    def check(self, check_id: str) -> CheckSpec:
        for _, check in self.checks():
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def expand(self, ids: Iterable[str]) -> list[str]:
        """Check ids named directly or through their gate's id."""
        out: list[str] = []
        gates = {g.id: g for g in self.doc.gates}
        for ident in ids:
            if ident in gates:
                out.extend(c.id for c in gates[ident].checks)
            else:
                out.append(ident)
        return list(dict.fromkeys(out))


MAX_PROBLEMS_SHOWN = 100


class ConfigError(Exception):
    """Every problem found in one config file."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        # All problems at once, but a generated or corrupt file must not flood the terminal.
        # printable(): a kind's own message may quote the file's text verbatim
        lines = [printable(f"{self.source}: {p}") for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            lines.append(f"{self.source}: … and {hidden} more problems")
        return "\n".join(lines)


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a TOML file into plain Python data, or raise ``ConfigError``."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError(source, [Problem("", "is a directory, not a config file")]) from None
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read: {exc.strerror}")]) from None
    return parse_document(raw, source)


def parse_document(raw: bytes, source: str) -> dict[str, Any]:
    """TOML bytes -> plain data (dict, list, str, int, float, bool, dates), or ``ConfigError``."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            source, [Problem("", f"larger than {MAX_CONFIG_BYTES // 1024} KiB; is this really a config?")]
        )
    if b"\x00" in raw:
        raise ConfigError(source, [Problem("", "contains NUL bytes; not a TOML text file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            source, [Problem("", f"not valid UTF-8 (line {line}, byte {exc.start})")]
        ) from None
    text = text.removeprefix("\ufeff")  # editors on Windows add a BOM
    data = _parse_fast(text)
    if data is None:
        data = _parse_tomlkit(text, source)
    problems: list[Problem] = []
    _check_values(data, "", problems)
    if problems:
        raise ConfigError(source, problems)
    return data


def _parse_fast(text: str) -> dict[str, Any] | None:
    """The document through tomli (compiled; ~4 ms for the seed plan, where tomlkit
    takes 200-450 ms), or ``None`` to let tomlkit parse it: any file tomli refuses
    or that nests deeper than tomlkit allows, so every error reads as before."""
    try:
        import tomli
    except ImportError:  # pragma: no cover - a dependency; tomlkit still works
        return None
    try:
        data = tomli.loads(text)
    except Exception:  # syntax errors, recursion: tomlkit words the problem
        return None
    return data if _depth_within(data, TOML_MAX_DEPTH) else None


TOML_MAX_DEPTH = 100  # tomlkit refuses deeper nesting ("nested more than 100 levels")


def _depth_within(value: Any, limit: int) -> bool:
    if limit < 0:
        return False
    if isinstance(value, dict):
        return all(_depth_within(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_within(v, limit - 1) for v in value)
    return True


def _parse_tomlkit(text: str, source: str) -> dict[str, Any]:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        data = tomlkit.parse(text).unwrap()
    except TOMLKitError as exc:  # syntax errors, but also duplicate keys and tables
        raise ConfigError(source, [Problem("", f"TOML syntax error: {_one_line(exc)}")]) from None
    except RecursionError:
        raise ConfigError(source, [Problem("", "nested too deeply")]) from None
    except Exception as exc:  # the parser choking on odd bytes is still a bad file
        raise ConfigError(
            source, [Problem("", f"TOML syntax error: {_one_line(exc) or type(exc).__name__}")]
        ) from None
    assert isinstance(data, dict)
    return data


INT64 = 2**63


def _check_values(value: Any, path: str, problems: list[Problem]) -> None:
    """Reject what TOML's grammar lets through but no setting can mean.

    tomlkit accepts integers beyond TOML's 64 bits, and ``nan``/``inf`` would
    make every threshold comparison false: a stop criterion that never trips.
    Depth is already bounded by the parser (100 levels).
    """
    if isinstance(value, dict):
        for k, v in value.items():
            _check_values(v, join(path, k), problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(v, join(path, i), problems)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            problems.append(Problem(path, "integer out of range (TOML integers are 64-bit)"))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(path, f"{value} is not allowed here; write a finite number"))


def _one_line(exc: BaseException) -> str:
    """A parser's message on one printable line: it may quote the file's own bytes."""
    text = printable(" ".join(str(exc).split()))
    return text if len(text) <= 200 else text[:199] + "…"


def validate(data: Mapping[str, Any], source: str) -> Plan:
    """Validate parsed TOML data into a ``Plan``; raise ``ConfigError`` with all problems."""
    from gonogo.registry import kinds

    v = Validator()
    try:
        registry = kinds()
    except Exception as exc:  # a broken plugin or check module: say so, no traceback
        raise ConfigError(
            source, [Problem("", f"cannot load the check kinds (an installation problem): {exc}")]
        ) from None
    raw_gates = data.get("gates")
    # Check params are validated per kind, so pull checks out before the generic walk.
    stripped = dict(data)
    gate_checks: list[list[Any]] = []
    if isinstance(raw_gates, list):
        stripped_gates = []
        for gi, gate in enumerate(raw_gates):
            if isinstance(gate, dict):
                checks = gate.get("checks", [])
                if not isinstance(checks, list):
                    v.error(join(f"gates[{gi}]", "checks"), "expected an array of tables")
                    checks = []
                gate_checks.append(checks)
                stripped_gates.append({k: val for k, val in gate.items() if k != "checks"})
            else:
                gate_checks.append([])
                stripped_gates.append(gate)
        stripped["gates"] = stripped_gates
    try:
        doc = v.convert(stripped, PlanDoc, "")
        gates_specs: list[list[CheckSpec]] = []
        for gi, checks in enumerate(gate_checks):
            specs = []
            for ci, check in enumerate(checks):
                spec = _validate_check(v, check, f"gates[{gi}].checks[{ci}]", registry)
                if spec is MISSING:
                    # Stand-in so cross-references are still judged (all problems at
                    # once) without blaming stages for naming a check that has a typo.
                    raw_id = check.get("id") if isinstance(check, dict) else None
                    spec = CheckSpec(id=raw_id if isinstance(raw_id, str) else "", title="", kind="")
                specs.append(spec)
            gates_specs.append(specs)
    except RecursionError:
        raise ConfigError(source, [Problem("", "nested too deeply")]) from None
    if doc is MISSING:
        raise ConfigError(source, v.problems or [Problem("", "invalid config")])
    gates = tuple(msgspec.structs.replace(g, checks=tuple(gates_specs[i])) for i, g in enumerate(doc.gates))
    doc = msgspec.structs.replace(doc, gates=gates)
    problems = v.problems + _cross_check(doc)
    if problems:  # stand-ins exist only alongside a reported problem: never in a Plan
        raise ConfigError(source, problems)
    return Plan(source=source, doc=doc)


def _validate_check(v: Validator, raw: Any, path: str, registry: Mapping[str, Any]) -> Any:
    if not isinstance(raw, dict):
        return v.error(path, "expected a table")
    kind_name = raw.get("kind")
    kind = None
    if kind_name is None:
        v.error(join(path, "kind"), "missing required key")
    elif not isinstance(kind_name, str):
        v.error(join(path, "kind"), f"expected a string naming a check kind, got {type_name(kind_name)}")
    elif kind_name not in registry:
        v.error(
            join(path, "kind"),
            f"unknown check kind {short(kind_name)}" + suggest(kind_name, registry),
        )
    else:
        kind = registry[kind_name]
    # "kind" is judged above; keep CheckSpec's conversion from reporting it twice.
    common = {k: val for k, val in raw.items() if k in CHECK_COMMON_KEYS and k != "kind"}
    own = {k: val for k, val in raw.items() if k not in CHECK_COMMON_KEYS}
    params: Any = MISSING
    if kind is not None:
        params = v.convert_struct(own, kind.Params, path, ignore=CHECK_COMMON_KEYS)
    elif own and kind_name is not None:
        params = None  # kind already reported; do not pile on unknown-key noise
    spec = v.convert_struct(common, CheckSpec, path, extra={"kind": str(kind_name)})
    if spec is MISSING or params is MISSING:
        return MISSING
    return msgspec.structs.replace(spec, params=params)


def _cross_check(doc: PlanDoc) -> list[Problem]:
    problems: list[Problem] = []
    seen_gates: dict[str, int] = {}
    seen_checks: dict[str, str] = {}
    for gi, gate in enumerate(doc.gates):
        if gate.id in seen_gates:
            problems.append(
                Problem(f"gates[{gi}].id", f"duplicate gate id {gate.id!r} (also gates[{seen_gates[gate.id]}])")
            )
        seen_gates.setdefault(gate.id, gi)
        for ci, check in enumerate(gate.checks):
            here = f"gates[{gi}].checks[{ci}]"
            if not check.id:  # a stand-in for a check already reported without an id
                continue
            if check.id in seen_checks or check.id in seen_gates:
                where = seen_checks.get(check.id, "a gate")
                problems.append(Problem(f"{here}.id", f"duplicate id {check.id!r} (also {where})"))
            seen_checks.setdefault(check.id, here)
    names: set[str] = set()
    for si, svc in enumerate(doc.services):
        if svc.name in names:
            problems.append(Problem(f"services[{si}].name", f"duplicate service {svc.name!r}"))
        names.add(svc.name)
    known = set(seen_checks) | set(seen_gates)

    def refs(ids: tuple[str, ...], path: str) -> None:
        for i, ident in enumerate(ids):
            if ident not in known:
                problems.append(
                    Problem(f"{path}[{i}]", f"no check or gate {ident!r}" + suggest(ident, known))
                )

    stage_ids: set[str] = set()
    for si, stage in enumerate(doc.rollout.stages):
        if stage.id in stage_ids:
            problems.append(Problem(f"rollout.stages[{si}].id", f"duplicate stage {stage.id!r}"))
        stage_ids.add(stage.id)
        refs(stage.entry_checks, f"rollout.stages[{si}].entry_checks")
        refs(stage.exit_checks, f"rollout.stages[{si}].exit_checks")
        refs(stage.guards or (), f"rollout.stages[{si}].guards")
        # a misspelt sign-off would block the stage forever, waiting for a check nobody can sign
        if stage.signoff and stage.signoff not in seen_checks:
            problems.append(
                Problem(
                    f"rollout.stages[{si}].signoff",
                    f"no check {stage.signoff!r} to sign off" + suggest(stage.signoff, seen_checks),
                )
            )
    t = doc.rollout.traffic
    if t.driver == "command" and not t.command:
        problems.append(Problem("rollout.traffic.command", "the command driver needs an argv list"))
    if t.driver == "http" and t.url is None:
        problems.append(Problem("rollout.traffic.url", "the http driver needs a url"))
    if t.get and t.driver != "command":
        problems.append(Problem("rollout.traffic.get", f"only the command driver reads the weight "
                                f"with an argv; the {t.driver} driver " + _READS[t.driver]))
    if t.get_url is not None and t.driver != "http":
        problems.append(Problem("rollout.traffic.get_url", f"only the http driver reads the weight "
                                f"from get_url; the {t.driver} driver " + _READS[t.driver]))
    metric_ids: set[str] = set()
    for mi, metric in enumerate(doc.canary.metrics):
        if metric.id in metric_ids:
            problems.append(Problem(f"canary.metrics[{mi}].id", f"duplicate metric {metric.id!r}"))
        metric_ids.add(metric.id)
        if metric.rule == "ratio_above" and not metric.baseline:
            problems.append(
                Problem(f"canary.metrics[{mi}].baseline", "ratio_above needs a baseline query")
            )
        if (doc.canary.source == "prometheus" and doc.canary.min_requests_of(metric) > 0
                and not doc.canary.requests_query(metric)):
            problems.append(Problem(
                f"canary.metrics[{mi}].min_requests",
                "min_requests needs a request-count query: set requests = "
                "'sum(increase(http_requests_total{track=\"canary\"}[5m]))' on the metric or "
                "in [canary] (or min_requests = 0)",
            ))
    step_ids: set[str] = set()
    for ri, step in enumerate(doc.runbook.steps):
        if step.id in step_ids:
            problems.append(Problem(f"runbook.steps[{ri}].id", f"duplicate step {step.id!r}"))
        step_ids.add(step.id)
        refs(step.checks, f"runbook.steps[{ri}].checks")
        if step.action == "command" and not step.command:
            problems.append(Problem(f"runbook.steps[{ri}].command", "a command step needs argv"))
    item_ids: set[str] = set()
    for ri, item in enumerate(doc.runbook.reconciliation):
        if item.id in item_ids:
            problems.append(
                Problem(f"runbook.reconciliation[{ri}].id", f"duplicate item {item.id!r}")
            )
        item_ids.add(item.id)
    for gi, gate in enumerate(doc.gates):
        for ci, check in enumerate(gate.checks):
            if check.skip_if is not None and (check.skip_if.ref is None or check.skip_if.ref.scheme == "vault"):
                problems.append(
                    Problem(f"gates[{gi}].checks[{ci}].skip_if", "write an env:NAME or file:PATH reference")
                )
    for role, name in doc.owners.items():
        if not name.strip():
            problems.append(Problem(f"owners.{role}", f"empty owner; write {TBD!r} until known"))
        elif (why := owner_problem(name)) is not None:
            problems.append(Problem(f"owners.{role}", why))
    store = doc.session.store
    if store is not None and store.literal is not None and (why := dsn_problem(store.literal)):
        problems.append(Problem("session.store", why))
    problems += _check_param_refs(doc, names)
    problems += _check_notify(doc)
    problems += _check_runbook_and_signoff_refs(doc, names)
    return problems


_READS = {  # how each traffic driver's weight is read back (the reality check)
    "sandbox": "reads GET /admin/state on its admin address by itself",
    "http": "reads the weight from get_url (and get_field)",
    "command": "reads the weight with the get argv",
    "manual": "cannot be read back: the operator confirms each weight by hand",
}


def notify_name(target: NotifyTarget, index: int) -> str:
    """How a ``[[notify]]`` target is named in the journal and in messages (never its URL)."""
    return target.name or f"{target.kind}#{index}"


def _check_notify(doc: PlanDoc) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for i, target in enumerate(doc.notify):
        here = f"notify[{i}]"
        name = notify_name(target, i)
        if name in names:
            problems.append(Problem(f"{here}.name", f"duplicate notify target {name!r} "
                                    f"(also notify[{names[name]}]); give each a name"))
        names.setdefault(name, i)
        if target.url is None:
            if target.kind != "alertmanager":
                problems.append(Problem(
                    f"{here}.url", f"a {target.kind} target needs url = \"env:NAME\" (or file:PATH, "
                    "vault:MOUNT/PATH#KEY): the webhook URL is a credential"))
            elif doc.integrations.alertmanager is None:
                problems.append(Problem(
                    f"{here}.url", "an alertmanager target needs url = \"env:NAME\", or an "
                    "[integrations.alertmanager] url to default to"))
        if not _HEADER_NAME.match(target.auth_header):
            problems.append(Problem(f"{here}.auth_header", "not an HTTP header name"))
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target.name):
            problems.append(Problem(f"{here}.name", "contains control characters"))
        if target.timeout.seconds <= 0:
            problems.append(Problem(f"{here}.timeout", "must be greater than 0"))
        if target.kind == "alertmanager" and not 1.0 <= target.resend.seconds <= 3600.0:
            problems.append(Problem(f"{here}.resend", "must be between 1s and 1h (Alertmanager "
                                    "resolves an alert that is not re-sent within its resolve_timeout)"))
    return problems


def _check_runbook_and_signoff_refs(doc: PlanDoc, services: set[str]) -> list[Problem]:
    """What a stage's ``signoff`` and the runbook name beyond check ids: a sign-off is
    given on a ``manual`` check; a ``checks`` step names what it runs; a reconciliation
    item's ``service`` is a ``[[services]]`` entry (when the config lists services: a
    plan without them names the service for the reader only)."""
    problems: list[Problem] = []
    kinds = {c.id: c.kind for g in doc.gates for c in g.checks if c.id}
    for si, stage in enumerate(doc.rollout.stages):
        kind = kinds.get(stage.signoff)
        if kind and kind != "manual":
            problems.append(Problem(
                f"rollout.stages[{si}].signoff",
                f"{stage.signoff!r} is a {kind} check; a sign-off is given on a manual check "
                "(kind = \"manual\"): name one, or list this check in exit_checks"))
    for ri, step in enumerate(doc.runbook.steps):
        if step.action == "checks" and not step.checks:
            problems.append(Problem(f"runbook.steps[{ri}].checks",
                                    "a checks step needs the check or gate ids it runs"))
    for ri, item in enumerate(doc.runbook.reconciliation):
        if services and item.service and item.service not in services:
            problems.append(Problem(
                f"runbook.reconciliation[{ri}].service",
                f"no service {item.service!r} in [[services]]"
                + (suggest(item.service, services) or f" (known: {', '.join(sorted(services))})")))
    return problems


def _check_param_refs(doc: PlanDoc, services: set[str]) -> list[Problem]:
    """Names a check kind declares as references: ``service_fields`` must name a
    ``[[services]]`` entry; ``role_fields`` an ``[owners]`` role, or a person (a word
    that is not a near miss of a role: 'release_manger' is refused, 'Ada' is not)."""
    problems: list[Problem] = []
    roles = set(doc.owners)
    for gi, gate in enumerate(doc.gates):
        for ci, check in enumerate(gate.checks):
            params = check.params
            here = f"gates[{gi}].checks[{ci}]"
            for field in getattr(type(params), "service_fields", ()):
                for i, name in enumerate(getattr(params, field, ()) or ()):
                    if name not in services:
                        known = ", ".join(sorted(services)) or "none configured"
                        problems.append(Problem(
                            f"{here}.{field}[{i}]",
                            f"no service {name!r} in [[services]]" + (suggest(name, services)
                                                                     or f" (known: {known})")))
            for field in getattr(type(params), "role_fields", ()):
                who = str(getattr(params, field, "") or "")
                if not who or who in roles:
                    continue
                hint = suggest(who, roles)
                role_like = who == who.lower() and " " not in who.strip()
                if hint and role_like:
                    problems.append(Problem(
                        f"{here}.{field}", f"no owner role {who!r} in [owners]{hint} "
                        "(a person's name is fine too)"))
    return problems


# Letters that look like T, B or D in other scripts (Cyrillic, Greek, Cherokee, Coptic,
# Latin small capitals): an owner written "ТBD" with a Cyrillic Т is still unknown.
_LOOKALIKE = str.maketrans({
    "Т": "T", "т": "T", "Τ": "T", "τ": "T", "Ꭲ": "T", "Ⲧ": "T", "ᴛ": "T",
    "В": "B", "в": "B", "Β": "B", "β": "B", "Ᏼ": "B", "Ⲃ": "B", "ʙ": "B", "Ь": "B",
    "Ꭰ": "D", "ᗞ": "D", "ᴅ": "D", "Ð": "D", "Ⅾ": "D",
})


def owner_problem(name: str) -> str | None:
    """Why an owner name cannot be accepted, or ``None``.

    Controls and bidirectional/invisible formatting characters (which make a name
    read as something else) are refused, and so is anything that merely looks like
    ``TBD``: an owner is either a person or exactly ``TBD``."""
    import unicodedata

    for ch in name:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp"):
            return (f"owner name contains an invisible or control character (U+{ord(ch):04X}); "
                    "write the name in plain text")
    plain = name.strip()
    if plain.upper() == TBD:
        return None
    folded = unicodedata.normalize("NFKC", plain).translate(_LOOKALIKE).upper()
    folded = "".join(ch for ch in folded if not ch.isspace() and ch not in ".-_")
    if folded == TBD:
        return f"owner {name!r} only looks like {TBD!r}; write {TBD!r} in plain ASCII until the owner is known"
    return None


def load_plan(path: str | os.PathLike[str]) -> Plan:
    source = str(path)
    data = read_document(path)
    return validate(data, source)


def set_owner(path: str | os.PathLike[str], role: str, name: str) -> None:
    """Write one owner back into the TOML file, keeping comments, order and layout.

    The rest of the file comes back byte for byte (tomlkit round-trips it), and
    the write is atomic: a temp file in the same directory, fsync'd, given the
    original's mode, then ``os.replace``d over it, so a crash leaves either the
    old file or the new one, never half of each. A symlinked config stays a
    symlink: its target is what gets rewritten.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    role, name = str(role), str(name).strip()
    if not role.strip():
        raise ValueError("owner role must not be empty")
    if not name:
        raise ValueError(f"owner for {role!r} must not be empty; write {TBD!r} until known")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in role + name):
        raise ValueError("owner names and roles cannot contain control characters")
    if (why := owner_problem(name)) is not None:
        raise ValueError(why)
    target = os.path.realpath(path)
    source = str(path)
    with open(target, "rb") as fh:
        raw = fh.read(MAX_CONFIG_BYTES + 1)
    parse_document(raw, source)  # refuse to rewrite a file we would not load
    text = raw.decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    try:
        doc = tomlkit.parse(text.removeprefix("\ufeff"))
        owners = doc.get("owners")
        if owners is None:
            doc["owners"] = tomlkit.table()
            owners = doc["owners"]
        if not isinstance(owners, dict):  # tomlkit tables and inline tables are dicts
            raise ConfigError(source, [Problem("owners", "expected a table")])
        owners[role] = name
        new_text = bom + tomlkit.dumps(doc)
    except TOMLKitError as exc:
        raise ConfigError(source, [Problem("owners", _one_line(exc))]) from None
    _atomic_write(target, new_text.encode("utf-8"))


def _atomic_write(target: str, data: bytes) -> None:
    directory = os.path.dirname(target) or "."
    mode = stat.S_IMODE(os.stat(target).st_mode)
    fd, tmp = tempfile.mkstemp(prefix=".gonogo-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
