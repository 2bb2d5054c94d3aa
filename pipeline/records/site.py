"""`glassbox report --site DIR`: a static, self-contained HTML history of every run, read from MLMD.

index.html lists the runs; each run's page has its component timeline, its lineage graph (SVG, each
node linking to the artifact or execution it stands for), its artifacts with their seals, the audit
report and the explanation plots, copied beside it. No server, no network: open index.html.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Dict, List

from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.records.graph import Graph
from pipeline.records.graphviz import render
from pipeline.records.lineage import Lineage
from pipeline.records.render import describe_artifact, describe_execution, render_dot, when
from pipeline.records.runs import RunRecord, runs

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
.bar { background: #5b8fc7; height: 14px; display: inline-block; } .CACHED .bar { background: #9ec79b; }
.FAILED .bar { background: #d9534f; } .RUNNING .bar { background: #f0ad4e; }
.timeline td.track { width: 700px; } .status-FAILED, .status-INTERRUPTED { color: #b52b27; font-weight: bold; }
.graph svg { max-width: 100%; height: auto; } code { font-size: 90%; } .plots img { max-width: 440px; margin: 6px; }
.detail { color: #555; font-size: 90%; }
"""


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _slug(run_id: str) -> str:
    return "run-" + "".join(c if c.isalnum() else "-" for c in run_id)


def _timeline(record: RunRecord) -> str:
    span = max(1, record.ended_ms - record.started_ms)
    rows = []
    for node in record.components:
        e = node.execution
        left = 100 * (e.create_time_since_epoch - record.started_ms) / span
        width = max(0.3, 100 * node.seconds * 1000 / span)
        rows.append(f'<tr class="{node.state}"><td>{html.escape(node.node_id)}</td><td>{node.state}</td>'
                    f'<td>{node.seconds:.1f} s</td><td class="track"><span style="margin-left:{left:.2f}%;'
                    f'width:{width:.2f}%" class="bar" title="{html.escape(node.node_id)}"></span></td></tr>')
    return '<table class="timeline"><tr><th>component</th><th>state</th><th>time</th><th></th></tr>' + "".join(rows) \
        + "</table>"


def _artifact_list(graph: Graph) -> str:
    items = []
    for i, x in sorted(graph.executions.items()):
        head, *details = describe_execution(graph, x)
        items.append(f'<li id="e{i}"><b>{html.escape(head)}</b>'
                     + "".join(f'<div class="detail"><code>{html.escape(d)}</code></div>' for d in details) + "</li>")
    executions = "<ul>" + "".join(items) + "</ul>"
    artifacts = "<ul>" + "".join(f'<li id="a{i}"><code>{html.escape(describe_artifact(a))}</code></li>'
                                 for i, a in sorted(graph.artifacts.items())) + "</ul>"
    return f"<h2>Executions</h2>{executions}<h2>Artifacts</h2>{artifacts}"


def _copy_outputs(graph: Graph, target: Path) -> str:
    """The audit report and the explanation plots of the run, copied beside its page; their sections."""
    parts = []
    for a in graph.artifacts.values():
        source = Path(a.uri)
        if a.type.endswith("AuditReport") and (source / "report.html").is_file():
            shutil.copy(source / "report.html", target / f"audit-{a.id}.html")
            verdict = html.escape(str(a.properties.get("verdict", "?")).upper())
            parts.append(f'<h2>Audit</h2><p>Verdict <b id="verdict">{verdict}</b>: '
                         f'<a href="{target.name}/audit-{a.id}.html">the audit report</a> '
                         f'(artifact <a href="#a{a.id}">#{a.id}</a>).</p>')
        if a.type.endswith("Explanations") and (source / "plots").is_dir():
            plots = sorted((source / "plots").glob("*.png"))
            for plot in plots:
                shutil.copy(plot, target / f"explanations-{a.id}-{plot.name}")
            images = "".join(f'<img src="{target.name}/explanations-{a.id}-{p.name}" alt="{html.escape(p.stem)}">'
                             for p in plots)
            top = html.escape(str(a.properties.get("top_features", "")))
            parts.append(f'<h2>Explanations</h2><p>Artifact <a href="#a{a.id}">#{a.id}</a>, top features {top}.</p>'
                         f'<div class="plots">{images}</div>')
    return "".join(parts)


def _run_page(lineage: Lineage, record: RunRecord, site: Path, neighbours: Dict[str, str]) -> str:
    graph = lineage.run_graph(record.run_id)
    target = site / _slug(record.run_id)
    target.mkdir(parents=True, exist_ok=True)
    svg = render(render_dot(graph, href=lambda kind, i: f"#{kind[0]}{i}"), "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]  # drop the XML prologue and doctype: the SVG sits inline in HTML
    links = " · ".join(f'<a href="{href}">{html.escape(label)}</a>'
                       for label, href in {"all runs": "index.html", **neighbours}.items())
    body = (f"<p>{links}</p>"
            f"<h1>Run {html.escape(record.run_id)}</h1>"
            f'<p class="status-{record.status}">{record.status}, {when(record.started_ms)} to '
            f"{when(record.ended_ms)}</p><h2>Timeline</h2>{_timeline(record)}"
            f'<h2>Lineage</h2><div class="graph" id="lineage">{svg}</div>'
            + _copy_outputs(graph, target) + _artifact_list(graph))
    return _page(f"Glassbox run {record.run_id}", body)


def build_site(config: PipelineConfig, site: Path) -> Path:
    """Writes the site for every run in the configuration's store; returns index.html."""
    store = metadata.open_store(config)
    lineage = Lineage(store, config.pipeline_name)
    records: List[RunRecord] = runs(store, config.pipeline_name, metadata.in_use(config))
    site = Path(site)
    site.mkdir(parents=True, exist_ok=True)
    rows = []
    for position, record in enumerate(records):
        neighbours = {}
        if position > 0:
            neighbours["previous run"] = f"{_slug(records[position - 1].run_id)}.html"
        if position + 1 < len(records):
            neighbours["next run"] = f"{_slug(records[position + 1].run_id)}.html"
        (site / f"{_slug(record.run_id)}.html").write_text(_run_page(lineage, record, site, neighbours))
        seconds = (record.ended_ms - record.started_ms) / 1000
        rows.append(f'<tr><td><a href="{_slug(record.run_id)}.html">{html.escape(record.run_id)}</a></td>'
                    f'<td class="status-{record.status}">{record.status}</td><td>{when(record.started_ms)}</td>'
                    f"<td>{seconds:.0f} s</td><td>{len(record.components)}</td></tr>")
    body = (f"<h1>{html.escape(config.pipeline_name)}: {len(records)} run(s)</h1>"
            f"<p>Metadata store <code>{html.escape(metadata.describe_store(config))}</code>.</p>"
            "<table><tr><th>run</th><th>status</th><th>started</th><th>duration</th><th>executions</th></tr>"
            + "".join(reversed(rows)) + "</table>")
    index = site / "index.html"
    index.write_text(_page(f"Glassbox runs of {config.pipeline_name}", body))
    return index
