"""Monitor executor: reads the span's and the training's artifacts, runs the monitoring checks, and writes
monitor.json and report.html with the alert counts in MLMD."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pandas as pd
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.artifacts import set_properties
from components.data_gate.component import contract_violations
from components.digests import directory_digest, seal_artifact
from components.files import split_statistics, write_json
from components.model_audit.checks.result import Evidence
from components.model_audit.inputs import judged_rows, labelled_predictions
from components.model_audit.policy import policy_from_json
from components.model_audit.report.html import write_report_html
from components.monitor import checks
from components.monitor.live import Baseline, method_attributions, span_statistics
from components.monitor.policy import monitor_policy_from_json
from components.monitor.report import monitor_report, render_monitor_html

MONITOR_FILE, REPORT_FILE = "monitor.json", "report.html"


def inference_scores(inference_uri: str) -> np.ndarray:
    """The predicted probability of every example in a BulkInferrer's PredictionLogs (gzipped TFRecords)."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    files = sorted(fileio.glob(os.path.join(inference_uri, "*.gz")))
    scores = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record)
        outputs = log.predict_log.response.outputs
        if len(outputs) != 1:
            raise ValueError(f"Monitor: a prediction log in {inference_uri} has outputs {sorted(outputs)}; one "
                             "probability was expected")
        scores.extend(tf.make_ndarray(next(iter(outputs.values()))).reshape(-1).tolist())
    return np.asarray(scores)


def _attributions(explanations) -> tuple[str, dict, pd.DataFrame]:
    """(primary method, its mean |attribution| per feature, its attribution rows) of an Explanations artifact."""
    method = explanations.get_string_custom_property("primary_method")
    return (method, *method_attributions(explanations.uri, method))


def span_columns(examples, names: List[str], batch_size: int = 10_000) -> Iterator[Dict[str, list]]:
    """The values of features `names` in the span (an Examples artifact of one split), a batch of examples at a
    time: feature -> the batch's values, missing ones left out."""
    import tensorflow as tf
    from tfx_bsl.coders import example_coder

    splits = artifact_utils.decode_split_names(examples.split_names)
    if len(splits) != 1:
        raise ValueError(f"Monitor: the span's examples have splits {splits}; the span must be one split.")
    files = sorted(fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], splits[0]), "*")))
    decoder = example_coder.ExamplesToRecordBatchDecoder()
    for records in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(batch_size).as_numpy_iterator():
        batch = decoder.DecodeBatch(list(records))
        yield {name: batch.column(batch.schema.get_field_index(name)).flatten().to_pylist()
               for name in names if name in batch.schema.names}


class Executor(BaseExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        policy = monitor_policy_from_json(exec_properties["policy"], source=exec_properties["policy_source"])
        audit_source = exec_properties.get("audit_policy_source") or ""
        audit_policy = (policy_from_json(exec_properties["audit_policy"], source=audit_source)
                        if exec_properties.get("audit_policy") else None)
        single = {key: artifact_utils.get_single_instance(artifacts) for key, artifacts in input_dict.items()}
        model, anomalies = single["model"], single["anomalies"]

        training_method, training_importance, training_rows = _attributions(single["baseline_explanations"])
        span_method, span_importance, span_rows = _attributions(single["explanations"])
        if span_method != training_method:
            raise ValueError(f"Monitor: the span is explained with {span_method}, the training with "
                             f"{training_method}; attributions of different methods cannot be compared.")
        span_scores = inference_scores(single["inference_result"].uri)
        # The performance and fairness checks on the span's examples that have a label, explained or not (outcomes
        # may have come for some decisions only).
        labelled, count = judged_rows(single["explanations"].uri, audit_policy.bootstrap.seed if audit_policy else 0)
        predictions = (labelled_predictions(labelled, exec_properties["decision_threshold"], count) if count
                       else None)

        # The span's values counted on the training histogram's buckets, as a live window counts its decisions.
        baseline = Baseline.from_scores(split_statistics(single["baseline_statistics"], "train"), training_importance,
                                        training_rows["prediction"].to_numpy(), policy)
        span = span_statistics(baseline, span_columns(single["examples"], [*baseline.numeric,
                                                                            *baseline.categorical]))
        results = [
            checks.schema_anomalies(policy.schema_anomalies, contract_violations(anomalies.uri, anomalies.split_names)),
            *checks.data_drift(baseline.statistics, span, baseline.features, policy.data_drift),
            checks.prediction_drift(policy.prediction_drift, training_rows["prediction"].to_numpy(), span_scores,
                                    policy.score_bins),
            *checks.attribution_drift(training_importance, span_importance, policy.attribution_drift),
            *(checks.span_checks(policy.audit_checks, audit_policy, predictions) if audit_policy else []),
        ]
        lineage = [Evidence(role=key, artifact_id=a.id, uri=a.uri, sha256=directory_digest(a.uri))
                   for key, a in sorted(single.items())]
        report = monitor_report(
            results, span={"examples": len(span_scores), "explained": len(span_rows), "labelled": count},
            policy={"source": exec_properties["policy_source"], "audit_source": audit_source or None}, lineage=lineage)

        out = artifact_utils.get_single_instance(output_dict["monitor_report"])
        importance_plot = Path(single["explanations"].uri, "plots", "global_importance.png")
        html = render_monitor_html(report, f"Monitoring of model {model.id}",
                                   importance_png=importance_plot.read_bytes() if importance_plot.exists() else None)
        write_json(os.path.join(out.uri, MONITOR_FILE), report)  # after rendering: a failure leaves no half report
        write_report_html(os.path.join(out.uri, REPORT_FILE), html)

        measured = {c["id"]: c["measured"] for c in report["checks"]}
        set_properties(out, {
            "watched_model_id": model.id, "alerts": len(report["alerts"]),
            "block_alerts": report["counts"]["block"], "warn_alerts": report["counts"]["warn"],
            "alert_checks": ",".join(a["id"] for a in report["alerts"]),
            "drifted_features": ",".join(report["drifted_features"]), "examples": len(span_scores),
            **{name: None if measured.get(check_id) is None else float(measured[check_id])
               for name, check_id in (("prediction_drift", "prediction_drift"),
                                      ("attribution_rank_correlation", "attribution_drift.rank"),
                                      ("span_auc", "overall_auc"))},
        })
        seal_artifact(out)
