"""The redactor masks whole secret values in gonogo's own sentences, never fragments of
ordinary words: a weak password ``short`` leaves "shorter than 16 characters" readable
(before, the report read "«redacted»er than 16 characters", which also said where the
secret was). Untrusted text still has every occurrence masked, glued or not
(tests/unit/test_hostile_redaction.py)."""

from __future__ import annotations

import json

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gonogo.model import Status
from gonogo.report import render
from gonogo.secrets import REDACTED, Redactor
from gonogo.verdict import decide
from support.plans import plan_from_toml, run_check


def test_a_sentence_keeps_words_that_merely_contain_a_secret() -> None:
    red = Redactor()
    red.add("short", declared=True)
    assert red.prose("staging: POSTGRES_PASSWORD shorter than 16 characters") == (
        "staging: POSTGRES_PASSWORD shorter than 16 characters")
    assert red.prose("the password is short.") == f"the password is {REDACTED}."
    assert red.prose("password=short;") == f"password={REDACTED};"
    assert red.prose('"short"') == f'"{REDACTED}"'
    # untrusted text: still masked wherever it stands
    assert red.text("shorter") == f"{REDACTED}er"


def test_short_declared_secrets_are_masked_whole_in_sentences_too() -> None:
    red = Redactor()
    red.add("k9", declared=True)
    assert red.prose("token k9 rejected; k9x and xk9 are other words") == (
        f"token {REDACTED} rejected; k9x and xk9 are other words")


def test_a_secret_with_punctuation_at_its_edges_is_found_next_to_letters() -> None:
    red = Redactor()
    red.add("-p4ss-", declared=True)  # edges are not word characters: no boundary needed
    assert red.prose("key:x-p4ss-y") == f"key:x{REDACTED}y"


@settings(max_examples=60, deadline=None)
@given(secret=st.text(min_size=4, max_size=40),
       before=st.text(max_size=12).map(lambda t: t + " "),
       after=st.text(max_size=12).map(lambda t: ". " + t))
def test_a_whole_value_never_survives_a_sentence(secret: str, before: str, after: str) -> None:
    assume(secret.strip() and not set(secret) & set("«»"))
    red = Redactor()
    red.add(secret)
    out = red.prose(before + secret + after)
    survived = secret in out.replace(REDACTED, "")
    assert not survived, "a whole secret value survived a sentence"


WEAK = """
[[gates]]
id = "secrets"
title = "Secrets"
  [[gates.checks]]
  id = "db-credentials"
  title = "POSTGRES_* strong"
  kind = "db_credentials"
    [[gates.checks.environments]]
    name = "staging"
    user = "app_staging"
    password = "env:STAGING_PG_PASSWORD"
"""


async def test_the_weak_password_report_reads_right() -> None:
    plan = plan_from_toml(None, WEAK)
    result = await run_check(plan, "db-credentials", {"STAGING_PG_PASSWORD": "short"})
    assert result.status is Status.FAIL
    assert result.summary == "staging: POSTGRES_PASSWORD shorter than 16 characters"
    reports = "\n".join(render(fmt, plan, {result.check_id: result}, decide(plan, {result.check_id: result}))
                        for fmt in ("table", "json", "junit", "markdown"))
    assert "«redacted»er" not in reports and "shorter than 16 characters" in reports
    assert " short " not in reports and '"short"' not in json.dumps(result.to_dict())
