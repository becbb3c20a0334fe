"""sample-configs/monorepo.toml encodes every item of the seed checklist.

The seed markdown is parsed, not copied: a checklist box added to the seed without a
check in the sample fails here. Each box must have a check whose ``seed`` tag quotes
it (section number + the item's text), of the kind the spec's check-kind table assigns to it, and the
box's sub-bullets (volumes, migrated services, internal routes, auth pairs) must
appear in that check's parameters. The ownership matrix, the rollout plan, the stop
criteria, the rollback runbook and the final go/no-go rule are checked the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gonogo.config import CheckSpec, Plan, load_plan

ROOT = Path(__file__).resolve().parents[2]
# The seed travels with the repository, beside the config that encodes it.
SEED = ROOT / "sample-configs" / "pre-prod-checklist.md"

# The spec's check-kind table: which kinds implement which checklist box (all listed kinds required).
SPEC_KINDS: list[tuple[str, set[str]]] = [
    (r"\.env values are set from a secret manager", {"env_not_default"}),
    (r"AUTH_SECRET_KEY", {"secret_consistent"}),
    (r"VAULT_ADDR.*VAULT_TOKEN", {"vault_token"}),
    (r"WEAVIATE_API_KEY", {"vault_secret_age"}),
    (r"POSTGRES_\*", {"db_credentials"}),
    (r"PostgreSQL is reachable and backups", {"postgres_reachable", "postgres_backup"}),
    (r"Persistent volumes", {"volumes"}),
    (r"Migration commands", {"migrations"}),
    (r"Monorepo CI", {"github_actions"}),
    (r"service matrix", {"github_actions"}),
    (r"Web portal build", {"github_actions"}),
    (r"Contract/integration tests", {"github_actions|command"}),
    (r"Internal-only APIs", {"gateway_not_routed"}),
    (r"auth propagation", {"auth_propagation"}),
    (r"Weaviate anonymous", {"weaviate_anonymous_disabled"}),
    (r"/health", {"http_health"}),
    (r"Prometheus targets", {"prometheus_targets"}),
    (r"Grafana dashboards", {"grafana_dashboards"}),
    (r"Loki", {"loki_ingest"}),
    (r"Jaeger", {"jaeger_traces"}),
    (r"Alert channels", {"alert_receivers"}),
]


@dataclass
class Item:
    section: str  # "1.4"
    text: str  # the box's text as written (markdown)
    subs: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return f"{self.section} {normalize(self.text)}"


def normalize(text: str) -> str:
    """Markdown and punctuation that a config tag may drop: backticks, bold, final dot."""
    text = re.sub(r"[`*]", "", text).strip().rstrip(".:").lower()
    return re.sub(r"\s+", " ", text)


def parse_checklist(markdown: str) -> list[Item]:
    items: list[Item] = []
    section = ""
    for line in markdown.splitlines():
        if m := re.match(r"^###\s+(\d+\.\d+)\s", line):
            section = m.group(1)
        elif re.match(r"^##\s", line):
            section = ""
        elif section and (m := re.match(r"^- \[[ xX]\] (.+)$", line)):
            items.append(Item(section, m.group(1)))
        elif section and items and (m := re.match(r"^\s+- (.+)$", line)):
            items[-1].subs.append(m.group(1).strip().strip("`"))
    return items


def section_lines(markdown: str, heading: str) -> list[str]:
    """The list items (bulleted or numbered) under a heading, up to the next heading."""
    out: list[str] = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("#"):
            inside = heading in line
            continue
        if inside and (m := re.match(r"^\s*(?:-|\d+\.)\s+(.+)$", line)):
            out.append(m.group(1).strip())
    return out


MARKDOWN = SEED.read_text(encoding="utf-8") if SEED.exists() else ""
ITEMS = parse_checklist(MARKDOWN)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "sample-configs" / "monorepo.toml")


@pytest.fixture(scope="module")
def by_tag(plan: Plan) -> dict[str, list[CheckSpec]]:
    out: dict[str, list[CheckSpec]] = defaultdict(list)
    for _, check in plan.checks():
        section, _, text = check.seed.partition(" ")
        out[f"{section} {normalize(text)}"].append(check)
    return out


def params(check: CheckSpec) -> Any:
    return msgspec.to_builtins(check.params, str_keys=True, enc_hook=str)


def test_the_built_in_sandbox_config_is_the_sample() -> None:
    # `gonogo demo` (from the wheel) and the rehearsal in the README
    # (sample-configs/sandbox.toml) must encode the same checklist.
    built_in = ROOT / "src" / "gonogo" / "data" / "sandbox.toml"
    assert built_in.read_bytes() == (ROOT / "sample-configs" / "sandbox.toml").read_bytes()


def test_the_seed_parses_into_the_checklist() -> None:
    # guards the parser: 5 + 3 + 4 + 4 + 5 + 6 boxes in sections 1.1-1.6
    assert SEED.exists(), f"seed checklist not found at {SEED}"
    counts = defaultdict(int)
    for item in ITEMS:
        counts[item.section] += 1
    assert dict(counts) == {"1.1": 5, "1.2": 3, "1.3": 4, "1.4": 4, "1.5": 5, "1.6": 6}
    volumes = next(i for i in ITEMS if "volumes" in i.text)
    assert "auth_data" in volumes.subs and len(volumes.subs) == 6


@pytest.mark.parametrize("item", ITEMS, ids=[i.tag[:50] for i in ITEMS])
def test_every_checklist_box_has_a_check_of_the_spec_kind(
    item: Item, by_tag: dict[str, list[CheckSpec]]
) -> None:
    checks = by_tag.get(item.tag)
    assert checks, f"no check with seed = {item.tag!r} in monorepo.toml"
    kinds = {c.kind for c in checks}
    if item.section == "1.6":
        wanted = {"smoke"}
    else:
        matches = [k for pattern, k in SPEC_KINDS if re.search(pattern, item.text.replace("`", ""))]
        assert len(matches) == 1, f"the spec's check-kind table gives no single kind for {item.text!r}"
        wanted = matches[0]
    for kind in wanted:
        options = set(kind.split("|"))
        assert kinds & options, f"{item.tag!r}: expected a {kind} check, found {sorted(kinds)}"
    assert all(c.required for c in checks), "checklist section 1 boxes are strict go/no-go gates"


def _checks_of(plan: Plan, kind: str) -> list[CheckSpec]:
    return [c for _, c in plan.checks() if c.kind == kind]


def test_every_volume_is_checked(plan: Plan) -> None:
    item = next(i for i in ITEMS if "volumes" in i.text)
    (check,) = _checks_of(plan, "volumes")
    named = set(params(check)["volumes"]) or {v for s in plan.services for v in s.volumes}
    assert set(item.subs) <= named, set(item.subs) - named


def test_every_migrated_service_is_checked(plan: Plan) -> None:
    item = next(i for i in ITEMS if "Migration" in i.text)
    checks = _checks_of(plan, "migrations")
    assert checks, "no migrations check"
    encoded = " ".join(msgspec.json.encode(params(c)).decode() for c in checks)
    for sub in item.subs:
        name = sub.removesuffix("-service")
        assert name in encoded, f"migrations of {sub} not checked"


def test_every_internal_route_is_probed(plan: Plan) -> None:
    item = next(i for i in ITEMS if "Internal-only" in i.text)
    (check,) = _checks_of(plan, "gateway_not_routed")
    prefixes = set(params(check)["prefixes"])
    for sub in item.subs:
        assert sub.rstrip("*") in prefixes, f"{sub} not probed"


def test_every_auth_pair_is_probed(plan: Plan) -> None:
    item = next(i for i in ITEMS if "auth propagation" in i.text)
    (check,) = _checks_of(plan, "auth_propagation")
    pairs = params(check)["pairs"]
    assert len(item.subs) == 5
    for sub in item.subs:
        m = re.match(r"^(.+?)\s*->\s*(.+?)(?:\s*\(`?([^`)]+)`?\))?$", sub)
        assert m, sub
        caller = m.group(1).strip().replace(" ", "-")
        callees = {c.strip() for c in m.group(2).split("+")}
        found = [p for p in pairs if p["from"] == caller and callees <= set(p["to"])]
        assert found, f"pair {sub!r} not probed"
        if m.group(3):  # the inter-service header named in the seed
            assert any(p["header"] == m.group(3) for p in found), sub


@pytest.mark.parametrize("item", [i for i in ITEMS if i.section == "1.6"], ids=lambda i: i.text[:30])
def test_every_smoke_scenario_is_a_journey(item: Item, by_tag: dict[str, list[CheckSpec]]) -> None:
    (check,) = by_tag[item.tag]
    steps = params(check)["steps"]
    # "a -> b -> c" and "x/y/z" name the journey's legs: one step at least per leg
    legs = max(len(re.split(r"->|/|\+| and ", item.text)), 2)
    assert len(steps) >= min(legs, 3), f"{item.text!r} has only {len(steps)} steps"


def test_the_ownership_matrix_is_there_with_tbd_owners(plan: Plan) -> None:
    roles = section_lines(MARKDOWN, "Ownership Matrix")
    assert len(roles) == 5
    for line in roles:
        role, _, value = line.partition(":")
        words = set(re.split(r"[\s/]+", role.lower().replace("on-call", "oncall")))
        keys = [k for k in plan.owners if set(k.split("_")) <= words]
        assert keys, f"no owner key for {role!r} in {list(plan.owners)}"
        assert plan.owners[keys[0]] == value.strip(" `"), (role, plan.owners[keys[0]])


def test_the_final_rule_blocks_on_open_p0_p1(plan: Plan) -> None:
    rule = [line for line in MARKDOWN.splitlines() if "no open P0/P1" in line]
    assert rule, "checklist section 5 changed"
    checks = _checks_of(plan, "open_incidents")
    assert checks and all(c.required for c in checks), "no required open_incidents check"
    assert any(c.seed.startswith("5") for c in checks)


def _minutes(seconds: float) -> float:
    return seconds / 60


def test_the_rollout_plan_is_the_seeds(plan: Plan) -> None:
    stages = plan.rollout.stages
    assert [s.id for s in stages][0] == "staging"
    staging = stages[0]
    assert staging.weight == 0
    assert 30 <= _minutes(staging.hold.seconds) <= 60, "soak 30-60 minutes"
    checks = {c.id: c for _, c in plan.checks()}
    entry = plan.expand(staging.entry_checks)
    assert any(checks[i].kind == "command" and "staging" in checks[i].params.argv for i in entry), (
        "stage A deploys the target commit to staging"
    )
    assert any(checks[i].kind == "smoke" for i in entry), "stage A runs the automated smoke suite"
    assert checks[staging.signoff].kind == "manual", "stage A: manual smoke sign-off"

    canary = stages[1]
    assert 5 <= canary.weight <= 10 and _minutes(canary.hold.seconds) >= 30 and canary.analysis
    ramp = stages[2:5]
    assert [s.weight for s in ramp] == [25, 50, 100]
    for s in ramp:
        assert 15 <= _minutes(s.hold.seconds) <= 30 and s.analysis, s.id

    verify = stages[5]
    assert verify.weight == 100 and len(stages) == 6
    verify_checks = {checks[i].seed[:3] for i in plan.expand(verify.entry_checks + verify.exit_checks)}
    assert {"1.6", "2.D"} <= verify_checks, "stage D: smoke again, alerts, worker backlog"
    step_d = section_lines(MARKDOWN, "Stage D")
    tagged = {normalize(c.seed[4:]) for c in checks.values() if c.seed.startswith("2.D")}
    # "Re-run smoke flows" is the smoke gate itself and "Mark release as stable" is the
    # stage machine's last transition; the other two are checks of their own.
    for line in step_d:
        if "smoke" in line or "stable" in line:
            continue
        assert normalize(line) in tagged, f"stage D step {line!r} has no check"


def test_the_stop_criteria_are_the_seeds(plan: Plan) -> None:
    metrics = {m.id: m for m in plan.canary.metrics}
    stops = [m for m in metrics.values() if m.stop]
    after = MARKDOWN.split("**Stop criteria", 1)[1].split("###", 1)[0]
    criteria = re.findall(r"^- (.+)$", after, re.M)
    assert len(criteria) == 4, criteria
    by_rule = {m.rule: m for m in stops}
    five_xx = by_rule["ratio_above"]
    assert five_xx.factor == 2.0 and five_xx.duration.seconds == 300 and "5.." in five_xx.canary
    auth = by_rule["above"]
    assert auth.threshold == 0.02 and "auth" in auth.canary
    assert "lag" in by_rule["rising"].canary
    assert "fail" in by_rule["nonzero"].canary
    # observed and compared with baseline (stage B step 2)
    shown = " ".join(m.canary for m in metrics.values())
    for needle in ("0.95", "0.99", "code"):
        assert needle in shown


def test_the_rollback_runbook_is_the_seeds(plan: Plan) -> None:
    seed_steps = [s for s in section_lines(MARKDOWN, "3.2 Rollback Steps")]
    steps = plan.runbook.steps
    assert len(steps) == len(seed_steps) == 5
    assert [s.action for s in steps] == ["shift_traffic", "checks", "checks", "command", "incident"]
    checks = {c.id: c for _, c in plan.checks()}
    assert {checks[i].kind for i in plan.expand(steps[1].checks)} == {"http_health"}
    assert {checks[i].kind for i in plan.expand(steps[2].checks)} == {"smoke"}
    assert plan.runbook.reconciliation, "checklist section 3.3: reconciliation before re-rollout"


def test_every_secret_and_url_is_a_reference(plan: Plan) -> None:
    from gonogo.values import SecretRef, Value

    literal: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Value) and value.literal is not None:
            # a header template such as "Bearer {token}" is fine; an address is not
            if re.match(r"https?://", value.literal) or path.lower().endswith("url"):
                literal.append(f"{path} = {value.literal}")
        elif isinstance(value, msgspec.Struct):
            for f in msgspec.structs.fields(value):
                walk(getattr(value, f.name), f"{path}.{f.encode_name}")
        elif isinstance(value, tuple | list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, str) and re.match(r"https?://", value):
            literal.append(f"{path} = {value}")
        elif isinstance(value, SecretRef):
            assert value.scheme in ("env", "vault", "file")

    walk(plan.doc, "")
    # the Postgres port and default API URL are no secrets; everything else is a reference
    allowed = {".integrations.github.api_url = https://api.github.com"}
    assert set(literal) <= allowed, sorted(set(literal) - allowed)
