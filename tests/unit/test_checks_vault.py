"""Vault check kinds through hvac, unchanged, against the sandbox's Vault stand-in."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gonogo.model import Status
from gonogo.sandbox.pgcluster import free_port
from gonogo.sandbox.standins import vault as vault_standin
from gonogo.sandbox.state import SandboxState
from support.loopback import serve
from support.plans import plan_from_toml, run_check


def config(url: str, checks: str) -> str:
    return f"""
        [release]
        name = "vault-test"
        commit = "0cab782"

        [integrations.vault]
        url = "{url}"
        token = "env:VAULT_TOKEN"

        [[gates]]
        id = "secrets"
        title = "Secrets"
        {checks}
    """


TOKEN = """
        [[gates.checks]]
        id = "token"
        title = "Vault token valid"
        kind = "vault_token"
        min_ttl = "{min_ttl}"
        policies = {policies}
"""

AGE = """
        [[gates.checks]]
        id = "age"
        title = "Secrets rotated"
        kind = "vault_secret_age"
        mount = "secret"
        max_age = "90d"
        secrets = {secrets}
"""


def token_check(min_ttl: str = "1h", policies: str = '["gonogo-release"]') -> str:
    return TOKEN.format(min_ttl=min_ttl, policies=policies)


def age_check(*secrets: str) -> str:
    return AGE.format(secrets=json.dumps(list(secrets)))


async def test_hvac_runs_unchanged_against_the_standin() -> None:
    import asyncio

    import hvac

    state = SandboxState()
    async with serve(vault_standin.make_app(state)) as url:

        def talk() -> tuple[bool, str, list[str]]:
            client = hvac.Client(url=url, token=state.secrets["vault_token"])
            meta = client.secrets.kv.v2.read_secret_metadata(path="monorepo/qna", mount_point="secret")
            data = client.secrets.kv.v2.read_secret_version(
                path="monorepo/qna", mount_point="secret", raise_on_deleted_version=True
            )
            return client.is_authenticated(), meta["data"]["updated_time"], list(data["data"]["data"])

        authenticated, updated, keys = await asyncio.to_thread(talk)
    assert authenticated
    assert updated.endswith("Z")
    assert keys == ["QNA_INTERNAL_TOKEN"]


async def test_token_valid(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(tmp_path, config(url, token_check()))
        result = await run_check(plan, "token", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith("token valid, TTL 23h59m")
    assert "gonogo-release" in result.summary
    assert state.secrets["vault_token"] not in json.dumps(result.to_dict())


async def test_token_ttl_too_short_says_found_and_required(tmp_path: Path) -> None:
    state = SandboxState()
    almost_expired = time.time() - vault_standin.TOKEN_TTL_S + 12 * 60 + 30
    async with serve(vault_standin.make_app(state, issued_at=almost_expired)) as url:
        plan = plan_from_toml(tmp_path, config(url, token_check("1h")))
        result = await run_check(plan, "token", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.FAIL
    assert result.summary.startswith("token TTL 12m")
    assert result.summary.endswith("< required 1h")


async def test_token_missing_policy(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(tmp_path, config(url, token_check(policies='["gonogo-release", "db-admin"]')))
        result = await run_check(plan, "token", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.FAIL
    assert result.summary == "missing policy db-admin (has default, gonogo-release)"


async def test_token_without_expiry_is_a_warning(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(vault_standin.make_app(state, token_ttl_s=0)) as url:
        plan = plan_from_toml(tmp_path, config(url, token_check()))
        result = await run_check(plan, "token", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.WARN
    assert result.summary == (
        "token valid, no expiry, policies default, gonogo-release; "
        "token never expires (ttl 0, no expire_time)"
    )


async def test_rejected_token_is_a_failure_without_the_token(tmp_path: Path) -> None:
    state = SandboxState()
    wrong = "hvs.not-the-token-0042"
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(tmp_path, config(url, token_check()))
        result = await run_check(plan, "token", {"VAULT_TOKEN": wrong})
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"Vault at {url} rejected the token: permission denied (403)")
    assert wrong not in json.dumps(result.to_dict())


async def test_unreachable_vault_is_an_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    plan = plan_from_toml(tmp_path, config(url, token_check()))
    result = await run_check(plan, "token", {"VAULT_TOKEN": "whatever-token"})
    assert result.status is Status.ERROR
    assert result.summary == f"Vault at {url}: cannot connect to Vault"


async def test_secrets_rotated_recently_pass_and_values_stay_hidden(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(
            tmp_path,
            config(url, age_check("monorepo/weaviate#WEAVIATE_API_KEY", "monorepo/weaviate#WEAVIATE_ADMIN_USER",
                                  "monorepo/qna#QNA_INTERNAL_TOKEN")),
        )  # fmt: skip
        result = await run_check(plan, "age", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.PASS, result.summary
    assert result.summary == "3 secret(s) rotated within 90d (oldest 12d)"
    shown = json.dumps(result.to_dict())
    for name in ("weaviate_api_key", "weaviate_admin_user", "qna_internal_token", "vault_token"):
        assert state.secrets[name] not in shown


async def test_stale_secret_scenario(tmp_path: Path) -> None:
    state = SandboxState(scenario="stale-secret")
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(tmp_path, config(url, age_check("monorepo/weaviate", "monorepo/qna")))
        result = await run_check(plan, "age", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.FAIL
    assert result.summary == "secret/monorepo/weaviate rotated 200d ago > max 90d"


async def test_missing_secret_and_missing_key(tmp_path: Path) -> None:
    state = SandboxState()
    async with serve(vault_standin.make_app(state)) as url:
        plan = plan_from_toml(
            tmp_path, config(url, age_check("monorepo/absent", "monorepo/qna#NOT_A_KEY"))
        )
        result = await run_check(plan, "age", {"VAULT_TOKEN": state.secrets["vault_token"]})
    assert result.status is Status.FAIL
    assert result.details == (
        "secret/monorepo/absent: not found in Vault",
        "secret/monorepo/qna#NOT_A_KEY: key NOT_A_KEY is missing or empty",
    )


@pytest.mark.parametrize("secrets", ['"monorepo/qna"', "[]"])
def test_secret_list_must_be_an_array(tmp_path: Path, secrets: str) -> None:
    from gonogo.config import ConfigError

    text = config("http://127.0.0.1:1", AGE.format(secrets=secrets))
    if secrets == "[]":
        plan_from_toml(tmp_path, text)  # valid, though the check will be skipped
        return
    with pytest.raises(ConfigError) as err:
        plan_from_toml(tmp_path, text)
    assert "gates[0].checks[0].secrets: expected an array" in str(err.value)
