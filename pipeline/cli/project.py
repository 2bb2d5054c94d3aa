"""`glassbox init` and `glassbox compile`: write a project's files, a drafted config with its schema and policies, or
the pipeline compiled for an orchestrator, without running anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_init(args: argparse.Namespace) -> int:
    from pipeline.onboard import onboard

    protected = [p.strip() for p in (args.protected or "").split(",") if p.strip()]
    done = onboard(args.data, args.label, args.out, protected, args.positive_label, args.schemas, args.model)
    written = ", ".join(sorted(p.name for p in done.schema_dir.iterdir()))
    print(f"Wrote {done.config} and, under {done.schema_dir}: {written}")
    for column in done.columns:
        pii = f", PII {column.action} ({', '.join(f'{k} {n}' for k, n in column.pii.items())})" if column.pii else ""
        missing = f", {column.missing} missing" if column.missing else ""
        print(f"  {column.name:<28} {column.kind}{missing}{pii}")
    print(f"Review them (the model card's empty fields block the audit until filled), then:\n"
          f"  glassbox run --config {done.config}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    """Compiles the pipeline for an orchestrator that runs it elsewhere (Kubeflow Pipelines / Vertex AI)."""
    from pipeline.config import load_config

    config = load_config(args.config, beam_profile=args.beam_profile, extra_beam_args=args.beam_arg)
    if args.image:
        config = config.model_copy(update={"kubeflow": config.kubeflow.model_copy(update={"image": args.image})})
    from pipeline.runners.kubeflow import compile_kubeflow

    default = Path("kubeflow/monitor.json" if args.monitor else "kubeflow/pipeline.json")
    output = compile_kubeflow(config, args.output or default, monitor=args.monitor)
    name = config.monitor_pipeline_name if args.monitor else config.pipeline_name
    print(f"Compiled {name} for Kubeflow: {output} (image {config.kubeflow.image})")
    return 0
