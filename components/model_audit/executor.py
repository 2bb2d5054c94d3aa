"""ModelAudit executor: gathers the evidence from the input artifacts, runs the policy's checks,
and writes audit.json, model_card.json and report.html with the verdict in MLMD."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.artifacts import set_properties
from components.digests import seal_artifact
from components.explainer.model import read_table
from components.model_audit.audit import run_checks
from components.model_audit.evidence import gather
from components.model_audit.image_evidence import report_figures, sensitivity_figures
from components.model_audit.policy import policy_from_json
from components.model_audit.preference import CANDIDATE, INTERPRETABLE, NOTHING, Preference, prefer
from components.model_audit.report.audit_json import AUDIT_FILE, audit_report, to_json_value, write_audit_json
from components.model_audit.report.charts import fairness_charts, surrogate_tree_chart
from components.model_audit.report.html import render_html, write_report_html
from components.model_audit.report.model_card import model_card_json, write_model_card

MODEL_CARD_FILE, REPORT_FILE = "model_card.json", "report.html"


def shipping_choice(policy, inputs, candidate_passes: bool) -> Preference | None:
    """Under `prefer_interpretable`, with an interpretable model beside the candidate: which of the two ships."""
    if policy.prefer_interpretable is None or inputs.interpretable is None or inputs.predictions is None:
        return None
    interpretable = inputs.interpretable
    return prefer(inputs.predictions.labels, inputs.predictions.scores, interpretable.scores,
                  policy.prefer_interpretable, policy.bootstrap, kind=interpretable.kind,
                  candidate_passes=candidate_passes, interpretable_passes=interpretable.passes)


class Executor(BaseExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        policy = policy_from_json(exec_properties["policy"], source=exec_properties["policy_source"])
        model = artifact_utils.get_single_instance(input_dict["model"])
        explanations = artifact_utils.get_single_instance(input_dict["explanations"])
        out = artifact_utils.get_single_instance(output_dict["audit_report"])

        inputs, lineage = gather(input_dict, exec_properties, policy)
        report = audit_report(run_checks(policy, inputs), policy, lineage=lineage)
        if inputs.predictions is not None:
            report["eval_examples"] = {"judged": len(inputs.predictions.labels),
                                       "labelled": inputs.predictions.labelled_in_split}
        challengers = inputs.challengers
        blessing = artifact_utils.get_single_instance(input_dict["blessing"])
        candidate_passes = report["verdict"] == "pass" and blessing.get_int_custom_property("blessed") == 1
        preference = shipping_choice(policy, inputs, candidate_passes)
        if preference is not None:
            report["preference"] = to_json_value(preference.details())

        # Everything is rendered before the first file is written: a failure leaves no half report.
        charts = fairness_charts(report)
        importance_plot = Path(explanations.uri, "plots", "global_importance.png")
        image = explanations.get_string_custom_property("modality") == "image"
        card = model_card_json(json.loads(exec_properties["model_card"]), report,
                               version=f"model artifact {model.id}", graphics=charts)
        html = render_html(report, charts, importance_plot.read_bytes() if importance_plot.exists() else None,
                           title=f"Audit of model {model.id}",
                           figures=report_figures(explanations.uri) if image else sensitivity_figures(explanations.uri),
                           surrogate_png=None if challengers is None else surrogate_tree_chart(challengers),
                           table=read_table(path_utils.serving_model_path(model.uri)))
        write_audit_json(os.path.join(out.uri, AUDIT_FILE), report)
        write_model_card(os.path.join(out.uri, MODEL_CARD_FILE), card)
        write_report_html(os.path.join(out.uri, REPORT_FILE), html)

        set_properties(out, {
            "verdict": report["verdict"], "blocking_failures": len(report["blocking_failures"]),
            "blocking_checks": ",".join(report["blocking_failures"]), "policy_digest": report["policy"]["digest"],
            # Block checks too little evidence decided, which the policy lets pass (inconclusive_blocks: false).
            "undecided_blocking_checks": ",".join(
                c["id"] for c in report["checks"]
                if c["severity"] == "block" and c["status"] == "inconclusive" and c["id"] not in report[
                    "blocking_failures"]),
            "audited_model_id": model.id,
            "best_challenger": challengers and challengers.best,
            "challenger_auc_gain": challengers and challengers.gain,
            "surrogate_agreement": challengers and challengers.surrogate_agreement,
            "ships": preference.ships if preference else (CANDIDATE if report["verdict"] == "pass" else NOTHING),
            "shipped_model_id": preference and {CANDIDATE: model.id, INTERPRETABLE: inputs.interpretable.model_id,
                                                NOTHING: None}[preference.ships],
            "preference_reason": preference and preference.reason,
        })
        seal_artifact(out)
