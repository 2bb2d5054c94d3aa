"""Times the decision engine (pipeline/serving/engine.py) per decision, at batch sizes 1 and 64.

Loads the engine of the pushed model of the run in `--output` (make one with `glassbox run --output DIR`), then
decides the embedded CSV's applicants (raw rows, personal data included, as a client sends them): one at a time, an
approved applicant and a declined one separately (a decline also gets reason codes and a recourse search), and in
batches of 64 (about one in five declined). Each figure is the median over `--repeat` timed calls after one warm-up
call, in milliseconds per decision, with exact Shapley values, reasons and recourse as `decide` returns them.

    GLASSBOX_PSEUDONYM_KEY=... .venv/bin/python bench/engine.py --output outputs
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from pipeline.config import load_config
from pipeline.serving.engine import Engine

DATA = Path(__file__).resolve().parent.parent / "data" / "german_credit" / "german_credit_raw.csv"
INTEGERS = ("job", "credit_amount", "duration", "age")


def applicants() -> list:
    raw = pd.read_csv(DATA, dtype=str, keep_default_na=False).drop(columns="risk")
    return [{k: (None if v == "" else int(v) if k in INTEGERS else v) for k, v in row.items()}
            for row in raw.to_dict("records")]


def per_decision_ms(engine: Engine, items: list, repeat: int) -> float:
    engine.decide(items)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.decide(items)
        seconds.append(time.perf_counter() - started)
    return 1000 * statistics.median(seconds) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = Engine.from_store(load_config(output_dir=args.output))
    print(f"engine loaded in {time.perf_counter() - started:.2f} s (model {engine.served.model_id})")
    items = applicants()
    decisions = engine.decide(items[:256])
    approved = next(item for item, d in zip(items, decisions) if d["decision"] == "approve")
    declined = next(item for item, d in zip(items, decisions) if d["decision"] == "decline")
    declines = sum(d["decision"] == "decline" for d in decisions[:64])
    all_declined = ([item for item, d in zip(items, decisions) if d["decision"] == "decline"] * 64)[:64]
    for label, batch in ((" 1, approved", [approved]), (" 1, declined", [declined]),
                         (f"64, {declines} declined", items[:64]), ("64, all declined", all_declined)):
        print(f"batch {label:18s} {per_decision_ms(engine, batch, args.repeat):7.2f} ms per decision")

if __name__ == "__main__":
    main()
