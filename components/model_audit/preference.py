"""Which model ships when the run trained an interpretable one beside the candidate (policy `prefer_interpretable`).

The candidate (the network) must earn its opacity: it ships only if its eval AUC beats the interpretable model's by
`within_auc`, judged on the point estimate or on the lower end of the gain's bootstrap interval (the same paired,
label-stratified resamples as the challenger check), and it passed its own audit. The interpretable model ships in
its place when it passed its audit and was blessed; when neither can, nothing ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from components.metrics import roc_auc
from components.model_audit.checks.bootstrap import bootstrap_interval
from components.model_audit.checks.result import Interval
from components.model_audit.policy import Bootstrap, PreferInterpretable

# What the audit's `ships` property says, and the Pushers read: the audited candidate, the interpretable model, none.
CANDIDATE, INTERPRETABLE, NOTHING = "candidate", "interpretable", "none"


@dataclass(frozen=True)
class Preference:
    ships: Literal["candidate", "interpretable", "none"]
    interpretable_kind: str
    candidate_auc: float
    interpretable_auc: float
    gain: float  # candidate AUC - interpretable AUC on the same eval examples
    gain_ci: Interval | None
    judged: float | None  # the figure compared with within_auc: the gain, or its interval's lower end
    beats: bool  # the candidate beats the interpretable model by the margin
    reason: str

    def details(self) -> dict:
        return {"ships": self.ships, "interpretable_kind": self.interpretable_kind,
                "candidate_auc": self.candidate_auc, "interpretable_auc": self.interpretable_auc,
                "gain": self.gain, "gain_ci": None if self.gain_ci is None else
                [self.gain_ci.lower, self.gain_ci.upper, self.gain_ci.confidence],
                "judged": self.judged, "beats_by_margin": self.beats, "reason": self.reason}


def prefer(labels: np.ndarray, candidate_scores: np.ndarray, interpretable_scores: np.ndarray,
           setting: PreferInterpretable, bootstrap: Bootstrap, *, kind: str, candidate_passes: bool,
           interpretable_passes: bool) -> Preference:
    """The decision of the module docstring, on both models' scores of the same labelled eval examples."""
    labels = np.asarray(labels).astype(int)
    candidate = np.asarray(candidate_scores, dtype=np.float64)
    interpretable = np.asarray(interpretable_scores, dtype=np.float64)
    candidate_auc, interpretable_auc = float(roc_auc(labels, candidate)), float(roc_auc(labels, interpretable))
    gain = candidate_auc - interpretable_auc
    interval = bootstrap_interval(lambda c, i: roc_auc(labels, c) - roc_auc(labels, i), (candidate, interpretable),
                                  labels, gain, bootstrap)
    judged = gain if setting.rule == "point" else (None if interval is None else interval.lower)
    beats = judged is not None and judged >= setting.within_auc
    figure = (f"the candidate's AUC {candidate_auc:.3f} against the {kind}'s {interpretable_auc:.3f}: gain "
              f"{gain:+.3f}" + (f", {interval.confidence:.0%} CI {interval.lower:+.3f} to {interval.upper:+.3f}"
                                if interval else ", no interval"))
    margin = f"{'lower CI bound' if setting.rule == 'ci_bound' else 'gain'} vs within_auc {setting.within_auc:g}"
    if candidate_passes and (beats or not interpretable_passes):
        ships = CANDIDATE
        why = (f"the candidate beats the {kind} by the margin ({margin})" if beats else
               f"the {kind} did not pass its own audit and blessing, so the candidate ships although it does not "
               f"beat it by the margin ({margin})")
    elif interpretable_passes:
        ships = INTERPRETABLE
        why = (f"the candidate does not beat the {kind} by the margin ({margin})" if candidate_passes else
               f"the candidate failed its audit; the {kind} passed its own")
    else:
        ships, why = NOTHING, f"neither the candidate nor the {kind} passed its audit and blessing"
    return Preference(ships, kind, candidate_auc, interpretable_auc, gain, interval, judged, beats,
                      f"{why}; {figure}")
