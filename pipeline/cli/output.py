"""What the terminal shows of a pipeline run: progress lines while its chatter goes to a log file, then a summary;
and the table of checks that an audit and a monitoring run both print."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.cli.errors import RunError


@contextlib.contextmanager
def logged(config, kind: str, what: str) -> Iterator[Path]:
    """Sends everything but `print` to a new log file, outputs/logs/KIND-TIMESTAMP.log, and yields its path. An error
    inside leaves as RunError naming the log, unless it is the store's or the lineage's own: the store is busy or
    missing, the model asked for is not in it, no decision is in the window asked for, or the decision record
    cannot be opened, which says what to do
    without the log."""
    from pipeline.metadata import MetadataStoreError
    from pipeline.records.graph import LineageError
    from pipeline.runners.logfile import output_to
    from pipeline.serving.decision_span import EmptyWindowError
    from pipeline.serving.store import DecisionStoreError

    log_file = config.output_dir / "logs" / f"{kind}-{datetime.now():%Y%m%d-%H%M%S}.log"
    with output_to(log_file):
        try:
            yield log_file
        except (MetadataStoreError, LineageError, EmptyWindowError, DecisionStoreError):
            raise
        except Exception as error:  # noqa: BLE001 - any failure of the run is one line
            raise RunError(what, error, log_file) from error


def print_event(event: str, component: str, seconds: float) -> None:
    if event == "start":
        print(f"  ▸ {component} ...", flush=True)
    else:
        print(f"  ✓ {component} finished in {seconds:.1f} s", flush=True)


def print_checks(checks: Iterable[dict], thresholds: bool = False) -> None:
    """One line per check: status, severity, id, the measured figure and, with `thresholds`, the bound it is held to."""
    for check in checks:
        measured = "-" if check["measured"] is None else f"{check['measured']:.4g}"
        line = f"  {check['status']:<15} {check['severity']:<6} {check['id']:<40}"
        if check["status"] == "not_applicable":  # nothing measured, nothing compared: say why
            print(f"{line} {'-':>8} {check.get('reason') or ''}" if thresholds else f"{line} -")
        elif thresholds:
            threshold = "" if check["threshold"] is None else f"{check['comparison']} {check['threshold']:.4g}"
            print(f"{line} {measured:>8} {threshold}")
        else:
            print(f"{line} {measured}")


def print_run_summary(summary, config, log_file: Path, wall: float) -> None:
    from pipeline import metadata

    print(f"\nRun {summary.run_id} finished in {wall:.1f} s")
    for node in summary.components:
        print(f"  {node.node_id:<32} {node.state:<9} {node.seconds:6.1f} s")
    if summary.model_uri:
        print(f"Model:      {summary.model_uri}/Format-Serving")
    for slice_name, auc in summary.auc_by_slice.items():
        print(f"AUC         {slice_name:<24} {auc:.3f}")
    for slice_name, accuracy in summary.accuracy_by_slice.items():
        print(f"Accuracy    {slice_name:<24} {accuracy:.3f}")
    if summary.explanations:
        e = summary.explanations
        print(f"Top features ({e['primary_method']}): {e['top_features'].replace(',', ', ')}")
        print(f"Explanations: {e['examples']} examples, median completeness error "
              f"{e['median_completeness_error']:.2g} ({e['share_completeness_above_0_05']:.0%} above 0.05); "
              f"{e['uri']}")
        if e.get("modality") == "image":
            print(f"Pixel flipping: deletion AUC {e['deletion_auc_ratio']:.2f} x random order; randomised-model "
                  f"rank correlation {e['randomization_spearman']:.2f}; {1000 * e['seconds_per_image']:.1f} ms per "
                  f"image (all methods)\nTensorBoard: tensorboard --logdir {config.pipeline_root} (training curves "
                  f"under Trainer/, explanations under Explainer/)")
    if summary.blessed is not None:
        e = config.evaluation
        rule = (f"accuracy >= {e.accuracy_threshold}, no drop > {e.max_accuracy_drop}" if config.image
                else f"AUC >= {e.auc_threshold}, no drop > {e.max_auc_drop}")
        print(f"Blessing:   {'BLESSED' if summary.blessed else 'NOT BLESSED'} ({rule} vs last blessed)")
    if summary.audit:
        a = summary.audit
        blocking = f" (blocking: {a['blocking_checks'].replace(',', ', ')})" if a.get("blocking_checks") else ""
        if a.get("undecided_blocking_checks"):
            blocking += (f" (undecided, too little evidence, which this policy lets pass: "
                         f"{a['undecided_blocking_checks'].replace(',', ', ')})")
        print(f"Audit:      {str(a['verdict']).upper()}{blocking}; report {a['uri']}/report.html")
    print(f"Pushed to:  {summary.pushed_uri or '(not pushed)'}")
    print(f"Artifacts:  {config.pipeline_root}")
    print(f"Metadata:   {metadata.describe_store(config)}")
    print(f"Log:        {log_file}")


def print_monitor_summary(report: dict, model_id: int, uri: str, log_file: Path) -> None:
    print(f"\nModel {model_id} on {report['span']['examples']} examples: {len(report['alerts'])} alert(s) "
          f"({report['counts']['block']} block, {report['counts']['warn']} warn)")
    print_checks(sorted(report["checks"], key=lambda c: (c["status"] != "fail", c["family"], c["id"])),
                 thresholds=True)
    print(f"Report: {uri}/report.html\nLog:    {log_file}")
