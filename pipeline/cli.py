"""The `glassbox` command line."""

from __future__ import annotations

import argparse
import json
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

from pipeline.runners.beam import PROFILES  # noqa: E402 - after the environment above; imports nothing heavy


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
        print(f"Audit:      {str(a['verdict']).upper()}{blocking}; report {a['uri']}/report.html")
    print(f"Pushed to:  {summary.pushed_uri or '(not pushed)'}")
    print(f"Artifacts:  {config.pipeline_root}")
    print(f"Metadata:   {config.metadata_path}")
    print(f"Log:        {log_file}")


def _local_key(config) -> None:
    from pipeline.runners.local_key import ensure_local_key

    if config.privacy_policy is not None:
        key_path = ensure_local_key(config.privacy_policy, config.output_dir)
        if key_path is not None:
            print(f"Pseudonymization key: {key_path} (generated for local runs; keep it secret, or set the "
                  f"policy's key variable to use your own)")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_config
    from pipeline.runners.preflight import PreflightError, preflight_check

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
        preflight_check(config)
    except (ConfigError, PreflightError) as e:
        return _fail(str(e), 2)

    from pipeline.metadata import MetadataStoreBusyError
    from pipeline.runners.logfile import output_to

    _local_key(config)

    log_file = config.output_dir / "logs" / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
    print(f"Running {config.pipeline_name} on {config.data_dir} (output: {config.output_dir})", flush=True)
    started = time.monotonic()
    failure, data_errors = None, ()
    with output_to(log_file):
        try:
            # Imported here so that TensorFlow's import-time chatter goes to the log too.
            from components.csv_example_gen.dialect import CsvFormatError
            from components.data_gate.component import DataContractError

            data_errors = (CsvFormatError, DataContractError)  # the data's fault, said in one sentence
            from pipeline.records.summary import summarize_run
            from pipeline.runners.local import run_local

            run_local(config, on_event=_print_event)
            summary = summarize_run(config)
        except Exception as e:  # noqa: BLE001 - any failure ends the run with one line
            failure = e
    if failure is not None:
        if isinstance(failure, MetadataStoreBusyError):
            return _fail(str(failure), 3)
        if isinstance(failure, data_errors):
            return _fail(f"{failure} (log: {log_file})")
        return _fail(f"the run failed: {type(failure).__name__}: {failure} (full log: {log_file})")
    _print_summary(summary, config, log_file, time.monotonic() - started)
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Runs the monitoring pipeline on a new span against the pushed (or a given) model, and prints its alerts."""
    from pipeline.config import ConfigError, load_config
    from pipeline.metadata import MetadataStoreError

    try:
        config = load_config(args.config, output_dir=args.output, enable_cache=False if args.no_cache else None,
                             beam_profile=args.beam_profile, extra_beam_args=args.beam_arg)
    except ConfigError as e:
        return _fail(str(e), 2)
    if not args.data.is_dir():
        return _fail(f"--data {args.data} is not a directory of span files.", 2)
    if args.model != "pushed" and not args.model.isdigit():
        return _fail(f"--model must be 'pushed' or a Model artifact id, not {args.model!r}.", 2)
    model_id = None if args.model == "pushed" else int(args.model)
    from pipeline.records.graph import LineageError
    from pipeline.runners.logfile import output_to

    _local_key(config)  # the training run's: the span's pseudonyms are the training data's
    log_file = config.output_dir / "logs" / f"monitor-{datetime.now():%Y%m%d-%H%M%S}.log"
    print(f"Monitoring {config.pipeline_name} on {args.data} (output: {config.output_dir})", flush=True)
    failure = None
    with output_to(log_file):
        try:
            from pipeline.records.monitoring import latest_monitor_report
            from pipeline.runners.local import run_monitor

            model_id = run_monitor(config, str(args.data.resolve()), model_id, on_event=_print_event)
            uri = latest_monitor_report(_store(config), config)
        except (LineageError, MetadataStoreError) as e:
            return _fail(str(e), 1)
        except Exception as e:  # noqa: BLE001 - any failure ends the run with one line
            failure = e
    if failure is not None:
        return _fail(f"the monitoring run failed: {type(failure).__name__}: {failure} (full log: {log_file})")
    with open(f"{uri}/monitor.json") as f:
        report = json.load(f)
    print(f"\nModel {model_id} on {report['span']['examples']} examples: {len(report['alerts'])} alert(s) "
          f"({report['counts']['block']} block, {report['counts']['warn']} warn)")
    for check in sorted(report["checks"], key=lambda c: (c["status"] != "fail", c["family"], c["id"])):
        measured = "-" if check["measured"] is None else f"{check['measured']:.4g}"
        threshold = "" if check["threshold"] is None else f"{check['comparison']} {check['threshold']:.4g}"
        print(f"  {check['status']:<15} {check['severity']:<6} {check['id']:<40} {measured:>8} {threshold}")
    print(f"Report: {uri}/report.html\nLog:    {log_file}")
    return 0


def _load(args: argparse.Namespace):
    """The configuration an earlier run used (`--config`, `--output`), for commands that read its store."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's and TF's notices
    from pipeline.config import load_config

    return load_config(args.config, output_dir=args.output)


