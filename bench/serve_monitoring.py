"""Live monitoring's cost per decision and its memory, after 10,000 and 1,000,000 simulated decisions.

A window (components/monitor/live.py) over the last N decisions is fed the embedded German-credit rows in a loop,
with seeded scores and attributions, against TFDV statistics of the first 700 rows. Printed: the time to add one
decision (running counts: O(features)), the time to judge the window (the Monitor's check functions on the counts),
the window's array memory and the process's resident memory after 10,000 and after 1,000,000 decisions; and, as the
peer, what a rescan costs instead: TFDV statistics of the window's rows (what the batch Monitor computes per span)
plus the same checks.

    .venv/bin/python bench/serve_monitoring.py [--window 300] [--decisions 10000 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from components.monitor import checks
from components.monitor.live import Baseline, Crossings, Window
from components.monitor.policy import load_monitor_policy
from pipeline.config import REPO_ROOT

FEATURES = ["age", "checking_account", "credit_amount", "duration", "housing", "job", "purpose", "saving_accounts",
            "sex"]


def resident_mib() -> float:
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=300)
    parser.add_argument("--decisions", type=int, nargs="+", default=[10_000, 1_000_000])
    args = parser.parse_args(argv)
    import tensorflow_data_validation as tfdv

    policy = load_monitor_policy(REPO_ROOT / "schemas" / "german_credit" / "monitor_policy.yaml")
    rows = pd.read_csv(REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv")[FEATURES]
    rng = np.random.default_rng(0)
    scores = rng.beta(5, 2, len(rows))
    attributions = pd.DataFrame(rng.normal(0, 0.1, (len(rows), len(FEATURES))), columns=FEATURES)
    baseline = Baseline.from_scores(tfdv.generate_statistics_from_dataframe(rows[:700]),
                                    attributions[:700].abs().mean().to_dict(), scores[:700], policy)
    records = rows.to_dict("records")
    attribution_records = attributions.to_dict("records")

    window, crossings = Window(baseline, args.window), Crossings(args.window)
    print(f"window of {args.window} decisions, {len(FEATURES)} features "
          f"({len(baseline.numeric)} numeric, {len(baseline.categorical)} categorical); Python, one core")
    print(f"resident memory before: {resident_mib():.1f} MiB; window arrays {window.memory_bytes() / 1024:.1f} KiB")
    done, add_seconds = 0, 0.0
    for target in sorted(args.decisions):
        start = time.perf_counter()
        while done < target:
            i = done % len(records)
            window.add(records[i], scores[i], attribution_records[i], at=float(done))
            done += 1
        add_seconds += time.perf_counter() - start
        judge = []
        for _ in range(20):
            start = time.perf_counter()
            crossings.update(window, window.results())
            judge.append(time.perf_counter() - start)
        print(f"after {done:>9,} decisions: add {add_seconds / done * 1e6:6.1f} us/decision (mean), judge "
              f"{np.median(judge) * 1e3:5.2f} ms/window (median of 20), window arrays "
              f"{window.memory_bytes() / 1024:.1f} KiB, resident {resident_mib():.1f} MiB")

    window_rows = pd.DataFrame([records[(done - args.window + k) % len(records)] for k in range(args.window)])
    rescans = []
    for _ in range(5):
        start = time.perf_counter()
        statistics = tfdv.generate_statistics_from_dataframe(window_rows)
        checks.data_drift(baseline.statistics, statistics, baseline.features, policy.data_drift)
        rescans.append(time.perf_counter() - start)
    incremental = add_seconds / done
    print(f"peer, a rescan of the window (TFDV statistics of {args.window} rows + data_drift): "
          f"{np.median(rescans) * 1e3:.1f} ms, {np.median(rescans) / incremental:,.0f}x one incremental add")


if __name__ == "__main__":
    main()
