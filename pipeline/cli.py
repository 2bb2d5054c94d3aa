"""The `glassbox` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import List

# Quiet TensorFlow's C++ start-up chatter (its spurious "Unable to register cuDNN factory" lines are
# ERROR level) and Google client libraries' Python-version notices before anything imports them;
# a run's full log goes to its log file.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

from pipeline.beam import PROFILES  # noqa: E402 - after the environment above; imports nothing heavy


def _fail(message: str, code: int = 1) -> int:
    print(f"glassbox: {message}", file=sys.stderr)
    return code


def _print_event(event: str, component: str, seconds: float) -> None:
    if event == "start":
        print(f"  ▸ {component} ...", flush=True)
    else:
        print(f"  ✓ {component} finished in {seconds:.1f} s", flush=True)


def _print_summary(summary, config, log_file: Path, wall: float) -> None:
    print(f"\nRun {summary.run_id} finished in {wall:.1f} s")
    for node in summary.components:
        print(f"  {node.node_id:<32} {node.state:<9} {node.seconds:6.1f} s")
    if summary.model_uri:
        print(f"Model:      {summary.model_uri}/Format-Serving")
    for slice_name, auc in summary.auc_by_slice.items():
        print(f"AUC         {slice_name:<24} {auc:.3f}")
    if summary.explanations:
        e = summary.explanations
        print(f"Top features ({e['primary_method']}): {e['top_features'].replace(',', ', ')}")
        print(f"Explanations: {e['examples']} examples, median completeness error "
              f"{e['median_completeness_error']:.2g} ({e['share_completeness_above_0_05']:.0%} above 0.05); "
              f"{e['uri']}")
    if summary.blessed is not None:
        print(f"Blessing:   {'BLESSED' if summary.blessed else 'NOT BLESSED'} "
              f"(AUC >= {config.evaluation.auc_threshold}, no drop > {config.evaluation.max_auc_drop} vs last blessed)")
    if summary.audit:
        a = summary.audit
        blocking = f" (blocking: {a['blocking_checks'].replace(',', ', ')})" if a.get("blocking_checks") else ""
        print(f"Audit:      {str(a['verdict']).upper()}{blocking}; report {a['uri']}/report.html")
    print(f"Pushed to:  {summary.pushed_uri or '(not pushed)'}")
    print(f"Artifacts:  {config.pipeline_root}")
    print(f"Metadata:   {config.metadata_path}")
    print(f"Log:        {log_file}")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_config
    from pipeline.preflight import InputError, check_inputs

    try:
        config = load_config(
            args.config,
            data_dir=args.data,
            schema_file=args.schema,
            privacy_policy=args.privacy_policy,
            output_dir=args.output,
            enable_cache=False if args.no_cache else None,
            beam_profile=args.beam_profile,
            extra_beam_args=args.beam_arg,
        )
        check_inputs(config)
    except (ConfigError, InputError) as e:
        return _fail(str(e), 2)

    from pipeline.local_key import ensure_local_key
    from pipeline.logfile import output_to

    if config.privacy_policy is not None:
        key_path = ensure_local_key(config.privacy_policy, config.output_dir)
        if key_path is not None:
            print(f"Pseudonymization key: {key_path} (generated for local runs; keep it secret, or set the "
                  f"policy's key variable to use your own)")

    log_file = config.output_dir / "logs" / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
    print(f"Running {config.pipeline_name} on {config.data_dir} (output: {config.output_dir})", flush=True)
    started = time.monotonic()
    failure, contract_error = None, ()
    with output_to(log_file):
        try:
            # Imported here so that TensorFlow's import-time chatter goes to the log too.
            from components.data_gate.component import DataContractError

            contract_error = DataContractError
            from pipeline.runners.local import run_local
            from pipeline.summary import summarize_run

            run_local(config, on_event=_print_event)
            summary = summarize_run(config)
        except Exception as e:  # noqa: BLE001 - any failure ends the run with one line
            failure = e
    if failure is not None:
        if isinstance(failure, contract_error):
            return _fail(f"{failure} (log: {log_file})")
        return _fail(f"the run failed: {type(failure).__name__}: {failure} (full log: {log_file})")
    _print_summary(summary, config, log_file, time.monotonic() - started)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Prints an earlier run's audit: verdict, every check, and where the HTML report is."""
    import json
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's deprecation notices

    from pipeline import metadata
    from pipeline.config import ConfigError, load_config
    from pipeline.summary import summarize_run

    try:
        config = load_config(args.config, output_dir=args.output)
    except ConfigError as e:
        return _fail(str(e), 2)
    if not config.metadata_path.is_file():
        return _fail(f"No metadata store at {config.metadata_path}: run `glassbox run` first.", 2)
    runs = metadata.run_ids(metadata.open_store(config.metadata_path), config.pipeline_name)
    if args.run and args.run not in runs:
        return _fail(f"No run {args.run!r} in {config.metadata_path}; runs: {', '.join(runs) or 'none'}.", 2)
    summary = summarize_run(config, args.run)
    if not summary.audit:
        return _fail(f"Run {summary.run_id} has no audit (it stopped before ModelAudit, or the audit is off).", 1)
    with open(f"{summary.audit['uri']}/audit.json") as f:
        report = json.load(f)
    print(f"Run {summary.run_id}: audit verdict {report['verdict'].upper()}")
    for check in sorted(report["checks"], key=lambda c: (c["status"] == "pass", c["id"])):
        measured = "-" if check["measured"] is None else f"{check['measured']:.4g}"
        print(f"  {check['status']:<15} {check['severity']:<6} {check['id']:<40} {measured}")
    print(f"Report: {summary.audit['uri']}/report.html")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    """Compiles the pipeline for an orchestrator that runs it elsewhere (Kubeflow Pipelines / Vertex AI)."""
    from pipeline.config import ConfigError, load_config

    try:
        config = load_config(args.config, beam_profile=args.beam_profile, extra_beam_args=args.beam_arg)
    except ConfigError as e:
        return _fail(str(e), 2)
    if args.image:
        config = config.model_copy(update={"kubeflow": config.kubeflow.model_copy(update={"image": args.image})})
    from pipeline.runners.kubeflow import compile_kubeflow

    try:
        output = compile_kubeflow(config, args.output)
    except ValueError as e:
        return _fail(str(e), 2)
    print(f"Compiled {config.pipeline_name} for Kubeflow: {output} (image {config.kubeflow.image})")
    return 0