def _store(config):
    from pipeline import metadata

    return metadata.open_store(config)


def _run_id(store, config, run: str | None) -> str:
    """The run asked for (a full id or a unique prefix), or the latest."""
    from pipeline import metadata
    from pipeline.records import mlmd

    runs = mlmd.run_ids(store, config.pipeline_name)
    if not runs:
        raise LookupError(f"No runs of {config.pipeline_name} in {metadata.describe_store(config)}.")
    if run is None:
        return runs[-1]
    matches = [r for r in runs if r == run] or [r for r in runs if r.startswith(run)]
    if len(matches) != 1:
        raise LookupError(f"No single run {run!r} in {metadata.describe_store(config)}; runs: {', '.join(runs)}.")
    return matches[0]


def cmd_report(args: argparse.Namespace) -> int:
    """Prints an earlier run's audit: verdict, every check, and where the HTML report is; or writes the site."""
    import json

    from pipeline.records.summary import summarize_run

    config = _load(args)
    if args.site:
        from pipeline.records.site import build_site

        index = build_site(config, args.site)
        print(f"Site: {index} (open it in a browser; it needs no server)")
        return 0
    summary = summarize_run(config, _run_id(_store(config), config, args.run))
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


def cmd_explain(args: argparse.Namespace) -> int:
    """What-if for one eval example of the latest run: the score before and after the changes, and the reasons."""
    from pipeline.records.whatif import what_if

    config = _load(args)
    try:
        result = what_if(config, args.example, args.set)
    except (ValueError, KeyError) as e:
        return _fail(str(e).strip("'\""), 2)
    changes = ", ".join(f"{name}: {a} -> {b}" for name, (a, b) in result.changes.items())
    print(f"Example {result.key} ({changes})")
    print(f"  score        {result.score:.3f}")
    print(f"  new score    {result.new_score:.3f}")
    print(f"  change       {result.new_score - result.score:+.3f}")
    print(f"Top reasons after the change ({result.method}):")
    for reason in result.reasons or ["(no feature lowers the score)"]:
        print(f"  - {reason}")
    return 0


def _lineage(config):
    from pipeline.records.lineage import Lineage

    return Lineage(_store(config), config.pipeline_name)


