"""`glassbox report`, `explain` and `lineage`: read finished runs from the metadata store, and print or render them."""

from __future__ import annotations

import argparse
import json

from pipeline.cli.output import print_checks


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
    from pipeline.records.summary import summarize_run

    config = _load(args)
    if args.site:
        from pipeline.records.site import build_site

        index = build_site(config, args.site)
        print(f"Site: {index} (open it in a browser; it needs no server)")
        return 0
    summary = summarize_run(config, _run_id(_store(config), config, args.run))
    if not summary.audit:
        raise LookupError(f"Run {summary.run_id} has no audit (it stopped before ModelAudit, or the audit is off).")
    with open(f"{summary.audit['uri']}/audit.json") as f:
        report = json.load(f)
    print(f"Run {summary.run_id}: audit verdict {report['verdict'].upper()}")
    print_checks(sorted(report["checks"], key=lambda c: (c["status"] == "pass", c["id"])))
    print(f"Report: {summary.audit['uri']}/report.html")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """What-if for one eval example of the latest run: the score before and after the changes, and the reasons."""
    from pipeline.records.whatif import what_if

    result = what_if(_load(args), args.example, args.set)
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


def _render(graph, args: argparse.Namespace, serving=None) -> int:
    """The graph as asked (tree, JSON, DOT, SVG/PNG); `serving`, a model's (DecisionCounts, its monitoring alert
    records), joins the tree and JSON."""
    serving, alerts = serving if serving is not None else (None, [])
    from pipeline.records.render import render_dot, render_tree

    if args.svg or args.png:
        from pipeline.records.graphviz import render_image

        for path, fmt in ((args.svg, "svg"), (args.png, "png")):
            if path:
                render_image(render_dot(graph), path, fmt)
                print(f"Wrote {path}")
    elif args.json:
        found = graph.to_json()
        if serving is not None:
            found["serving"] = {"total": serving.total, "first": serving.first, "last": serving.last,
                                "by_day": dict(serving.by_day),
                                "alerts": [{"id": a.id, "seq": a.seq, "time": a.time, **a.payload} for a in alerts]}
        print(json.dumps(found, indent=2, default=str))
    elif args.dot:
        print(render_dot(graph), end="")
    else:
        print(render_tree(graph))
        if serving is not None:
            print("\n".join(_serving_lines(serving) + _alert_lines(serving.model_id, alerts)))
    return 0


# The days a serving history lists, newest last; older ones are counted on one line.
SERVING_DAYS_SHOWN = 14


def _serving_lines(counts) -> list[str]:
    if not counts.total:
        return [f"serving: no decisions by model #{counts.model_id} in the decision record"]
    lines = [f"serving: {counts.total:,} decisions by model #{counts.model_id}, first {counts.first}, "
             f"last {counts.last}"]
    older = counts.by_day[:-SERVING_DAYS_SHOWN]
    if older:
        lines.append(f"  {sum(n for _, n in older):>9,}  on {len(older)} earlier days")
    lines += [f"  {n:>9,}  {day}" for day, n in counts.by_day[-SERVING_DAYS_SHOWN:]]
    return lines


ALERTS_SHOWN = 20


def _alert_lines(model_id: int, alerts) -> list[str]:
    """The model's live monitoring alerts (`glassbox serve`), newest last: each crossing of a threshold, and each
    return below it."""
    if not alerts:
        return []
    last: dict = {}
    for a in alerts:
        last[a.payload.get("check")] = a.payload
    standing = sorted(c for c, p in last.items() if p.get("status") == "fail")
    raised = sum(a.payload.get("status") == "fail" for a in alerts)
    lines = [f"alerts: {raised} raised by live monitoring of model #{model_id}"
             + (f", {len(standing)} standing ({', '.join(standing)})" if standing else ", none standing")]
    if len(alerts) > ALERTS_SHOWN:
        lines.append(f"  {len(alerts) - ALERTS_SHOWN} earlier alert record(s)")
    for a in alerts[-ALERTS_SHOWN:]:
        p, window = a.payload, a.payload.get("window") or {}
        value = "undefined" if p.get("value") is None else f"{p['value']:.4g}"
        op = p.get("comparison") or "vs"
        state = p.get("severity") if p.get("status") == "fail" else "resolved"
        relation = f"{value} fails {op} {p.get('threshold')}" if p.get("status") == "fail" else \
            f"{value} {op} {p.get('threshold')}"
        lines.append(f"  {a.time}  {state:<8} {p.get('check')}: {relation} (window of {window.get('count')} "
                     f"decisions, {window.get('observed')} seen)")
    return lines


def _serving_history(config, model_id: int):
    """The model's decisions per day from the decision record `glassbox serve` keeps; None where there is no record
    (a SQLite file never made: nothing was served from this output folder). A record that is there but cannot be
    read (a server down, a password wrong) is an error, not a silent absence."""
    from pathlib import Path

    from pipeline.cli.decisions import open_decisions

    location = config.decisions_location
    if "://" not in location and not Path(location).exists():
        return None
    with open_decisions(config) as store:
        return store.counts_by_day(model_id), store.alerts(model_id)


def cmd_lineage_model(args: argparse.Namespace) -> int:
    config = _load(args)
    lineage = _lineage(config)
    if args.pushed:
        model_id = lineage.pushed_model()
    elif args.uri:
        model_id = lineage.model_at(str(args.uri))
    else:
        model_id = lineage.model_of_run(_run_id(lineage.store, config, args.run))
    return _render(lineage.model_lineage(model_id), args, _serving_history(config, model_id))


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
    from pipeline import metadata
    from pipeline.records.integrity import seal_run

    config = _load(args)
    run_id = _run_id(_store(config), config, args.run)
    with metadata.exclusive_use(config):  # it writes to the store: not while a run is writing to it
        sealed = seal_run(config, run_id)
    print(f"Run {run_id}: sealed {sealed} artifact(s) that had no digest yet.")
    return 0

