"""ModelAudit executor: gathers the evidence from the input artifacts, runs the policy's checks,
and writes audit.json, model_card.json and report.html with the verdict in MLMD."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.artifacts import set_properties
from components.digests import seal_artifact
from components.explainer.model import SCORECARD_ASSET
from components.model_audit.audit import run_checks
from components.model_audit.evidence import gather
from components.model_audit.image_evidence import report_figures, sensitivity_figures
from components.model_audit.policy import policy_from_json
from components.model_audit.report.audit_json import AUDIT_FILE, audit_report, write_audit_json
from components.model_audit.report.charts import fairness_charts, surrogate_tree_chart
from components.model_audit.report.html import render_html, write_report_html
from components.model_audit.report.model_card import model_card_json, write_model_card

MODEL_CARD_FILE, REPORT_FILE = "model_card.json", "report.html"


def read_scorecard(model_dir: str) -> dict | None:
    """A scorecard model's table (its asset, explainer/model.py's SCORECARD_ASSET), None for any other model."""
    path = os.path.join(model_dir, "assets", SCORECARD_ASSET)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.load(f)


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
        challengers = inputs.challengers

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
                           scorecard=read_scorecard(path_utils.serving_model_path(model.uri)))
        write_audit_json(os.path.join(out.uri, AUDIT_FILE), report)
        write_model_card(os.path.join(out.uri, MODEL_CARD_FILE), card)
        write_report_html(os.path.join(out.uri, REPORT_FILE), html)

        set_properties(out, {
            "verdict": report["verdict"], "blocking_failures": len(report["blocking_failures"]),
            "blocking_checks": ",".join(report["blocking_failures"]), "policy_digest": report["policy"]["digest"],
            "audited_model_id": model.id,
            "best_challenger": challengers and challengers.best,
            "challenger_auc_gain": challengers and challengers.gain,
            "surrogate_agreement": challengers and challengers.surrogate_agreement,
        })
        seal_artifact(out)
