"""`glassbox run` and `glassbox monitor`: run a pipeline on this machine, with progress lines, a log file and a
summary."""

from __future__ import annotations

import argparse
import json
import time

from pipeline.cli.errors import BlockAlertError
from pipeline.cli.output import logged, print_event, print_monitor_summary, print_run_summary


def _local_key(config) -> None:
    from pipeline.runners.local_key import ensure_local_key

    if config.privacy_policy is not None:
        key_path = ensure_local_key(config.privacy_policy, config.output_dir)
        if key_path is not None:
            print(f"Pseudonymization key: {key_path} (generated for local runs; keep it secret, or set the "
                  f"policy's key variable to use your own)")


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline import metadata
    from pipeline.config import load_config

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
    metadata.refuse_if_busy(config)  # at once, not after the checks below have imported TFX
    from pipeline.runners.preflight import preflight_check

    preflight_check(config)
    _local_key(config)
    print(f"Running {config.pipeline_name} on {config.data_dir} (output: {config.output_dir})", flush=True)
    started = time.monotonic()
    with logged(config, "run", "run") as log_file:
        # Imported here so that TensorFlow's import-time chatter goes to the log too.
        from pipeline.records.summary import summarize_run
        from pipeline.runners.local import run_local

        summary = summarize_run(config, run_local(config, on_event=print_event))  # this run's, not the newest
    print_run_summary(summary, config, log_file, time.monotonic() - started)
    return 0


def _decision_span(config, model_id: int | None, start, end):
    """(the model, the span of its decisions in [start, end)) written under the output directory."""
    from pipeline import metadata
    from pipeline.cli.decisions import open_decisions
    from pipeline.records.lineage import Lineage
    from pipeline.records.monitoring import resolve_baseline
    from pipeline.serving.decision_span import baseline_label_values, export_span

    lineage = Lineage(metadata.open_store(config), config.pipeline_name)
    model_id = lineage.pushed_model() if model_id is None else model_id
    values = baseline_label_values(resolve_baseline(lineage, model_id).schema_uri, config.label,
                                   config.positive_label)
    with open_decisions(config) as store:
        return model_id, export_span(store, model_id, start, end, config.output_dir / "monitoring" / "decisions",
                                     config.label, values)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Runs the monitoring pipeline on a new span against the pushed (or a given) model, and prints its alerts."""
    from pipeline import metadata
    from pipeline.config import load_config

    config = load_config(args.config, output_dir=args.output, enable_cache=False if args.no_cache else None,
                         beam_profile=args.beam_profile, extra_beam_args=args.beam_arg)
    if args.data is not None and not args.data.is_dir():
        raise ValueError(f"--data {args.data} is not a directory of span files.")
    if args.data is not None and (args.since or args.until):
        raise ValueError("--since and --until choose a window of the decision record: they go with --decisions.")
    if args.model != "pushed" and not args.model.isdigit():
        raise ValueError(f"--model must be 'pushed' or a Model artifact id, not {args.model!r}.")
    model_id = None if args.model == "pushed" else int(args.model)
    window = None
    if args.decisions:
        from pipeline.serving.decision_span import moment

        window = (moment(args.since, "--since") if args.since else None,
                  moment(args.until, "--until") if args.until else None)
        if None not in window and window[0] >= window[1]:
            raise ValueError(f"--since {args.since} is not before --until {args.until}: the window is empty.")
    metadata.refuse_if_busy(config)
    if window is None:
        _local_key(config)  # the training run's: the span's pseudonyms are the training data's
        print(f"Monitoring {config.pipeline_name} on {args.data} (output: {config.output_dir})", flush=True)
    with logged(config, "monitor", "monitoring run") as log_file:
        from pipeline.records.monitoring import latest_monitor_report
        from pipeline.runners.local import run_monitor

        if window is None:
            data_dir = args.data.resolve()
        else:
            model_id, span = _decision_span(config, model_id, *window)
            data_dir = span.directory
            print(f"Monitoring {config.pipeline_name} on {span.decisions} decision(s) of model {model_id} recorded "
                  f"{span.first} to {span.last}, {span.labelled} with outcomes"
                  + (f"; {span.purged} purged ones left out" if span.purged else "")
                  + f" (output: {config.output_dir})", flush=True)
        model_id = run_monitor(config, str(data_dir), model_id, on_event=print_event, decisions=window is not None)
        uri = latest_monitor_report(metadata.open_store(config), config)
    with open(f"{uri}/monitor.json") as f:
        report = json.load(f)
    print_monitor_summary(report, model_id, uri, log_file)
    from pipeline.records.monitoring import block_alerts

    blocking = block_alerts(report)
    if blocking:
        raise BlockAlertError(f"{len(blocking)} block alert(s): {', '.join(blocking)}; review the model before it "
                              f"keeps serving ({uri}/report.html)")
    return 0
