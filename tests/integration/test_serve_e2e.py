"""`glassbox serve` as it runs in production: a `python -m pipeline.cli serve` process on the session run's pushed model
(the real engine, TensorFlow, MLMD and a SQLite decision record), spoken to over loopback HTTP with httpx. Tokens,
limits and bad input are refused and record nothing; decisions round-trip through the record; /metrics counts them;
concurrent requests share engine calls; and a service killed with SIGKILL under load loses no acknowledged decision."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from pipeline.config import REPO_ROOT
from pipeline.serving.app import TOKEN_ENV
from pipeline.serving.store import open_store
from tests.helpers import GERMAN_CREDIT_CSV, _free_port

pytestmark = pytest.mark.e2e

TOKEN = "e2e-token-" + "0123456789abcdef" * 2
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INTEGERS = ("job", "credit_amount", "duration", "age")
PII = ("applicant_name", "email", "phone", "iban", "street_address", "date_of_birth")


def applicants() -> list:
    """The embedded CSV's rows as a client sends them: JSON values, personal data included, no label."""
    raw = pd.read_csv(GERMAN_CREDIT_CSV, dtype=str, keep_default_na=False).drop(columns="risk")
    return [{k: (None if v == "" else int(v) if k in INTEGERS else v) for k, v in row.items()}
            for row in raw.to_dict("records")]


class Service:
    """A `glassbox serve` process on a free loopback port, its output in a log file."""

    def __init__(self, config_file: Path, log: Path, access_log: bool = False):
        self.config_file, self.log, self.port = config_file, log, _free_port()
        self.access_log = access_log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> Service:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), TOKEN_ENV: TOKEN}
        command = [sys.executable, "-m", "pipeline.cli", "serve", "--config", str(self.config_file), "--port",
                   str(self.port), *([] if self.access_log else ["--no-access-log"])]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"glassbox serve did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops it: uvicorn drains, then exits."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.kill()

    def metric(self, sample: str) -> float:
        text = httpx.get(f"{self.url}/metrics", headers=AUTH, timeout=10).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample + " "))