def cmd_lineage_runs(args: argparse.Namespace) -> int:
    from pipeline import metadata
    from pipeline.records import runs as run_list
    from pipeline.records.render import when as _when

    config = _load(args)
    records = run_list.runs(_store(config), config.pipeline_name, metadata.in_use(config))
    if args.json:
        print(json.dumps([{"run": r.run_id, "started": _when(r.started_ms), "ended": _when(r.ended_ms),
                           "status": r.status,
                           "components": [{"component": n.node_id, "state": n.state, "seconds": round(n.seconds, 2)}
                                          for n in r.components]} for r in records], indent=2))
        return 0
    for r in records:
        print(f"{r.run_id}  {r.status:<11} {_when(r.started_ms)} -> {_when(r.ended_ms)}")
        if not args.brief:
            for n in r.components:
                print(f"    {n.node_id:<32} {n.state:<9} {n.seconds:7.1f} s")
    return 0


def _render(graph, args: argparse.Namespace) -> int:
    from pipeline.records.render import render_dot, render_tree

    if args.svg or args.png:
        from pipeline.records.graphviz import render_image

        for path, fmt in ((args.svg, "svg"), (args.png, "png")):
            if path:
                render_image(render_dot(graph), path, fmt)
                print(f"Wrote {path}")
    elif args.json:
        print(json.dumps(graph.to_json(), indent=2, default=str))
    elif args.dot:
        print(render_dot(graph), end="")
    else:
        print(render_tree(graph))
    return 0


def cmd_lineage_model(args: argparse.Namespace) -> int:
    config = _load(args)
    lineage = _lineage(config)
    if args.pushed:
        model_id = lineage.pushed_model()
    elif args.uri:
        model_id = lineage.model_at(str(args.uri))
    else:
        model_id = lineage.model_of_run(_run_id(lineage.store, config, args.run))
    return _render(lineage.model_lineage(model_id), args)


def cmd_lineage_artifact(args: argparse.Namespace) -> int:
    lineage = _lineage(_load(args))
    graph = lineage.walk(args.id, upstream=args.direction in ("both", "up"),
                         downstream=args.direction in ("both", "down"), hops=args.hops)
    return _render(graph, args)


def cmd_lineage_diff(args: argparse.Namespace) -> int:
    from pipeline.records.runs import diff_facts, run_facts
    from pipeline.records.summary import auc_by_slice

    config = _load(args)
    lineage = _lineage(config)
    run_a, run_b = (_run_id(lineage.store, config, r) for r in (args.run_a, args.run_b))
    changes = diff_facts(run_facts(lineage, run_a, auc_by_slice), run_facts(lineage, run_b, auc_by_slice))
    if args.json:
        print(json.dumps({"run_a": run_a, "run_b": run_b,
                          "changes": [{"what": k, "a": a, "b": b} for k, a, b in changes]}, indent=2, default=str))
        return 0
    print(f"{run_a} -> {run_b}: {len(changes)} difference(s)")
    for key, a, b in changes:
        print(f"  {key}\n      - {_shorten(a)}\n      + {_shorten(b)}")
    return 0


def _shorten(value) -> str:
    from pipeline.records.render import _short

    return "(absent)" if value is None else _short(value, 200)


def cmd_lineage_verify(args: argparse.Namespace) -> int:
    from pipeline.records.integrity import INTACT, verify_run

    config = _load(args)
    run_id = _run_id(_store(config), config, args.run)
    findings = verify_run(config, run_id)
    bad = [f for f in findings if f.status != INTACT]
    for f in findings:
        if f.status != INTACT or args.verbose:
            print(f"  {f.status.upper():<9} {f.label} (artifact {f.artifact_id}) {f.path}")
            for change in f.changed:
                print(f"              {change}")
    print(f"Run {run_id}: {len(findings) - len(bad)} of {len(findings)} sealed paths intact"
          + (f", {len(bad)} NOT: " + ", ".join(sorted({f.status for f in bad})) if bad else "."))
    return 1 if bad else 0


