"""``gonogo rollout`` and ``gonogo log`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from support.loopback import serve
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan


async def test_healthy_rollout_is_stable_and_the_log_verifies(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        session = tmp_path / "session"
        rc, out, err = await run_cli("rollout", "--config", str(plan), "--session", str(session),
                                     "--yes", "--auto-signoff", "--speed", "60", "--actor", "Ada Lovelace")
    assert rc == 0, err
    assert "Traceback" not in err and "is stable" in err
    lines = out.strip().splitlines()
    # one line per event: the driver's, or the engine's for what a rule did
    assert all(" #" in ln and ("Ada Lovelace:" in ln or " gonogo: " in ln) for ln in lines)
    assert any("stage half entered at 50%" in ln for ln in lines)
    signed = [ln for ln in lines if "signed off smoke-signoff" in ln]
    assert len(signed) == 1 and " gonogo: " in signed[0]
    assert "AUTOMATICALLY (--auto-signoff)" in signed[0] and "no person signed" in signed[0]
    assert "sign-offs given AUTOMATICALLY (--auto-signoff), by no person: smoke-signoff" in err
    assert lines[-1].endswith("marked STABLE")
    assert admin.weights == [5.0, 50.0, 100.0]

    rc, out, _ = await run_cli("log", "verify", str(session))
    assert rc == 0 and "hash chain intact" in out

    rc, _, _ = await run_cli("log", "export", str(session), "--format", "toml", "--out", str(tmp_path / "log.toml"))
    assert rc == 0
    toml_doc = tomllib.loads((tmp_path / "log.toml").read_text())
    rc, js_text, _ = await run_cli("log", "export", str(session), "--format", "json")
    assert rc == 0
    js = json.loads(js_text)
    for doc in (toml_doc, js):
        entered = [e for e in doc["events"] if e["kind"] == "stage_entered"]
        assert [e["data"]["stage"] for e in entered] == ["canary", "half", "full"]
        assert all(e["actor"] == "Ada Lovelace" and e["utc"].endswith("Z") for e in entered)
        advances = [e for e in doc["events"] if e["kind"] == "advance_confirmed"]
        assert [e["data"]["to_stage"] for e in advances] == ["canary", "half", "full", "stable"]
        assert doc["session"]["verified"] is True
        signoff = next(e for e in doc["events"] if e["kind"] == "signed_off")
        assert signoff["actor"] == "gonogo" and signoff["data"]["automatic"] is True
        assert signoff["data"]["rule"] == "--auto-signoff" and "AUTOMATICALLY" in signoff["summary"]


async def test_every_byte_edit_is_caught_by_log_verify(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        session = tmp_path / "s"
        rc, _, err = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                   "--speed", "600")
    assert rc == 0, err
    path = session / "events.jsonl"
    original = path.read_bytes()
    middle = len(original) // 2
    mutated = bytearray(original)
    mutated[middle] = ord("0") if mutated[middle] != ord("0") else ord("1")
    path.write_bytes(bytes(mutated))
    rc, out, _ = await run_cli("log", "verify", str(session))
    n = original[:middle].count(b"\n") + 1
    assert rc == 1 and f"FAILED at event {n}" in out
    rc, _, err = await run_cli("log", "export", str(session))
    assert rc == 1 and "not exported" in err


async def test_stop_criterion_rolls_back_with_exit_3(tmp_path: Path) -> None:
    admin = ScriptedAdmin(regress_at=50)
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        session = tmp_path / "s"
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                     "--speed", "60")
    assert rc == 3, err
    assert "STOP http-5xx" in out and "ROLLBACK started (criterion)" in out
    assert admin.weights == [5.0, 50.0, 0.0]
    incident = json.loads((session / "incidents" / "incident-shop-2.4.0.json").read_text())
    assert incident["criterion"]["canary"] == 0.05 and incident["criterion"]["baseline"] == 0.002
    # A resumed session that has rolled back says so again, without doing anything new.
    async with serve(admin.app) as base:
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff")
    assert rc == 3 and "session resumed" in out and "rolled back" in err


async def test_failing_runbook_step_under_yes_records_and_stops(tmp_path: Path) -> None:
    admin = ScriptedAdmin(regress_at=5)
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base, disable_argv='["sh", "-c", "echo registry 503; exit 1"]')
        session = tmp_path / "s"
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff",
                                     "--speed", "60")
    assert rc == 3, err
    assert "runbook disable: failed" in out and "registry 503" in out
    assert "Retry or skip" in err
    assert not any("rollback finished" in ln for ln in out.splitlines())


async def test_no_go_exits_1_naming_the_blocker(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base, unit_argv='["sh", "-c", "echo 3 failed; exit 1"]')
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(tmp_path / "s"),
                                     "--yes", "--auto-signoff", "--speed", "60")
    assert rc == 1
    assert "NO-GO" in err and "unit" in err
    assert admin.weights == []  # nothing shifted


async def test_without_yes_a_declined_confirmation_does_not_advance(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(tmp_path / "s"),
                                     "--speed", "60")
    assert rc == 1 and admin.weights == []
    assert "advance_confirmed" not in (tmp_path / "s" / "events.jsonl").read_text()


async def test_usage_and_config_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[release]\nname = "x"\n[rollout.traffic]\ndriver = "carrier-pigeon"\n')
    rc, _, err = await run_cli("rollout", "--config", str(bad))
    assert rc == 2 and "rollout.traffic.driver" in err and "Traceback" not in err
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        rc, _, err = await run_cli("rollout", "-c", str(plan), "--speed", "0")
        assert rc == 2 and "--speed" in err
        rc, _, err = await run_cli("rollout", "-c", str(plan), "--session", str(plan))
        assert rc == 2 and "is a file" in err
        other = write_cli_plan(tmp_path, base, name="other.toml")
        other.write_text(other.read_text().replace('name = "shop-2.4.0"', 'name = "billing-9.9"'))
        rc, _, _ = await run_cli("rollout", "-c", str(plan), "--session", str(tmp_path / "s"), "--yes", "--auto-signoff",
                                 "--speed", "600")
        assert rc == 0
        rc, _, err = await run_cli("rollout", "-c", str(other), "--session", str(tmp_path / "s"))
        assert rc == 2 and "is for release 'shop-2.4.0'" in err
    rc, _, err = await run_cli("log", "verify", str(tmp_path / "nowhere"))
    assert rc == 2 and "no session log" in err


async def test_default_session_directory(tmp_path: Path) -> None:
    admin = ScriptedAdmin()
    async with serve(admin.app) as base:
        plan = write_cli_plan(tmp_path, base)
        rc, _, err = await run_cli("rollout", "-c", str(plan), "--yes", "--auto-signoff", "--speed", "600", cwd=tmp_path)
    assert rc == 0, err
    (session,) = (tmp_path / "sessions").iterdir()
    assert session.name.startswith("shop-2.4.0-") and (session / "events.jsonl").exists()
