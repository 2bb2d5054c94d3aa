"""Writes the two CSVs that `glassbox init` is shown and tested on: new data, no code changes.

breast_cancer: scikit-learn's bundled Wisconsin diagnostic data (no download), 569 rows of 30 numeric
  measurements (names with underscores for spaces) and the label `benign` (1 = benign, 0 = malignant).
mixed: seeded synthetic loan applications: numeric (`age`, `income`, `debt_ratio`), categorical (`region`,
  `employment`, `sex`), missing values in three columns, an identifier `application_id`, a free-text `notes`
  column in which some rows hold an email or a phone number, and the label `decision` (approved / denied).
  The label follows a known logistic model: income and debt ratio weigh most, employment next, age a little,
  region and sex not at all; a model that learns it reaches an AUC near 0.85, chance is 0.5.

    python scripts/make_onboarding_data.py [--out-dir data]   # data/breast_cancer/*.csv, data/mixed/*.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

REPO_ROOT = Path(__file__).resolve().parent.parent
EMPLOYMENT_EFFECT = {"employed": 0.8, "self_employed": 0.3, "student": -0.4, "unemployed": -1.2}


def breast_cancer() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda name: name.replace(" ", "_"))
    frame["benign"] = data.target  # scikit-learn's target: 1 = benign
    return frame


def mixed(rows: int = 1000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 76, rows)
    income = np.round(rng.lognormal(10.5, 0.5, rows), 2)
    debt_ratio = np.round(rng.beta(2, 5, rows), 3)
    employment = rng.choice(list(EMPLOYMENT_EFFECT), rows, p=[0.6, 0.15, 0.1, 0.15])
    logit = (1.6 * (np.log(income) - 10.5) / 0.5 - 2.5 * (debt_ratio - 0.29) / 0.16 / 2
             + np.vectorize(EMPLOYMENT_EFFECT.get)(employment) + 0.01 * (age - 45))
    approved = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "application_id": [f"A{seed:02d}-{i:06d}" for i in range(rows)],
        "age": age,
        "income": income.astype(object),
        "debt_ratio": debt_ratio.astype(object),
        "region": rng.choice(["north", "south", "east", "west"], rows).astype(object),
        "employment": employment,
        "sex": rng.choice(["female", "male"], rows),
        "notes": [_note(rng, i) for i in range(rows)],
        "decision": np.where(approved, "approved", "denied"),
    })
    # Values go missing at random, independent of the label.
    for column, rate in (("income", 0.05), ("debt_ratio", 0.03), ("region", 0.08)):
        frame.loc[rng.random(rows) < rate, column] = None
    return frame


NOTE_OPENINGS = ["Customer called about the application", "Applicant asked for a faster decision",
                 "Documents received by post", "Follow-up requested by the branch", "Applicant updated the address"]
NOTE_DETAILS = ["and will send the payslips next week", "after the first review", "with two attachments",
                "before the end of the month", "and prefers contact in the morning"]


def _note(rng: np.random.Generator, index: int) -> str:
    text = f"{rng.choice(NOTE_OPENINGS)} {rng.choice(NOTE_DETAILS)} (case {index})."
    draw = rng.random()
    if draw < 0.06:
        text += f" Reply to applicant{index}@example.org."
    elif draw < 0.10:
        text += f" Call back on +49 30 {rng.integers(1000000, 9999999)}."
    return text


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "data")
    args = parser.parse_args()
    for path in (write(breast_cancer(), args.out_dir / "breast_cancer" / "breast_cancer.csv"),
                 write(mixed(), args.out_dir / "mixed" / "applications.csv")):
        print(f"Wrote {path}")


if __name__ == "__main__":
    main()
