"""Running the raw-data script and reading CSVs, shared by the fixtures and the data tests."""

import csv
import subprocess
import sys

from pipeline.config import REPO_ROOT

MAKE_RAW_DATA = REPO_ROOT / "scripts" / "make_raw_data.py"
SOURCE_CSV = REPO_ROOT / "data" / "source" / "german_credit.csv"
DEFAULT_POLICY = REPO_ROOT / "schemas" / "german_credit" / "privacy_policy.yaml"


def make_raw_data(out, *args: str) -> None:
    """Runs the script as a user would, so its command line is tested too."""
    subprocess.run([sys.executable, str(MAKE_RAW_DATA), "--out", str(out), *args], check=True)


def read_csv(path) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
