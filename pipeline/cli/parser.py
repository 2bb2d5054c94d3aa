"""The `glassbox` argument parser: every command, its flags and its help, each command bound to its function."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.decisions import cmd_decisions_purge, cmd_decisions_show, cmd_decisions_verify
from pipeline.cli.project import cmd_compile, cmd_init
from pipeline.cli.records import (
    cmd_explain,
    cmd_lineage_artifact,
    cmd_lineage_diff,
    cmd_lineage_model,
    cmd_lineage_runs,
    cmd_lineage_seal,
    cmd_lineage_verify,
    cmd_report,
)
from pipeline.cli.run import cmd_monitor, cmd_run
from pipeline.cli.serve import cmd_serve
from pipeline.runners.beam import PROFILES


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
        "monitor", help="run the monitoring pipeline on a new span: data, prediction and attribution drift, alerts",
        epilog="exits 4 when a check raised a block alert (after printing every check), 0 when none did")
    span = monitor.add_mutually_exclusive_group(required=True)
    span.add_argument("--data", type=Path, help="directory of the span's CSV files")
    span.add_argument("--decisions", action="store_true",
                      help="the span is the model's decisions in the decision record (serving.decisions), with the "
                           "outcomes that arrived as labels")
    monitor.add_argument("--since", help="with --decisions: from this time on (ISO 8601, UTC unless a zone is "
                                         "named; or how long ago: 30m, 24h, 7d); default: the first decision")
    monitor.add_argument("--until", help="with --decisions: before this time (same forms); default: now")
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

    serve = store_options(commands.add_parser(
        "serve", help="the decision service: scored, explained decisions over HTTP, each recorded before it is "
                      "returned (needs a bearer token: $GLASSBOX_SERVE_TOKEN or --token-file)"))
    serve.add_argument("--model", default="pushed",
                       help="'pushed' (the model behind the latest push, default) or a Model artifact id")
    serve.add_argument("--host", help="address to listen on (default serving.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default serving.port, 8080)")
    serve.add_argument("--token-file", type=Path, metavar="FILE",
                       help="a file holding the bearer token (a mounted secret); default $GLASSBOX_SERVE_TOKEN")
    serve.add_argument("--no-access-log", action="store_true", help="no line per request on stdout")
    serve.set_defaults(func=cmd_serve)

    decisions = commands.add_parser(
        "decisions", help="the decision record glassbox serve keeps (serving.decisions in the config; default "
                          "<output>/decisions.sqlite): show, verify, purge")
    actions = decisions.add_subparsers(dest="action", required=True)
    show = store_options(actions.add_parser("show", help="one decision as recorded, with its adverse-action notice"))
    show.add_argument("id", help="the decision's id, as the service returned it")
    show.add_argument("--json", action="store_true", help="the record as JSON")
    show.set_defaults(func=cmd_decisions_show)
    check = store_options(actions.add_parser(
        "verify", help="recompute every hash, link and tombstone of the chain, and check each model's digest against "
                       "ML Metadata; non-zero exit naming each problem"))
    check.set_defaults(func=cmd_decisions_verify)
    purge = store_options(actions.add_parser(
        "purge", help="replace the content of decisions older than AGE by signed tombstones; the chain still verifies"))
    purge.add_argument("--older-than", required=True, metavar="AGE",
                       help="a count and a unit: d, w, m (calendar months) or y; 25m is Regulation B's 25 months")
    purge.set_defaults(func=cmd_decisions_purge)
    return parser