def serve_config(run_config, directory: Path, name: str) -> Path:
    """A config for the session run's stores, with a decision record of the test's own."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"output_dir": str(run_config.output_dir),
                                    "serving": {"decisions": f"{name}.sqlite"}}))
    return path


def recorded(path: Path) -> int:
    with open_store(path) as store:
        return store.head()[0]


@pytest.fixture(scope="module")
def service(pipeline_run, tmp_path_factory):
    config, _ = pipeline_run
    directory = tmp_path_factory.mktemp("serve")
    running = Service(serve_config(config, directory, "routes"), directory / "routes.log", access_log=True).start()
    running.record = directory / "routes.sqlite"
    try:
        yield running
    finally:
        if running.process.poll() is None:
            code = running.stop()
            assert code in (0, -signal.SIGTERM), running.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def decided(client):
    """(an approved applicant's response, a declined one's, the items sent): the first 16 rows, in one request."""
    items = applicants()[:16]
    response = client.post("/v1/decisions", json=items)
    assert response.status_code == 200, response.text
    answers = response.json()
    approved = next(a for a in answers if a["decision"] == "approve")
    declined = next(a for a in answers if a["decision"] == "decline")
    return approved, declined, items, answers


def test_every_route_but_healthz_needs_the_token_and_a_refused_request_records_nothing(service, decided):
    before = recorded(service.record)
    item = applicants()[0]
    routes = [("POST", "/v1/decisions", item), ("POST", "/v1/decisions", [item, item]),
              ("GET", f"/v1/decisions/{decided[0]['decision_id']}", None), ("GET", "/metrics", None),
              ("GET", "/v1/model", None), ("GET", "/docs", None), ("GET", "/openapi.json", None)]
    for headers in ({}, {"Authorization": "Bearer wrong-" + TOKEN}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}):
        for method, path, body in routes:
            response = httpx.request(method, service.url + path, json=body, headers=headers, timeout=30)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in response.text
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    assert recorded(service.record) == before
    docs = httpx.get(f"{service.url}/docs", headers=AUTH)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = httpx.get(f"{service.url}/openapi.json", headers=AUTH).json()["paths"]
    assert {"/v1/decisions", "/v1/decisions/{decision_id}", "/healthz", "/metrics"} <= set(paths)


def test_bad_requests_are_refused_with_the_field_named_and_record_nothing(service, client, decided):
    before = recorded(service.record)
    item = applicants()[1]

    def refused(status, **request):
        response = client.post("/v1/decisions", **request)
        assert response.status_code == status, response.text
        for column in PII:  # an error never echoes what was sent
            assert not item[column] or item[column] not in response.text
        return response.json()["detail"]

    too_big = json.dumps([item] * 3000).encode()
    assert len(too_big) > 1 << 20
    assert "larger than 1048576 bytes" in refused(413, content=too_big)
    assert "larger than 1048576 bytes" in refused(413, content=(too_big[i:i + 65536]
                                                                for i in range(0, len(too_big), 65536)))  # chunked
    assert "at most 256" in refused(413, json=[item] * 257)
    assert refused(400, content=b'{"duration": 12,').startswith("The request body is not valid JSON: ")
    assert refused(400, content=b'{"duration": NaN}') == "The request body is not valid JSON: NaN is not a JSON value."
    assert refused(400, content=b'{"sex": "\xff"}') == "The request body is not UTF-8 text (byte 9)."
    [wrong] = refused(422, json={**item, "duration": "twelve"})
    assert wrong["loc"] == ["body", "duration"] and wrong["msg"].startswith("field 'duration': ")
    [missing] = refused(422, json=[item, {k: v for k, v in item.items() if k != "checking_account"}])
    assert missing["loc"] == ["body", 1, "checking_account"] and "item 1, field 'checking_account'" in missing["msg"]
    [unknown] = refused(422, json={**item, "income": 5000})
    assert unknown["loc"] == ["body", "income"]
    [label] = refused(422, json={**item, "risk": 1})
    assert label["loc"] == ["body", "risk"]
    [shape] = refused(422, json=[item, "applicant"])
    assert shape["loc"] == ["body", 1] and "not a string" in shape["msg"]
    assert "not a number" in refused(422, json=42)[0]["msg"]
    assert "empty" in refused(422, json=[])[0]["msg"]
    assert recorded(service.record) == before
    # ... and the service goes on serving.
    response = client.post("/v1/decisions", json=item)
    assert response.status_code == 200 and recorded(service.record) == before + 1


def test_a_decision_is_returned_as_recorded_and_read_back(service, client, decided):
    approved, declined, items, answers = decided
    for answer in answers:
        assert {"decision_id", "recorded_at", "score", "decision", "threshold", "reasons", "attributions", "recourse",
                "inputs", "model", "policies"} <= set(answer)
    assert approved["reasons"] == [] and approved["recourse"] == [] and approved["score"] >= approved["threshold"]
    assert declined["reasons"] and declined["score"] < declined["threshold"]
    total = declined["attributions"]["base_value"] + sum(declined["attributions"]["values"].values())
    assert total == pytest.approx(declined["score"], abs=1e-6)
    text = json.dumps(answers)
    for item in items:
        for column in PII:
            assert not item[column] or item[column] not in text, column
    for answer in (approved, declined):
        response = client.get(f"/v1/decisions/{answer['decision_id']}")
        assert response.status_code == 200
        record = response.json()
        payload = {k: v for k, v in answer.items() if k not in ("decision_id", "recorded_at")}
        assert record["id"] == answer["decision_id"] and record["time"] == answer["recorded_at"]
        assert record["payload"] == payload
        assert record["model_id"] == answer["model"]["artifact_id"] and record["model_sha256"] == answer["model"][
            "sha256"]
    notice = client.get(f"/v1/decisions/{declined['decision_id']}").json()["notice"]
    assert "Your application was declined." in notice and declined["reasons"][0] in notice
    # One request, one transaction: the 16 decisions are consecutive in the chain.
    seqs = [client.get(f"/v1/decisions/{a['decision_id']}").json()["seq"] for a in answers]
    assert seqs == list(range(seqs[0], seqs[0] + 16))
    for unknown in ("0" * 32, "not-an-id"):
        response = client.get(f"/v1/decisions/{unknown}")
        assert response.status_code == 404 and response.json()["detail"].startswith(f"No decision {unknown}")
    model = client.get("/v1/model").json()
    assert model["model"] == declined["model"] and "duration" in model["fields"]
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "decisions", "show", declined["decision_id"],
                           "--config", str(service.config_file)], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Decision {declined['decision_id']}" in done.stdout and "Your application was declined." in done.stdout
    log = service.log.read_text()  # the service's own output: access lines, never a request's values
    assert 'POST /v1/decisions HTTP/1.1" 200' in log
    for item in items:
        for column in (*PII, "notes"):
            assert not item[column] or item[column] not in log, column


async def _concurrently(url: str, bodies: list, clients: int) -> list:
    """Sends `bodies` over `clients` connections at once; returns the responses in order."""
    connections = [httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60) for _ in range(clients)]
    try:
        for connection in connections:  # connected before the burst, so that the requests arrive together
            await connection.get("/healthz")
        return await asyncio.gather(*(connections[n % clients].post("/v1/decisions", json=body)
                                      for n, body in enumerate(bodies)))
    finally:
        for connection in connections:
            await connection.aclose()


def test_concurrent_requests_share_engine_calls(service):
    calls = service.metric("glassbox_engine_calls_total")
    before = recorded(service.record)
    items = applicants()[100:132]
    responses = asyncio.run(_concurrently(service.url, items, clients=32))
    assert [r.status_code for r in responses] == [200] * 32
    assert [r.json()["inputs"]["duration"] for r in responses] == [item["duration"] for item in items]
    engine_calls = service.metric("glassbox_engine_calls_total") - calls
    assert engine_calls <= 16, engine_calls  # 32 requests, a fraction as many model calls
    assert recorded(service.record) == before + 32


def test_metrics_count_requests_latency_and_outcomes(service, client, decided):
    client.post("/v1/decisions", content=b"{")
    httpx.get(f"{service.url}/metrics")
    text = client.get("/metrics").text
    assert text.endswith("\n")
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert float(samples['glassbox_http_requests_total{route="/v1/decisions",method="POST",status="200"}']) >= 1
    assert float(samples['glassbox_http_requests_total{route="/v1/decisions",method="POST",status="400"}']) >= 1
    assert float(samples['glassbox_http_requests_total{route="/metrics",method="GET",status="401"}']) >= 1
    assert float(samples['glassbox_http_request_duration_seconds_count{route="/v1/decisions"}']) >= 2
    assert samples['glassbox_http_request_duration_seconds_bucket{route="/v1/decisions",le="+Inf"}'] == samples[
        'glassbox_http_request_duration_seconds_count{route="/v1/decisions"}']
    decisions = {d: float(samples.get(f'glassbox_decisions_total{{decision="{d}"}}', 0)) for d in ("approve",
                                                                                                   "decline")}
    assert decisions["approve"] >= 1 and decisions["decline"] >= 1
    assert sum(decisions.values()) == recorded(service.record)  # every recorded decision, nothing refused
    model = decided[0]["model"]
    assert samples[f'glassbox_model_info{{artifact_id="{model["artifact_id"]}",sha256="{model["sha256"]}"}}'] == "1"
    assert not any("/v1/decisions/" in key and "{decision_id}" not in key for key in samples)  # no id as a label


# -- reliability ----------------------------------------------------------------------------------------------------

DECISIONS = 4_000  # in all, over both lives of the service
KILL_AFTER = 1_500  # acknowledged decisions before the SIGKILL
CLIENTS = 32
SIZES = (1, 1, 1, 2, 4, 8)  # applicants per request, in turn: 2.8 on average


async def _load(url: str, pool: list, target: int, on_ack=None, deadline: float = 0) -> tuple[list, int]:
    """CLIENTS connections send requests (sizes in turn) until `target` decisions were acknowledged or the service
    went away; returns (the acknowledged ids, requests that got no answer). Any answer but 200 fails the test."""
    acknowledged: list = []
    unanswered, sent = 0, [0]
    connections = [httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60) for _ in range(CLIENTS)]

    async def client(connection, n):
        nonlocal unanswered
        while sent[0] < target and time.monotonic() < deadline:
            size = SIZES[n % len(SIZES)]
            n += CLIENTS
            start = sent[0] % (len(pool) - size)
            sent[0] += size
            try:
                response = await connection.post("/v1/decisions", json=pool[start:start + size])
            except httpx.TransportError:
                unanswered += 1
                return
            assert response.status_code == 200, response.text
            acknowledged.extend(answer["decision_id"] for answer in response.json())
            if on_ack is not None:
                on_ack(len(acknowledged))

    try:
        await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
    finally:
        for connection in connections:
            await connection.aclose()
    return acknowledged, unanswered


def _verify(config_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "decisions", "verify", "--config", str(config_file)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def test_no_acknowledged_decision_is_lost_when_the_service_is_killed_under_load(pipeline_run, tmp_path):
    """4,000 decisions from 32 concurrent clients; SIGKILL after 1,500 were acknowledged, with requests in flight.
    Every acknowledged id is in the record exactly once, the chain verifies, and the restarted service carries on."""
    config, _ = pipeline_run
    config_file = serve_config(config, tmp_path, "reliability")
    record = tmp_path / "reliability.sqlite"
    pool = applicants()
    deadline = time.monotonic() + 600
    first = Service(config_file, tmp_path / "service.log").start()

    def kill_at(count):
        if count >= KILL_AFTER and not killing:  # 10 ms on: mid-batch, requests in flight in every stage
            killing.append(asyncio.get_running_loop().call_later(0.01, first.kill))

    killing: list = []

    try:
        before_kill, unanswered = asyncio.run(_load(first.url, pool, DECISIONS, kill_at, deadline))
    finally:
        first.kill()
    assert first.process.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(before_kill) < DECISIONS and unanswered >= 1, (len(before_kill), unanswered)

    with open_store(record) as store:
        ids = [r.id for r in store.records()]
        assert store.verify() == []
    assert len(ids) == len(set(ids))  # none twice
    assert set(before_kill) <= set(ids), len(set(before_kill) - set(ids))  # none lost
    in_flight_committed = len(ids) - len(before_kill)  # committed when the kill came, but never acknowledged

    second = Service(config_file, tmp_path / "service.log").start()
    try:
        after_restart, unanswered = asyncio.run(_load(second.url, pool, DECISIONS - len(before_kill),
                                                      deadline=deadline))
        assert unanswered == 0 and len(before_kill) + len(after_restart) >= DECISIONS
        assert httpx.get(f"{second.url}/v1/decisions/{before_kill[0]}", headers=AUTH).status_code == 200
    finally:
        assert second.stop() in (0, -signal.SIGTERM)
    done = _verify(config_file)
    assert done.returncode == 0, done.stdout + done.stderr
    with open_store(record) as store:
        ids = [r.id for r in store.records()]
    acknowledged = before_kill + after_restart
    assert len(ids) == len(set(ids)) == len(acknowledged) + in_flight_committed
    assert set(acknowledged) <= set(ids)
    assert f"{len(ids)} record(s), chain intact" in done.stdout
    print(f"reliability: {len(acknowledged)} decisions acknowledged ({len(before_kill)} before SIGKILL), "
          f"{in_flight_committed} committed in flight without an answer, {len(ids)} in the record, chain intact")
