"""Replays CSV rows into a running `glassbox serve` as a client sends them: every row an applicant (the label column
left out, empty cells as null), POSTed to /v1/decisions in requests of --batch, the files one after the other. Prints
the live monitor's state as it goes and what is alerting at the end (README, "Live monitoring").

    GLASSBOX_SERVE_TOKEN=... python scripts/replay.py data/german_credit/german_credit_raw.csv:400 drifted.csv:600

`FILE:N` sends the file's first N rows. The token is read from $GLASSBOX_SERVE_TOKEN, never from the command line.
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx
import pandas as pd


def applicants(spec: str, label: str) -> list[dict]:
    path, _, count = spec.partition(":")
    rows = pd.read_csv(path, nrows=int(count) if count else None).drop(columns=[label], errors="ignore")
    # numbers as JSON numbers (an integral column stays integral), empty cells as null
    return [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in rows.to_dict("records")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="CSV files, FILE or FILE:N (its first N rows), sent in order")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--label", default="risk", help="the label column, left out of every applicant")
    parser.add_argument("--batch", type=int, default=50, help="applicants per request")
    args = parser.parse_args()
    token = os.environ.get("GLASSBOX_SERVE_TOKEN")
    if not token:
        print("replay: set GLASSBOX_SERVE_TOKEN to the service's bearer token", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for spec in args.files:
            items = applicants(spec, args.label)
            for start in range(0, len(items), args.batch):
                response = client.post("/v1/decisions", json=items[start:start + args.batch])
                if response.status_code != 200:
                    print(f"replay: {spec}, rows {start}-{start + args.batch - 1}: HTTP {response.status_code} "
                          f"{response.text[:300]}", file=sys.stderr)
                    return 1
            state = client.get("/v1/monitoring").json()
            window = state["window"]
            print(f"{spec}: {len(items)} decisions sent; window {window['count']}/{window['size']}, "
                  f"{window['observed']} seen, alerting: {', '.join(state['alerting']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
