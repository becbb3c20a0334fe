"""The sandbox fleet's behaviour: admin API, gateway routing and canary split, service
endpoints, auth propagation, Weaviate stand-in, runtime secrets, simulated time and
the canary metrics each scenario produces."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gonogo.sandbox.fleet import Fleet, FleetError, FleetThread
from gonogo.sandbox.services import ALL_SERVICES, PROPAGATION, TRACK_HEADER
from gonogo.sandbox.state import SCENARIOS, SandboxState, UnknownScenario
from support.fleet import SandboxFiles, admin, relocate, start_fleet
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    """A fleet with no generated traffic, so request counts are exactly ours."""
    fleet, files = start_fleet(tmp_path_factory.mktemp("quiet"), traffic_rate=0, externals=False)
    try:
        yield fleet, files
    finally:
        fleet.stop()


@pytest.fixture
def fleet(quiet: tuple[FleetThread, SandboxFiles]) -> Iterator[FleetThread]:
    yield quiet[0]
    quiet[0].set_scenario("healthy")
    quiet[0].set_weight(0)


def auth(fleet: FleetThread) -> dict[str, str]:
    return {"Authorization": fleet.state.secrets["authorization"]}


# -- admin API ------------------------------------------------------------------------
def test_admin_state_weight_and_scenario(fleet: FleetThread) -> None:
    state = admin(fleet, "GET", "/admin/state").json()
    assert set(state) == {"scenario", "weight", "speed", "sim_time"}
    assert (state["scenario"], state["weight"]) == ("healthy", 0.0)
    assert admin(fleet, "POST", "/admin/weight", {"weight": 25}).json() == {"weight": 25.0}
    assert admin(fleet, "POST", "/admin/scenario", {"scenario": "auth-outage"}).json() == {"scenario": "auth-outage"}
    state = admin(fleet, "GET", "/admin/state").json()
    assert (state["scenario"], state["weight"]) == ("auth-outage", 25.0)


@pytest.mark.parametrize("body", [{"weight": 150}, {"weight": -1}, {"weight": "25"}, {"weight": True}, {}, [25]])
def test_admin_rejects_bad_weights_clearly(fleet: FleetThread, body: object) -> None:
    resp = admin(fleet, "POST", "/admin/weight", body)
    assert resp.status_code == 400
    assert "weight" in resp.json()["error"]
    assert fleet.state.weight == 0.0


def test_admin_unknown_scenario_suggests_the_closest(fleet: FleetThread) -> None:
    resp = admin(fleet, "POST", "/admin/scenario", {"scenario": "helthy"})
    assert resp.status_code == 400
    assert "did you mean 'healthy'" in resp.json()["error"]
    resp = httpx.post(fleet.url("admin") + "/admin/scenario", content=b"{not json", timeout=5)
    assert resp.status_code == 400


def test_admin_metrics_has_every_key_for_both_tracks(fleet: FleetThread) -> None:
    body = admin(fleet, "GET", "/admin/metrics").json()
    assert {"sim_time", "weight", "metrics"} <= set(body)
    keys = {"http_5xx_ratio", "error_rate", "latency_p95_ms", "latency_p99_ms",
            "auth_failure_ratio", "queue_lag", "failed_writes"}  # fmt: skip
    assert set(body["metrics"]) == keys
    for key in keys:
        assert set(body["metrics"][key]) == {"canary", "baseline"}


# -- gateway ----------------------------------------------------------------------------
def tracks(fleet: FleetThread, n: int, path: str = "/api/analytics/items") -> list[str]:
    with httpx.Client(base_url=fleet.url("gateway"), headers=auth(fleet), timeout=10) as client:
        out = []
        for _ in range(n):
            resp = client.get(path)
            assert resp.status_code == 200, resp.text
            out.append(resp.headers[TRACK_HEADER])
        return out


@pytest.mark.parametrize("weight", [0, 10, 25, 50, 100])
def test_gateway_sends_weight_percent_to_the_canary(fleet: FleetThread, weight: int) -> None:
    admin(fleet, "POST", "/admin/weight", {"weight": weight})
    seen = tracks(fleet, 100)
    assert seen.count("canary") == weight


def test_gateway_honours_an_explicit_track_header(fleet: FleetThread) -> None:
    resp = httpx.get(fleet.url("gateway") + "/api/auth/items",
                     headers={**auth(fleet), TRACK_HEADER: "canary"}, timeout=5)  # fmt: skip
    assert resp.headers[TRACK_HEADER] == "canary"
    assert fleet.state.weight == 0


def test_internal_apis_are_closed_unless_the_gateway_leaks(fleet: FleetThread) -> None:
    gw = fleet.url("gateway")
    for service in ("calendar", "categorization", "integrations", "documents-worker"):
        assert httpx.get(f"{gw}/api/{service}/health", timeout=5).status_code == 404
    assert httpx.get(f"{gw}/api/auth/health", timeout=5).status_code == 200
    fleet.set_scenario("leaky-gateway")
    assert httpx.get(f"{gw}/api/calendar/health", timeout=5).status_code == 200
    assert httpx.get(f"{gw}/api/categorization/health", timeout=5).status_code == 404


# -- services -----------------------------------------------------------------------------
def test_every_service_has_health_and_prometheus_metrics(fleet: FleetThread) -> None:
    tracks(fleet, 4)
    for service in ALL_SERVICES:
        health = httpx.get(fleet.url(service) + "/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["version"]
        text = httpx.get(fleet.url(service) + "/metrics", timeout=5).text
        names = {f.name for f in text_string_to_metric_families(text)}
        assert {"http_requests", "http_request_duration_seconds", "auth_failures", "failed_writes"} <= names
    text = httpx.get(fleet.url("analytics") + "/metrics", timeout=5).text
    samples = [s for f in text_string_to_metric_families(text) if f.name == "http_requests" for s in f.samples]
    assert any(s.labels["track"] == "baseline" and s.labels["code"] == "200" and s.value >= 4 for s in samples)


def test_unhealthy_service_fails_its_health(fleet: FleetThread) -> None:
    fleet.set_scenario("unhealthy-service")
    resp = httpx.get(fleet.url("analytics") + "/health", timeout=5)
    assert resp.status_code == 503 and resp.json()["status"] == "degraded"
    assert httpx.get(fleet.url("auth") + "/health", timeout=5).status_code == 200


def test_target_down_breaks_one_exporter(fleet: FleetThread) -> None:
    fleet.set_scenario("target-down")
    assert httpx.get(fleet.url("analytics") + "/metrics", timeout=5).status_code == 503
    assert httpx.get(fleet.url("auth") + "/metrics", timeout=5).status_code == 200


def probe(fleet: FleetThread, caller: str, with_creds: bool) -> int:
    headers: dict[str, str] = {}
    if with_creds and caller == "documents-worker":
        headers["X-Internal-Token"] = fleet.state.secrets["qna_internal_token"]
    elif with_creds:
        headers = auth(fleet)
    return httpx.get(fleet.url(caller) + "/propagation", headers=headers, timeout=5).status_code


def test_auth_propagates_for_the_five_pairs(fleet: FleetThread) -> None:
    for caller in PROPAGATION:
        assert probe(fleet, caller, True) == 200, caller
        assert probe(fleet, caller, False) == 401, caller


def test_auth_outage_breaks_consent_to_compliance_only(fleet: FleetThread) -> None:
    fleet.set_scenario("auth-outage")
    assert probe(fleet, "consent", True) == 401
    assert probe(fleet, "partner-registry", True) == 200
    # The journey through the broken pair fails too, as users would notice.
    resp = httpx.post(fleet.url("gateway") + "/api/consent/consents", json={"scope": "x"},
                      headers=auth(fleet), timeout=5)  # fmt: skip
    assert resp.status_code == 502


def test_weaviate_refuses_anonymous_requests(fleet: FleetThread) -> None:
    url = fleet.url("weaviate")
    anon = httpx.get(url + "/v1/schema", timeout=5)
    assert anon.status_code == 401 and "anonymous access not enabled" in anon.json()["error"][0]["message"]
    key = fleet.state.secrets["weaviate_api_key"]
    assert httpx.get(url + "/v1/schema", headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 200
    assert httpx.get(url + "/v1/meta", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    assert httpx.get(url + "/v1/.well-known/ready", timeout=5).status_code == 200
    fleet.set_scenario("weaviate-anonymous")
    assert httpx.get(url + "/v1/schema", timeout=5).status_code == 200


def test_runtime_dir_is_private_and_consistent(quiet: tuple[FleetThread, SandboxFiles]) -> None:
    _, files = quiet
    root = files.runtime_dir
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in (root / "secrets").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    keys = set()
    for env in (root / "env").glob("*.env"):
        lines = dict(line.split("=", 1) for line in env.read_text().splitlines())
        if "AUTH_SECRET_KEY" in lines:
            keys.add(lines["AUTH_SECRET_KEY"])
    assert len(keys) == 1
    assert (root / "env" / ".env.example").read_text().count("change-me") == 1
    assert sorted(p.name for p in (root / "volumes").iterdir()) == sorted(
        ["auth_data", "consent_data", "analytics_data", "calendar_data", "partner_registry_data", "integrations_data"]
    )


# -- state and lifecycle ---------------------------------------------------------------------
def test_speed_compresses_simulated_time() -> None:
    real = [100.0]
    state = SandboxState(speed=60.0, clock=lambda: real[0])
    start = state.now()
    real[0] += 30.0  # half a real minute...
    assert state.now() - start == pytest.approx(1800.0)  # ...is a simulated half hour
    state.set_scenario("queue-backlog")
    real[0] += 1.0
    assert state.scenario_age() == pytest.approx(60.0)


def test_unknown_scenario_is_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownScenario, match="did you mean 'auth-outage'"):
        Fleet(scenario="auth-outge")
    assert "healthy" in SCENARIOS


async def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    files = relocate(tmp_path)
    from gonogo.sandbox.layout import load_layout

    addr = load_layout(files.config).services["auth"]
    with socket.socket() as sock:
        sock.bind((addr.host, addr.port))
        sock.listen()
        fleet = Fleet(config_path=files.config, runtime_dir=files.runtime_dir, externals=False, traffic_rate=0)
        with pytest.raises(FleetError, match=f"service auth cannot listen on 127.0.0.1:{addr.port}"):
            await fleet.start()
    assert not files.runtime_dir.exists()


def test_fleet_thread_reports_a_failed_start_and_leaves_no_thread(tmp_path: Path) -> None:
    import threading

    from gonogo.sandbox.layout import load_layout

    files = relocate(tmp_path)
    addr = load_layout(files.config).gateway
    before = threading.active_count()
    with socket.socket() as sock:
        sock.bind((addr.host, addr.port))
        sock.listen()
        thread = FleetThread(config_path=files.config, runtime_dir=files.runtime_dir, externals=False)
        with pytest.raises(FleetError, match="gateway cannot listen"):
            thread.start()
    assert threading.active_count() == before


# -- canary metrics per scenario (traffic on) ---------------------------------------------------
@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetThread]:
    fleet, _ = start_fleet(tmp_path_factory.mktemp("busy"), speed=60.0, externals=False, traffic_rate=25)
    try:
        yield fleet
    finally:
        fleet.stop()


def metric(fleet: FleetThread, key: str) -> dict[str, float | None]:
    return dict(admin(fleet, "GET", "/admin/metrics").json()["metrics"][key])


def test_healthy_canary_is_clean(busy: FleetThread) -> None:
    busy.set_weight(25)
    got = wait_until(lambda: (b := admin(busy, "GET", "/admin/metrics").json())["samples"]["canary"] >= 20 and b,
                     30, "canary traffic (20 samples)")
    for key in ("http_5xx_ratio", "auth_failure_ratio", "failed_writes", "queue_lag"):
        assert got["metrics"][key]["canary"] == 0.0, key
    # Latency is measured, not invented: both tracks have a real p95.
    assert got["metrics"]["latency_p95_ms"]["canary"] > 0 and got["metrics"]["latency_p95_ms"]["baseline"] > 0


def test_canary_regression_starts_with_the_canarys_first_traffic(busy: FleetThread) -> None:
    busy.set_scenario("canary-regression")
    busy.set_weight(0)
    got = wait_until(lambda: (m := metric(busy, "http_5xx_ratio"))["baseline"] is not None and m, 20,
                     "a baseline 5xx ratio")
    assert not got["canary"]  # no canary traffic, no canary errors
    busy.set_weight(5)

    def regressed() -> dict[str, float | None] | None:
        m = metric(busy, "http_5xx_ratio")
        c, b = m["canary"], m["baseline"]
        return m if c is not None and b is not None and c > 0.02 and c > 2 * b else None

    wait_until(regressed, 30, lambda: f"the canary 5xx ratio to regress: {metric(busy, 'http_5xx_ratio')}")


def test_auth_failures_scenario_rejects_canary_tokens(busy: FleetThread) -> None:
    busy.set_scenario("auth-failures")
    busy.set_weight(25)
    found = wait_until(lambda: (m := metric(busy, "auth_failure_ratio"))["canary"] and m["canary"] > 0.02 and m, 30,
                       "canary auth failures above 2%")
    assert found["baseline"] == 0.0


def test_failed_writes_scenario_shows_canary_failed_writes(busy: FleetThread) -> None:
    busy.set_scenario("failed-writes")
    busy.set_weight(25)
    found = wait_until(lambda: (m := metric(busy, "failed_writes"))["canary"] and m, 30, "canary failed writes")
    assert found["baseline"] == 0.0


def test_a_5_percent_canary_gets_enough_requests_to_judge(busy: FleetThread) -> None:
    """5 % of the generator's traffic is about one request a second: canary load pinned by
    header tops the canary up to its floor, so sandbox.toml's min_requests (50 per
    window) is met within a 5 % stage; the baseline keeps only its organic share."""
    from gonogo.config import load_plan
    from gonogo.sandbox.layout import builtin_config

    busy.set_scenario("healthy")
    busy.set_weight(5)
    need = load_plan(builtin_config()).canary.min_requests
    got = wait_until(lambda: (b := admin(busy, "GET", "/admin/metrics").json())["samples"]["canary"] >= need
                     and b, 20, f"{need} canary requests in the window")
    counts = got["samples"]
    assert counts["canary"] < counts["baseline"]  # still the smaller track
    busy.set_weight(100)
    wait_until(lambda: admin(busy, "GET", "/admin/metrics").json()["samples"]["baseline"] == 0, 30,
               "the baseline to get no traffic at 100 %")


def test_queue_backlog_lag_rises_continuously(busy: FleetThread) -> None:
    busy.set_scenario("queue-backlog")
    busy.set_weight(50)
    first = wait_until(lambda: metric(busy, "queue_lag")["canary"], 30, "a canary job to queue")
    readings = [first]
    for _ in range(3):
        readings.append(wait_until(lambda: (v := metric(busy, "queue_lag")["canary"]) > readings[-1] and v, 10,
                                   f"the canary queue lag to rise past {readings[-1]}"))
    assert all(b > a for a, b in zip(readings, readings[1:], strict=False)), readings
    assert metric(busy, "queue_lag")["baseline"] is not None
    def backlog() -> int:
        return int(httpx.get(busy.url("documents-worker") + "/health", timeout=5).json()["queue"]["backlog"])

    wait_until(lambda: backlog() > 0, 15, "stuck canary jobs to count as backlog")
    busy.set_scenario("healthy")
    wait_until(lambda: metric(busy, "queue_lag")["canary"] == 0.0, 10, "the canary queue lag back to 0")


# -- the metrics window (pure) -------------------------------------------------------------------
def test_window_summarises_recent_traffic_per_track() -> None:
    from gonogo.sandbox.window import WINDOW_SIM_S, Sample, TrafficWindow

    w = TrafficWindow()
    # 40 baseline requests, one a 500; 10 canary requests, two 500s and one 401.
    for i in range(40):
        w.record(Sample(1000.0 + i, 100.0 + i, "baseline", 500 if i == 7 else 200, float(i + 1), False, False))
    for i in range(10):
        status = 500 if i in (2, 5) else 401 if i == 9 else 200
        w.record(Sample(1000.0 + i, 100.0 + i, "canary", status, 10.0 * (i + 1), status == 401, i == 5))
    got = w.summary(1040.0, 140.0, {"canary": 12.5, "baseline": 0.0})
    m = got["metrics"]
    assert got["samples"] == {"canary": 10, "baseline": 40}
    assert m["http_5xx_ratio"] == {"canary": 0.2, "baseline": 0.025}
    assert m["error_rate"]["canary"] == pytest.approx(0.3)
    assert m["auth_failure_ratio"] == {"canary": 0.1, "baseline": 0.0}
    assert m["failed_writes"] == {"canary": 1.0, "baseline": 0.0}
    assert m["latency_p95_ms"]["baseline"] == 38.0  # nearest rank: 38th of 1..40 ms
    assert m["latency_p99_ms"]["canary"] == 100.0
    assert m["queue_lag"] == {"canary": 12.5, "baseline": 0.0}
    # Much later (simulated and real), old traffic has left the window: no data, not zero.
    later = w.summary(1040.0 + 10 * WINDOW_SIM_S, 10_000.0, {})
    assert later["metrics"]["http_5xx_ratio"] == {"canary": None, "baseline": None}
