"""`prefer_interpretable`: which model ships, both ways, on real bootstrap intervals of the paired AUC gain."""

from pathlib import Path

import numpy as np
import pytest

from components.model_audit.policy import AuditPolicyError, Bootstrap, PreferInterpretable, parse_policy
from components.model_audit.preference import CANDIDATE, INTERPRETABLE, NOTHING, prefer

BOOTSTRAP = Bootstrap(resamples=500, confidence=0.95, seed=7)
POLICY = Path(__file__).resolve().parents[3] / "schemas" / "german_credit" / "audit_policy.yaml"


def _scores(n=400, seed=0):
    """Labels, a strong candidate, a weak model and a near twin of the candidate."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    signal = labels + rng.normal(0, 0.8, n)
    strong = 1 / (1 + np.exp(-signal))
    weak = 1 / (1 + np.exp(-(labels + rng.normal(0, 2.5, n))))
    twin = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.05, n))))
    return labels, strong, weak, twin


def _prefer(labels, candidate, interpretable, rule="ci_bound", within=0.01, candidate_passes=True,
            interpretable_passes=True):
    return prefer(labels, candidate, interpretable, PreferInterpretable(within_auc=within, rule=rule), BOOTSTRAP,
                  kind="scorecard", candidate_passes=candidate_passes, interpretable_passes=interpretable_passes)


def test_a_candidate_that_clearly_beats_the_interpretable_model_ships():
    labels, strong, weak, _ = _scores()
    decision = _prefer(labels, strong, weak)
    assert decision.ships == CANDIDATE and decision.beats
    assert decision.gain_ci.lower >= 0.01 and decision.gain_ci.lower <= decision.gain <= decision.gain_ci.upper
    assert "beats the scorecard by the margin" in decision.reason


def test_a_candidate_within_the_margin_gives_way_to_the_interpretable_model():
    labels, strong, _, twin = _scores()
    decision = _prefer(labels, strong, twin)
    assert decision.ships == INTERPRETABLE and not decision.beats
    assert abs(decision.gain) < 0.01
    assert decision.reason.startswith("the candidate does not beat the scorecard by the margin (lower CI bound")
    assert decision.details()["ships"] == INTERPRETABLE


def test_the_rule_decides_a_gain_whose_interval_reaches_below_the_margin():
    labels, strong, weak, _ = _scores(n=120, seed=3)
    within = round(float(_prefer(labels, strong, weak).gain) - 0.01, 3)  # the point clears it, the CI does not
    point, bound = _prefer(labels, strong, weak, rule="point", within=within), _prefer(labels, strong, weak,
                                                                                      within=within)
    assert point.gain >= within > bound.gain_ci.lower
    assert point.ships == CANDIDATE and bound.ships == INTERPRETABLE


def test_audits_and_blessings_come_first():
    labels, strong, weak, twin = _scores()
    assert _prefer(labels, strong, weak, candidate_passes=False).ships == INTERPRETABLE
    assert _prefer(labels, strong, twin, interpretable_passes=False).ships == CANDIDATE
    assert _prefer(labels, strong, twin, candidate_passes=False, interpretable_passes=False).ships == NOTHING


def test_the_policy_option_is_validated():
    text = POLICY.read_text(encoding="utf-8")
    policy = parse_policy(text + "\nprefer_interpretable: {within_auc: 0.01}\n", source="p.yaml")
    assert policy.prefer_interpretable == PreferInterpretable(within_auc=0.01, rule="ci_bound")
    with pytest.raises(AuditPolicyError, match=r"^p.yaml: field 'prefer_interpretable.within_auc': required but"):
        parse_policy(text + "\nprefer_interpretable: {within: 0.01}\n", source="p.yaml")
