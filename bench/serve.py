"""`glassbox serve` over loopback HTTP, against the service a user would build instead.

Glassbox: `glassbox serve` on the pushed model of the run in `--output` (exact Shapley values against the Explainer's
background, reason codes, recourse for a decline, the privacy policy applied, and each decision committed to the
decision record before it is answered).

The peer: the same SavedModel behind a plain FastAPI route (`POST /predict`) that scores the applicant and explains it
with shap's KernelExplainer on the model's raw-feature predict function (rows -> tf.Examples -> `serving_default`),
with the same 50 background rows; with 9 features KernelExplainer enumerates all 510 coalitions, so its values are
exact Shapley values too, and the bench checks that both services give the same ones. No reasons, no recourse, no
record: the peer does less.

Measured, each service alone on the machine with this client (asyncio + httpx, one connection per client, every
count bounded): the latency of one decision, sequential requests of one applicant over a keep-alive connection (p50,
p99), then throughput at 1, 8 and 64 concurrent clients. Applicants are the embedded CSV's rows, personal data
included, as a client sends them.

    GLASSBOX_PSEUDONYM_KEY=<the run's key> python bench/serve.py --output outputs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "german_credit" / "german_credit_raw.csv"
INTEGERS = ("job", "credit_amount", "duration", "age")


def applicants() -> list:
    import pandas as pd

    raw = pd.read_csv(DATA, dtype=str, keep_default_na=False).drop(columns="risk")
    return [{k: (None if v == "" else int(v) if k in INTEGERS else v) for k, v in row.items()}
            for row in raw.to_dict("records")]


# -- the peer: FastAPI + shap, as a user would write it --------------------------------------------------------------

def peer_app(output: Path):
    import numpy as np
    import shap
    import tensorflow as tf
    from fastapi import FastAPI

    from components.explainer.explain import read_background_records
    from components.privacy.examples import example_to_row
    from pipeline.config import load_config
    from pipeline.serving.served import find_served

    served = find_served(load_config(output_dir=output))  # the model glassbox serves, and its Explainer's background
    with open(os.path.join(served.model_dir, "assets", "glassbox_feature_map.json")) as f:
        features = [entry["feature"] for entry in json.load(f)["features"]]
    background = [example_to_row(r) for r in read_background_records(served.explanations_uri)]
    constant = {k: v for k, v in background[0].items() if k not in features and k != "risk"}  # id, notes: unused
    predict_signature = tf.saved_model.load(served.model_dir).signatures["serving_default"]

    def feature(value) -> tf.train.Feature:
        if isinstance(value, (int, np.integer)):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
        if isinstance(value, (float, np.floating)):
            return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(value).encode()]))

    def predict(rows) -> np.ndarray:  # raw features -> probability: what KernelExplainer calls
        examples = [tf.train.Example(features=tf.train.Features(feature={
            k: feature(v) for k, v in {**constant, **dict(zip(features, row))}.items() if v is not None}))
            .SerializeToString() for row in rows]
        return predict_signature(examples=tf.constant(examples))["probability"].numpy().reshape(-1)

    rows = np.array([[r[k] for k in features] for r in background], dtype=object)
    app = FastAPI()

    @app.post("/predict")
    def explain(applicant: dict) -> dict:
        x = np.array([[applicant[k] for k in features]], dtype=object)
        explainer = shap.KernelExplainer(predict, rows)  # one per request: an explainer is not safe across threads
        values = explainer.shap_values(x, silent=True)
        return {"score": float(predict(x)[0]), "base_value": float(explainer.expected_value),
                "shap_values": dict(zip(features, map(float, np.asarray(values).reshape(-1))))}

    return app


# -- the client ------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, command: list, env: dict, log: Path):
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env},
                                            stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, url: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{url} exited:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit(f"{url} did not start within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def latencies(url: str, headers: dict, bodies: list, warmup: int = 10) -> tuple[list, list]:
    """Seconds per request, one at a time over one keep-alive connection; and the responses."""
    seconds, answers = [], []
    with httpx.Client(headers=headers, timeout=120) as client:
        for body in bodies[:warmup]:
            client.post(url, json=body).raise_for_status()
        for body in bodies:
            started = time.perf_counter()
            response = client.post(url, json=body)
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            answers.append(response.json())
    return seconds, answers


async def _throughput(url: str, headers: dict, bodies: list, clients: int) -> float:
    connections = [httpx.AsyncClient(headers=headers, timeout=600) for _ in range(clients)]
    pending = iter(bodies)

    async def client(connection):
        for body in pending:
            (await connection.post(url, json=body)).raise_for_status()

    try:
        for connection in connections:
            (await connection.post(url, json=bodies[0])).raise_for_status()  # connected and warm
        started = time.perf_counter()
        await asyncio.gather(*map(client, connections))
        return len(bodies) / (time.perf_counter() - started)
    finally:
        for connection in connections:
            await connection.aclose()


def throughput(url: str, headers: dict, bodies: list, clients: int) -> float:
    return asyncio.run(_throughput(url, headers, bodies, clients))


def metric(base: str, headers: dict, name: str) -> float:
    text = httpx.get(f"{base}/metrics", headers=headers, timeout=30).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def measure_glassbox(args, output: Path, scratch: Path, pool: list, levels: list, serving: dict, name: str) -> dict:
    """`glassbox serve` with `serving` settings on a fresh record: sequential latency, then throughput per level."""
    record = scratch / f"{name}.sqlite"
    config = scratch / f"{name}.yaml"
    config.write_text(json.dumps({"output_dir": str(output), "serving": {"decisions": str(record), **serving}}))
    token = secrets.token_hex(32)
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ours = Process([sys.executable, "-m", "pipeline.cli", "serve", "--config", str(config), "--port", str(port),
                    "--no-access-log"], {"GLASSBOX_SERVE_TOKEN": token}, scratch / f"{name}.log")
    try:
        ours.wait_ready(f"{base}/healthz")
        seconds, answers = latencies(f"{base}/v1/decisions", auth, pool[:args.requests])
        declines = sum(a["decision"] == "decline" for a in answers)
        result = {"p50": percentile(seconds, 0.5), "p99": percentile(seconds, 0.99), "n": len(seconds),
                  "declines": declines, "answers": answers}
        for clients in levels:
            calls = metric(base, auth, "glassbox_engine_calls_total")
            count = max(args.decisions, 4 * clients)
            bodies = [pool[i % len(pool)] for i in range(count)]
            rate = throughput(f"{base}/v1/decisions", auth, bodies, clients)
            calls = metric(base, auth, "glassbox_engine_calls_total") - calls
            result[clients] = (rate, (count + clients) / calls)
            print(f"{name}, {clients:2d} clients: {rate:6.0f} decisions/s, {(count + clients) / calls:.1f} "
                  f"applicants per engine call", flush=True)
        result["window"] = httpx.get(f"{base}/v1/monitoring", headers=auth, timeout=60).json().get("window") \
            if serving.get("monitoring", {}).get("enabled", True) else None
        return result
    finally:
        ours.stop()


def monitoring_ab(args, output: Path, scratch: Path, pool: list, levels: list, serving: dict) -> None:
    """The same load with live monitoring off and on, alternating `--rounds` times: the cost of watching."""
    runs: dict = {"off": [], "on": []}
    for round_ in range(args.rounds):
        for state in ("off", "on"):
            settings = {**serving, "monitoring": {"enabled": state == "on"}}
            runs[state].append(measure_glassbox(args, output, scratch, pool, levels, settings,
                                                f"monitoring-{state}-{round_}"))

    def median(state, key):
        values = sorted(r[key] if not isinstance(key, int) else r[key][0] for r in runs[state])
        return values[len(values) // 2]
    print()
    print(f"glassbox serve with live monitoring off and on ({args.rounds} alternating round(s), medians; "
          f"{args.requests} sequential requests, {args.decisions} per concurrency level)")
    print("| | p50 | p99 | " + " | ".join(f"{c} clients" for c in levels) + " |")
    print("|---" * (3 + len(levels)) + "|")
    for state in ("off", "on"):
        print(f"| monitoring {state} | {ms(median(state, 'p50'))} | {ms(median(state, 'p99'))} | "
              + " | ".join(f"{median(state, c):.0f}/s" for c in levels) + " |")
    print(f"| on / off | {median('on', 'p50') / median('off', 'p50'):.2f} | "
          f"{median('on', 'p99') / median('off', 'p99'):.2f} | "
          + " | ".join(f"{median('on', c) / median('off', c):.2f}" for c in levels) + " |")
    print("window after each 'on' run:", [r["window"] for r in runs["on"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPO / "outputs", help="the run whose pushed model is served")
    parser.add_argument("--requests", type=int, default=500, help="sequential requests for glassbox's latency")
    parser.add_argument("--decisions", type=int, default=1500, help="requests per concurrency level, glassbox")
    parser.add_argument("--peer-requests", type=int, default=30, help="sequential requests for the peer's latency")
    parser.add_argument("--peer-decisions", type=int, default=64, help="requests per concurrency level, the peer")
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--batch-wait-ms", type=float, help="serving.max_batch_wait_ms of glassbox serve")
    parser.add_argument("--no-peer", action="store_true", help="glassbox serve only")
    parser.add_argument("--monitoring-ab", action="store_true",
                        help="glassbox serve only, with live monitoring off and on (no peer)")
    parser.add_argument("--rounds", type=int, default=2, help="with --monitoring-ab: alternating rounds")
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)  # run the peer service itself
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        import uvicorn

        uvicorn.run(peer_app(args.output.resolve()), host="127.0.0.1", port=args.port, log_level="warning")
        return

    output = args.output.resolve()
    levels = [int(c) for c in args.clients.split(",")]
    pool = applicants()
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"glassbox-bench-serve-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    serving = {} if args.batch_wait_ms is None else {"max_batch_wait_ms": args.batch_wait_ms}
    results = {}
    if args.monitoring_ab:
        monitoring_ab(args, output, scratch, pool, levels, serving)
        shutil.rmtree(scratch, ignore_errors=True)
        return
    results["glassbox"] = measure_glassbox(args, output, scratch, pool, levels, serving, "glassbox")

    g = results["glassbox"]
    if args.no_peer:
        print(f"glassbox serve, latency of one decision ({g['n']} sequential requests, {g['declines']} declined): "
              f"p50 {ms(g['p50'])}, p99 {ms(g['p99'])}")
        shutil.rmtree(scratch, ignore_errors=True)
        return
    port = free_port()
    peer = Process([sys.executable, __file__, "--peer", "--output", str(output), "--port", str(port)], {},
                   scratch / "peer.log")
    try:
        peer.wait_ready(f"http://127.0.0.1:{port}/docs")
        seconds, answers = latencies(f"http://127.0.0.1:{port}/predict", {}, pool[:args.peer_requests], warmup=2)
        results["peer"] = {"p50": percentile(seconds, 0.5), "p99": percentile(seconds, 0.99), "n": len(seconds)}
        differences = [abs(ours_answer["attributions"]["values"][k] - v)
                       for ours_answer, answer in zip(results["glassbox"]["answers"], answers)
                       for k, v in answer["shap_values"].items()]
        score_differences = [abs(o["score"] - a["score"]) for o, a in zip(results["glassbox"]["answers"], answers)]
        for clients in levels:
            count = max(args.peer_decisions, clients)
            rate = throughput(f"http://127.0.0.1:{port}/predict", {}, [pool[i] for i in range(count)], clients)
            results["peer"][clients] = rate
            print(f"peer,     {clients:2d} clients: {rate:6.2f} decisions/s", flush=True)
    finally:
        peer.stop()

    p = results["peer"]
    print()
    print(f"Latency of one decision, sequential, loopback ({g['n']} requests to glassbox, {g['declines']} of them "
          f"declined; {p['n']} to the peer):")
    print("| | p50 | p99 |")
    print("|---|---|---|")
    print(f"| glassbox serve (exact Shapley, reasons, recourse, recorded) | {ms(g['p50'])} | {ms(g['p99'])} |")
    print(f"| FastAPI + shap KernelExplainer per request | {ms(p['p50'])} | {ms(p['p99'])} |")
    print(f"| ratio | {p['p50'] / g['p50']:.0f}x | {p['p99'] / g['p99']:.0f}x |")
    print()
    print("Throughput, decisions per second:")
    print("| clients | glassbox serve | applicants per engine call | FastAPI + shap | ratio |")
    print("|---|---|---|---|---|")
    for clients in levels:
        rate, per_call = g[clients]
        print(f"| {clients} | {rate:.0f} | {per_call:.1f} | {p[clients]:.2f} | {rate / p[clients]:.0f}x |")
    print()
    print(f"Same answers: max |score difference| {max(score_differences):.1e}, max |attribution difference| "
          f"{max(differences):.1e} over {len(score_differences)} applicants")
    shutil.rmtree(scratch, ignore_errors=True)  # the record and the services' logs; kept when a service failed


if __name__ == "__main__":
    main()
