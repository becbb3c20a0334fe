"""env_not_default, secret_consistent and db_credentials on real files and env refs.

Every failing case also asserts the values themselves never reach the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.checks.secrets_checks import entropy_bits, parse_dotenv

from gonogo.config import ConfigError
from gonogo.context import make_context
from gonogo.model import Status
from support.plans import plan_from_toml, run_check

EXAMPLE = """\
# copy to .env and fill from the secret manager
AUTH_SECRET_KEY=change-me-in-production
POSTGRES_USER=app
POSTGRES_PASSWORD=example-password
WEAVIATE_API_KEY=
LOG_LEVEL=info
"""
STRONG = {
    "auth": "Jq8#vLw2!pZr6@Xt4$Nb0%Hs",
    "pg": "Tz5^Kd9&Rm3*Wy7(Qc1)Gf8-Lb",
}


def write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")


def services_toml(names: list[str]) -> str:
    return "".join(
        f'[[services]]\nname = "{n}"\nhealth_url = "http://127.0.0.1:1/health"\nenv_file = "env/{n}.env"\n\n'
        for n in names
    )


def secrets_plan(tmp_path: Path, check: str, services: list[str]) -> str:
    return services_toml(services) + f"""
[[gates]]
id = "config"
title = "Configuration and secrets"

  [[gates.checks]]
{check}
"""


def env_files(tmp_path: Path, files: dict[str, str]) -> None:
    (tmp_path / "env").mkdir(exist_ok=True)
    for name, text in files.items():
        write(tmp_path, f"env/{name}.env", text)


ENV_CHECK = """\
  id = "env-not-default"
  title = ".env not the example defaults"
  kind = "env_not_default"
  ignore = ["LOG_LEVEL"]
"""


async def test_env_values_from_secret_manager_pass(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    env_files(
        tmp_path,
        {
            "auth": f"AUTH_SECRET_KEY={STRONG['auth']}\nPOSTGRES_USER=auth_prod\nPOSTGRES_PASSWORD='{STRONG['pg']}'\nLOG_LEVEL=info\n",
            "qna": 'export WEAVIATE_API_KEY="wv-7d2f0c9a1b" # from vault\n',
        },
    )
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, ENV_CHECK, ["auth", "qna"]))
    result = await run_check(plan, "env-not-default")
    assert result.status == Status.PASS, result.summary
    assert result.summary == "4 value(s) across 2 source(s) differ from .env.example"


async def test_defaults_and_empty_values_fail_naming_keys_not_values(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    env_files(
        tmp_path,
        {
            "auth": "AUTH_SECRET_KEY=change-me-in-production\nPOSTGRES_PASSWORD=example-password\n",
            "consent": "AUTH_SECRET_KEY=change-me-in-production\n",
            "qna": "WEAVIATE_API_KEY=\n",
        },
    )
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, ENV_CHECK, ["auth", "consent", "qna"]))
    result = await run_check(plan, "env-not-default")
    assert result.status == Status.FAIL
    assert result.summary == (
        "3 problems: AUTH_SECRET_KEY in auth, consent still equals the .env.example default"
    )
    assert result.details == (
        "AUTH_SECRET_KEY in auth, consent still equals the .env.example default",
        "POSTGRES_PASSWORD in auth still equals the .env.example default",
        "WEAVIATE_API_KEY in qna is empty",
    )
    text = repr(result.to_dict())
    assert "change-me-in-production" not in text and "example-password" not in text


async def test_listed_keys_must_be_set_everywhere(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    env_files(tmp_path, {"auth": f"AUTH_SECRET_KEY={STRONG['auth']}\n", "qna": "OTHER=1\n"})
    check = ENV_CHECK + '  keys = ["AUTH_SECRET_KEY"]\n'
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, check, ["auth", "qna"]))
    result = await run_check(plan, "env-not-default")
    assert result.status == Status.FAIL
    assert result.summary == "AUTH_SECRET_KEY in qna is not set"


async def test_process_env_is_used_without_env_files(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    plan = plan_from_toml(
        tmp_path,
        '[[gates]]\nid = "c"\ntitle = "c"\n  [[gates.checks]]\n' + ENV_CHECK,
    )
    result = await run_check(
        plan, "env-not-default", environ={"AUTH_SECRET_KEY": "change-me-in-production", "PATH": "/bin"}
    )
    assert result.status == Status.FAIL
    assert result.summary == "AUTH_SECRET_KEY in process env still equals the .env.example default"


async def test_missing_example_or_env_file_is_an_error(tmp_path: Path) -> None:
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, ENV_CHECK, ["auth"]))
    result = await run_check(plan, "env-not-default")
    assert (result.status, result.summary) == (Status.ERROR, "env file .env.example not found")
    write(tmp_path, ".env.example", EXAMPLE)
    result = await run_check(plan, "env-not-default")
    assert (result.status, result.summary) == (Status.ERROR, "auth: env file env/auth.env not found")


def test_dotenv_parsing() -> None:
    parsed = parse_dotenv(
        "# comment\n\nexport A=1\nB = two words # note\nC='x # not a comment'\n"
        'D="line\\nbreak"\nE=\nnot a pair\nF=a=b\n'
    )
    assert parsed == {"A": "1", "B": "two words", "C": "x # not a comment", "D": "line\nbreak", "E": "", "F": "a=b"}


# -- secret_consistent ------------------------------------------------------------------

JWT_SERVICES = ["auth", "consent", "compliance", "tax-engine"]
CONSISTENT = """\
  id = "auth-secret-consistent"
  title = "AUTH_SECRET_KEY identical for JWT services"
  kind = "secret_consistent"
  secret = "AUTH_SECRET_KEY"
