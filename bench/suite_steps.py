"""Where the test suite's pipeline time goes: every step's wall time, added up per component over every SQLite store
that a test session left behind, and the runs that took longest.

    python bench/suite_steps.py PYTEST_BASETEMP      # e.g. .rootfs/trixie/tmp/pytest-of-root/pytest-0 after CI

A store copied from another (`tests.helpers.copy_of_store`) repeats its source's executions; an execution is counted
once, by its component type and its start and end times. Runs on MariaDB or PostgreSQL, and the Kubeflow task test's
processes, keep no SQLite store and are not in these sums.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import Counter
from pathlib import Path

STEPS = ("SELECT t.name, e.create_time_since_epoch, e.last_update_time_since_epoch "
         "FROM Execution e JOIN Type t ON e.type_id = t.id")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("basetemp", type=Path)
    parser.add_argument("--runs", type=int, default=12, help="how many of the longest runs to list")
    args = parser.parse_args(argv)
    seconds, count, per_store, seen = Counter(), Counter(), Counter(), set()
    for store_path in sorted(args.basetemp.rglob("metadata.sqlite")):
        try:
            rows = sqlite3.connect(store_path).execute(STEPS).fetchall()
        except sqlite3.DatabaseError:  # not an MLMD store, or one a test left half-written on purpose
            continue
        for kind, started, ended in rows:
            if (kind, started, ended) in seen:
                continue
            seen.add((kind, started, ended))
            component = kind.rsplit(".", 1)[-1]
            seconds[component] += (ended - started) / 1000
            count[component] += 1
            per_store[store_path.parent.relative_to(args.basetemp)] += (ended - started) / 1000
    print(f"{sum(seconds.values()):,.0f} s of steps in {len(per_store)} stores under {args.basetemp}\n")
    print("| component | seconds | executions | seconds each |\n|---|---:|---:|---:|")
    for component, total in seconds.most_common():
        if total >= 0.5:
            print(f"| {component} | {total:,.1f} | {count[component]} | {total / count[component]:.1f} |")
    print(f"\n| store (longest {args.runs}) | seconds |\n|---|---:|")
    for store, total in per_store.most_common(args.runs):
        print(f"| {store} | {total:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