def _add_beam_arguments(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--beam-profile", choices=PROFILES,
                        help="Beam runner of the Beam steps (default: direct, a worker process per core)")
    parser.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                        help=f"extra Beam pipeline argument, repeatable (e.g. --beam-arg={example})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glassbox", description="Explainable, auditable TFX pipeline.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole pipeline locally (Beam DirectRunner, SQLite MLMD)")
    run.add_argument("--config", type=Path, help="YAML config file (defaults: the German-credit pipeline)")
    run.add_argument("--data", type=Path, help="directory of CSV files to ingest")
    run.add_argument("--schema", type=Path, help="curated schema.pbtxt to validate against")
    run.add_argument("--privacy-policy", type=Path, help="privacy policy YAML applied before anything reads the data")
    run.add_argument("--output", type=Path, help="output directory (pipeline root, MLMD, serving, logs)")
    _add_beam_arguments(run, example="--direct_num_workers=1")
    run.add_argument("--no-cache", action="store_true", help="re-run every component even when inputs are unchanged")
    run.set_defaults(func=cmd_run)

    compile_ = commands.add_parser("compile", help="compile the pipeline for an orchestrator (Kubeflow V2)")
    compile_.add_argument("target", choices=["kubeflow"], help="kubeflow: a KFP V2 PipelineJob / package")
    compile_.add_argument("--config", type=Path, help="YAML config file (its kubeflow: section says where it runs)")
    compile_.add_argument("--image", help="container image of every step (default: kubeflow.image)")
    compile_.add_argument("--output", type=Path, default=Path("kubeflow/pipeline.json"),
                          help="pipeline file: .json (Vertex AI PipelineJob) or .yaml (KFP package)")
    _add_beam_arguments(compile_, example="--project=my-project")
    compile_.set_defaults(func=cmd_compile)

    report = commands.add_parser("report", help="print an earlier run's audit and the path of its HTML report")
    report.add_argument("--config", type=Path, help="the config file the run used")
    report.add_argument("--output", type=Path, help="the output directory the run used (default outputs/)")
    report.add_argument("--run", help="run id (default: the latest run)")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