"""


async def test_identical_secret_passes(tmp_path: Path) -> None:
    env_files(tmp_path, {n: f"AUTH_SECRET_KEY={STRONG['auth']}\n" for n in JWT_SERVICES})
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, CONSISTENT, JWT_SERVICES))
    result = await run_check(plan, "auth-secret-consistent")
    assert result.status == Status.PASS, result.summary
    assert result.summary == "AUTH_SECRET_KEY identical across 4 services (keyed hash)"


async def test_differing_secret_fails_grouping_services(tmp_path: Path) -> None:
    files = {n: f"AUTH_SECRET_KEY={STRONG['auth']}\n" for n in JWT_SERVICES}
    files["tax-engine"] = "AUTH_SECRET_KEY=an-old-rotated-key-4242\n"
    env_files(tmp_path, files)
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, CONSISTENT, JWT_SERVICES))
    ctx = make_context(plan, environ={})
    result = await run_check(plan, "auth-secret-consistent", context=ctx)
    assert result.status == Status.FAIL
    assert result.summary == (
        "AUTH_SECRET_KEY differs across services: {auth, compliance, consent} | {tax-engine}"
    )
    text = repr(result.to_dict())
    assert STRONG["auth"] not in text and "an-old-rotated-key-4242" not in text
    # values read are known to the redactor, so any other output is scrubbed too
    assert ctx.redactor.text(f"x {STRONG['auth']} y") == "x «redacted» y"


async def test_sources_by_reference_and_missing_copy(tmp_path: Path) -> None:
    env_files(tmp_path, {"auth": f"AUTH_SECRET_KEY={STRONG['auth']}\n", "consent": "OTHER=1\n"})
    check = CONSISTENT + """
    [[gates.checks.sources]]
    service = "auth"

    [[gates.checks.sources]]
    service = "consent"

    [[gates.checks.sources]]
    service = "gateway"
    ref = "env:GATEWAY_JWT_SECRET"
"""
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, check, ["auth", "consent"]))
    result = await run_check(plan, "auth-secret-consistent", environ={"GATEWAY_JWT_SECRET": STRONG["auth"]})
    assert result.status == Status.FAIL
    assert result.summary == "AUTH_SECRET_KEY not set in consent"
    assert result.evidence["groups"] == [["auth", "gateway"]]


# -- db_credentials -----------------------------------------------------------------------

DB = """\
  id = "db-credentials"
  title = "POSTGRES_* environment-specific and strong"
  kind = "db_credentials"
  example = ".env.example"

    [[gates.checks.environments]]
    name = "production"
    user = "env:PROD_PG_USER"
    password = "env:PROD_PG_PASSWORD"

    [[gates.checks.environments]]
    name = "staging"
    user = "app_staging"
    password = "env:STAGING_PG_PASSWORD"
"""


async def db_result(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    write(tmp_path, ".env.example", EXAMPLE)
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, DB, []))
    environ = {"PROD_PG_USER": "app_prod", "PROD_PG_PASSWORD": STRONG["pg"], "STAGING_PG_PASSWORD": STRONG["auth"]}
    environ.update(env)
    result = await run_check(plan, "db-credentials", environ=environ)
    return result


async def test_strong_distinct_credentials_pass(tmp_path: Path) -> None:
    result = await db_result(tmp_path)
    assert result.status == Status.PASS, result.details


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PROD_PG_PASSWORD": "postgres"}, "production: POSTGRES_PASSWORD is a well-known default or the example value"),
        ({"PROD_PG_PASSWORD": "example-password"}, "production: POSTGRES_PASSWORD is a well-known default or the example value"),
        ({"PROD_PG_PASSWORD": "Short-1!"}, "production: POSTGRES_PASSWORD shorter than 16 characters"),
        ({"PROD_PG_PASSWORD": "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "production: POSTGRES_PASSWORD weak (~0 bits estimated, need 60)"),
        ({"PROD_PG_PASSWORD": STRONG["auth"]}, "production and staging share the same POSTGRES_PASSWORD"),
        ({"PROD_PG_USER": "postgres"}, "production: POSTGRES_USER is the default 'postgres'; use a per-environment role"),
        ({"PROD_PG_USER": "app"}, "production: POSTGRES_USER is the default 'app'; use a per-environment role"),
    ],
)
async def test_weak_or_shared_credentials_fail(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    result = await db_result(tmp_path, **env)
    assert result.status == Status.FAIL
    assert expected in result.details
    if "PROD_PG_PASSWORD" in env and len(env["PROD_PG_PASSWORD"]) >= 4:
        assert env["PROD_PG_PASSWORD"] not in repr(result.to_dict())


async def test_unset_password_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    plan = plan_from_toml(tmp_path, secrets_plan(tmp_path, DB, []))
    result = await run_check(plan, "db-credentials", environ={"PROD_PG_USER": "x"})
    assert result.status == Status.ERROR
    assert "PROD_PG_PASSWORD is not set" in result.summary


def test_literal_password_is_rejected_by_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, secrets_plan(tmp_path, DB.replace('"env:STAGING_PG_PASSWORD"', '"hunter2hunter2"'), []))
    text = str(info.value)
    assert "gates[0].checks[0].environments[1].password" in text
    assert "hunter2hunter2" not in text


def test_entropy_estimate_orders_passwords_sensibly() -> None:
    assert entropy_bits("") == 0
    assert entropy_bits("aaaaaaaaaaaaaaaa") == 0
    assert entropy_bits("password") < 30
    assert entropy_bits(STRONG["pg"]) > 100