def cmd_lineage_seal(args: argparse.Namespace) -> int:
    from pipeline.records.integrity import seal_run

    config = _load(args)
    run_id = _run_id(_store(config), config, args.run)
    print(f"Run {run_id}: sealed {seal_run(config, run_id)} artifact(s) that had no digest yet.")
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
        default = Path("kubeflow/monitor.json" if args.monitor else "kubeflow/pipeline.json")
        output = compile_kubeflow(config, args.output or default, monitor=args.monitor)
    except ValueError as e:
        return _fail(str(e), 2)
    name = config.monitor_pipeline_name if args.monitor else config.pipeline_name
    print(f"Compiled {name} for Kubeflow: {output} (image {config.kubeflow.image})")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from pipeline.onboard import OnboardError, onboard

    protected = [p.strip() for p in (args.protected or "").split(",") if p.strip()]
    try:
        done = onboard(args.data, args.label, args.out, protected, args.positive_label, args.schemas)
    except OnboardError as e:
        return _fail(str(e), 2)
    written = ", ".join(sorted(p.name for p in done.schema_dir.iterdir()))
    print(f"Wrote {done.config} and, under {done.schema_dir}: {written}")
    for column in done.columns:
        pii = f", PII {column.action} ({', '.join(f'{k} {n}' for k, n in column.pii.items())})" if column.pii else ""
        missing = f", {column.missing} missing" if column.missing else ""
        print(f"  {column.name:<28} {column.kind}{missing}{pii}")
    print(f"Review them (the model card's empty fields block the audit until filled), then:\n"
          f"  glassbox run --config {done.config}")
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

    init = commands.add_parser("init", help="draft a config, schema and policies for a new tabular CSV to review")
    init.add_argument("--data", type=Path, required=True, help="the CSV file (in a directory of its own)")
    init.add_argument("--label", required=True, help="the column to predict (two classes)")
    init.add_argument("--positive-label", help="the label value predicted as 1 (needed unless the classes are 0, 1)")
    init.add_argument("--protected", help="protected attributes the audit compares groups on, comma-separated")
    init.add_argument("--out", type=Path, required=True, help="the config file to write, e.g. configs/NAME.yaml")
    init.add_argument("--schemas", type=Path, default=Path("schemas"),
                      help="where NAME/ with the schema and policies goes (default: schemas)")
    init.set_defaults(func=cmd_init)

    def store_options(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument("--config", type=Path, help="the config file the run used")
        command.add_argument("--output", type=Path, help="the output directory the run used (default outputs/)")
        return command

    def graph_options(command: argparse.ArgumentParser) -> None:
        form = command.add_mutually_exclusive_group()
        form.add_argument("--json", action="store_true", help="the graph as JSON (artifacts, executions, events)")
        form.add_argument("--dot", action="store_true", help="the graph in Graphviz DOT")
        form.add_argument("--svg", type=Path, metavar="FILE", help="render the graph to an SVG file (needs Graphviz)")
        form.add_argument("--png", type=Path, metavar="FILE", help="render the graph to a PNG file (needs Graphviz)")

    report = store_options(commands.add_parser(
        "report", help="print an earlier run's audit and the path of its HTML report, or write a browsable site"))
    report.add_argument("--run", help="run id or a unique prefix of it (default: the latest run)")
    report.add_argument("--site", type=Path, metavar="DIR",
                        help="write a static HTML site of every run (timeline, lineage, audit, explanations) to DIR")
    report.set_defaults(func=cmd_report)

    compile_ = commands.add_parser("compile", help="compile the pipeline for an orchestrator (Kubeflow V2)")
    compile_.add_argument("target", choices=["kubeflow"], help="kubeflow: a KFP V2 PipelineJob / package")
    compile_.add_argument("--config", type=Path, help="YAML config file (its kubeflow: section says where it runs)")
    compile_.add_argument("--image", help="container image of every step (default: kubeflow.image)")
    compile_.add_argument("--monitor", action="store_true",
                          help="compile the monitoring pipeline (span and baseline from the config's monitor: section)")
    compile_.add_argument("--output", type=Path,
                          help="pipeline file: .json (Vertex AI PipelineJob) or .yaml (KFP package); default "
                               "kubeflow/pipeline.json, with --monitor kubeflow/monitor.json")
    _add_beam_arguments(compile_, example="--project=my-project")
    compile_.set_defaults(func=cmd_compile)

    monitor = commands.add_parser(
        "monitor", help="run the monitoring pipeline on a new span: data, prediction and attribution drift, alerts")
    monitor.add_argument("--data", type=Path, required=True, help="directory of the span's CSV files")
    monitor.add_argument("--model", default="pushed",
                         help="'pushed' (the model behind the latest push, default) or a Model artifact id")
    store_options(monitor)
    _add_beam_arguments(monitor, example="--direct_num_workers=1")
    monitor.add_argument("--no-cache", action="store_true",
                         help="re-run every component even when inputs are unchanged")
    monitor.set_defaults(func=cmd_monitor)

    explain = store_options(commands.add_parser(
        "explain", help="what-if: score one eval example of the latest run again with some features changed"))
    explain.add_argument("--example", required=True, metavar="KEY",
                         help="the example's key or example_id, as in the Explainer's attributions")
    explain.add_argument("--set", action="append", default=[], metavar="FEATURE=VALUE",
                         help="a raw feature's new value, repeatable (e.g. --set duration=12)")
    explain.set_defaults(func=cmd_explain)

    lineage = commands.add_parser("lineage", help="answer lineage questions from ML Metadata")
    queries = lineage.add_subparsers(dest="query", required=True)
    runs = store_options(queries.add_parser("runs", help="pipeline runs with their status and per-component times"))
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--brief", action="store_true", help="one line per run")
    runs.set_defaults(func=cmd_lineage_runs)

    model = store_options(queries.add_parser(
        "model", help="a model's upstream chain (data, privacy, checks, code, training) and what was done with it"))
    which = model.add_mutually_exclusive_group()
    which.add_argument("--run", help="the model trained in this run (default: the latest run)")
    which.add_argument("--pushed", action="store_true", help="the model behind the latest push")
    which.add_argument("--uri", type=Path, help="the model stored at this path (artifact URI or pushed copy)")
    graph_options(model)
    model.set_defaults(func=cmd_lineage_model)

    artifact = store_options(queries.add_parser("artifact", help="one artifact's producers and consumers"))
    artifact.add_argument("id", type=int, help="MLMD artifact id")
    artifact.add_argument("--hops", type=int, default=2, help="executions to follow in each direction (default 2)")
    artifact.add_argument("--direction", choices=("both", "up", "down"), default="both")
    graph_options(artifact)
    artifact.set_defaults(func=cmd_lineage_artifact)

    diff = store_options(queries.add_parser(
        "diff", help="what changed between two runs: data, schema, code, parameters, metrics, verdict"))
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=cmd_lineage_diff)

    verify = store_options(queries.add_parser(
        "verify", help="recompute every sealed sha256 of a run; non-zero exit when anything changed"))
    verify.add_argument("--run", help="run id or a unique prefix of it (default: the latest run)")
    verify.add_argument("--verbose", action="store_true", help="list intact artifacts too")
    verify.set_defaults(func=cmd_lineage_verify)

    seal = store_options(queries.add_parser(
        "seal", help="record the digests a run's artifacts lack (glassbox run does it itself; for runs that "
                     "another orchestrator made)"))
    seal.add_argument("--run", help="run id or a unique prefix of it (default: the latest run)")
    seal.set_defaults(func=cmd_lineage_seal)
    return parser


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "monitor"):
        return args.func(args)
    from pipeline.config import ConfigError
    from pipeline.metadata import MetadataStoreError
    from pipeline.records.graph import LineageError
    from pipeline.records.graphviz import GraphvizError

    try:
        return args.func(args)
    except (ConfigError, MetadataStoreError) as e:
        return _fail(str(e), 2)
    except (LineageError, LookupError, GraphvizError) as e:
        return _fail(str(e), 1)


if __name__ == "__main__":
    sys.exit(main())
