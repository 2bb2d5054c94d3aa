"""Lineage, tamper evidence and the run history site, on the session's real pipeline run."""

import json
import os
import re
import shutil
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from components.code import components_digest
from pipeline import cli, metadata
from pipeline.records import mlmd
from pipeline.serving.store import open_store
from tests.helpers import browse, copy_of_store, first_run_executions
from tests.unit.serving.test_store import decision

pytestmark = pytest.mark.e2e

CHAIN = ["CsvExampleGen", "Privacy", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "DataGate", "Transform",
         "Trainer", "Explainer", "Evaluator", "ModelAudit", "Pusher"]


def _glassbox(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_model_lineage_tree_names_data_code_training_and_what_followed(pipeline_run, capsys):
    config, _ = pipeline_run
    code, tree, err = _glassbox(capsys, "lineage", "model", "--output", str(config.output_dir))
    assert code == 0, err
    for component in CHAIN:
        assert f"{component} execution #" in tree, component
    assert f"raw data: {config.data_dir}" in tree and "input_fingerprint" in tree
    assert re.search(r"code: training \(module digest [0-9a-f]{16}\)", tree)
    # Glassbox's own steps (the audit among them) name the component code they ran, which TFX's cache key holds
    assert f"code: Glassbox components (digest {components_digest()[:16]})" in tree
    assert '"train_steps": 600' in tree and "strategy: " in tree
    assert "trained on: CPU:0 (devices: auto)" in tree
    assert "verdict=pass" in tree and "pushed=1" in tree and "k=5" in tree
    assert "(unsealed)" not in tree  # every artifact of a finished run carries its sha256


def test_the_pushed_model_says_in_mlmd_what_it_trained_on(pipeline_run):
    """Glassbox's Trainer executor turned the training record into the model's properties: the model the Pusher
    shipped answers "trained on what?" from MLMD alone. This host has no GPU, so auto trained on its CPU."""
    config, _ = pipeline_run
    store, executions = first_run_executions(config)
    (pushed,) = mlmd.input_artifacts(store, executions["Pusher"].id)["model"]
    (trained,) = mlmd.output_artifacts(store, executions["Trainer"].id)["model"]
    assert pushed.id == trained.id
    properties = mlmd.plain_properties(pushed.custom_properties)
    assert properties["trained_on"] == "CPU:0"
    assert properties["devices_requested"] == "auto"
    assert properties["strategy"] == "_DefaultDistributionStrategy" and properties["replicas"] == 1
    assert "device_names" not in properties
    (model_run,) = mlmd.output_artifacts(store, executions["Trainer"].id)["model_run"]
    assert mlmd.plain_properties(model_run.custom_properties)["trained_on"] == "CPU:0"


def test_model_lineage_json_dot_and_svg_agree(pipeline_run, capsys, tmp_path):
    config, _ = pipeline_run
    out = ["--output", str(config.output_dir)]
    _, as_json, _ = _glassbox(capsys, "lineage", "model", "--json", *out)
    graph = json.loads(as_json)
    assert {x["component"] for x in graph["executions"]} == set(CHAIN)
    focus = next(a for a in graph["artifacts"] if a["id"] == graph["focus"])
    assert focus["type"] == "Model" and len(focus["properties"]["sha256"]) == 64
    roles = {x["component"]: x["role"] for x in graph["executions"]}
    assert roles["Trainer"] == "upstream" and roles["ExampleValidator"] == "check" and roles["Pusher"] == "downstream"
    _, dot, _ = _glassbox(capsys, "lineage", "model", "--dot", *out)
    assert dot.startswith("digraph") and dot.count(" -> ") == len(graph["events"])
    code, _, err = _glassbox(capsys, "lineage", "model", "--svg", str(tmp_path / "model.svg"), *out)
    assert code == 0, err
    svg = (tmp_path / "model.svg").read_text()
    assert all(component in svg for component in CHAIN)
    # The same model found from the push and from the pushed copy's path.
    _, pushed, _ = _glassbox(capsys, "lineage", "model", "--pushed", "--json", *out)
    destination = next(a for a in graph["artifacts"] if a["type"] == "PushedModel")["properties"]["pushed_destination"]
    _, by_uri, _ = _glassbox(capsys, "lineage", "model", "--uri", destination, "--json", *out)
    assert json.loads(pushed)["focus"] == json.loads(by_uri)["focus"] == graph["focus"]


def test_artifact_neighbourhood_respects_the_hop_limit(pipeline_run, capsys):
    config, _ = pipeline_run
    _, as_json, _ = _glassbox(capsys, "lineage", "model", "--json", "--output", str(config.output_dir))
    statistics = next(a["id"] for a in json.loads(as_json)["artifacts"] if a["type"] == "ExampleStatistics")
    _, one, _ = _glassbox(capsys, "lineage", "artifact", str(statistics), "--hops", "1", "--json",
                          "--output", str(config.output_dir))
    near = {x["component"] for x in json.loads(one)["executions"]}
    assert near == {"StatisticsGen", "ExampleValidator", "ModelAudit"}
    _, two, _ = _glassbox(capsys, "lineage", "artifact", str(statistics), "--hops", "2", "--json",
                          "--output", str(config.output_dir))
    assert {"Privacy", "DataGate", "Pusher"} <= {x["component"] for x in json.loads(two)["executions"]}
    code, _, err = _glassbox(capsys, "lineage", "artifact", "999999", "--output", str(config.output_dir))
    assert code == 1 and "No artifact 999999" in err


def _first_file(root: Path, pattern: str) -> Path:
    return sorted(p for p in root.rglob(pattern) if p.is_file() and p.stat().st_size > 0)[0]


def test_verify_names_each_altered_file_and_passes_when_untouched(pipeline_run, tmp_path, capsys):
    # Altered in copies: tests on the other xdist worker read the session run's own files meanwhile. A copy of the
    # store points the three artifacts at copies of their folders.
    config = copy_of_store(pipeline_run[0], tmp_path)
    _, executions = first_run_executions(config)
    store = metadata.open_store(config, writable=True)
    targets = []
    altered = [("Trainer", "model", "variables.data-*"), ("StatisticsGen", "statistics", "FeatureStats.pb"),
               ("ModelAudit", "audit_report", "audit.json")]
    for node, key, pattern in altered:
        artifact = mlmd.output_artifacts(store, executions[node].id)[key][0]
        artifact.uri = str(shutil.copytree(artifact.uri, tmp_path / node))
        store.put_artifacts([artifact])
        targets.append(_first_file(tmp_path / node, pattern))
    config_file = tmp_path / "glassbox.yaml"
    config_file.write_text(yaml.safe_dump({"output_dir": str(config.output_dir),
                                           "metadata": {"sqlite_path": str(config.metadata_path)}}))
    out = ["--config", str(config_file)]
    code, report, err = _glassbox(capsys, "lineage", "verify", *out)
    assert code == 0 and "NOT" not in report, report + err
    for target in targets:
        original = target.read_bytes()
        target.write_bytes(bytes([original[0] ^ 0x01]) + original[1:])
        try:
            code, report, _ = _glassbox(capsys, "lineage", "verify", *out)
        finally:
            target.write_bytes(original)
        assert code == 1, report
        assert report.count("MODIFIED") == 1, report
        assert any(line.strip().startswith("modified: ") and line.strip().endswith(target.name)
                   for line in report.splitlines()), report
    code, report, _ = _glassbox(capsys, "lineage", "verify", *out)
    assert code == 0, report


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.add(attrs.get("id"))
        for name in ("href", "src", "xlink:href"):
            if attrs.get(name):
                self.links.append(attrs[name])


def test_site_pages_load_cleanly_and_links_resolve(pipeline_run, capsys, tmp_path):
    config, _ = pipeline_run
    site = tmp_path / "site"
    code, _, err = _glassbox(capsys, "report", "--site", str(site), "--output", str(config.output_dir))
    assert code == 0, err
    pages = sorted(site.rglob("*.html"))
    run_pages = [p for p in pages if p.parent == site and p.name != "index.html"]
    assert run_pages and (site / "index.html") in pages
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text())
        for link in parser.links:
            assert not link.startswith(("http:", "https:", "//")), (page, link)  # self-contained
            if link.startswith("data:"):  # an image embedded in the page
                continue
            path, _, anchor = link.partition("#")
            assert not path or (page.parent / path).is_file(), (page, link)
            assert not anchor or path or anchor in parser.ids, (page, link)
        dom, console = browse(page)
        assert not console, (page, console)
        assert "</html>" in dom
    dom, _ = browse(run_pages[0])
    svg = dom[dom.index('<div class="graph"'):dom.index("</svg>")]
    assert all(component in svg for component in CHAIN)
    assert "Audit" in dom and "explanations-" in dom
    assert os.path.basename(run_pages[0]) in (site / "index.html").read_text()
    # The console check is live: a page that logs an error is caught.
    noisy = tmp_path / "noisy.html"
    noisy.write_text("<html><body><script>console.error('broken')</script></body></html>")
    assert browse(noisy)[1]


def test_the_pushed_model_s_lineage_shows_its_serving_history(pipeline_run, capsys, tmp_path):
    """`lineage model --pushed` adds how many decisions the model made per day, from the decision record `glassbox
    serve` keeps; an output folder that never served shows no history."""
    config, _ = pipeline_run
    out = ["--output", str(config.output_dir)]
    code, tree, err = _glassbox(capsys, "lineage", "model", "--pushed", *out)
    assert code == 0 and "serving:" not in tree, err
    _, as_json, _ = _glassbox(capsys, "lineage", "model", "--pushed", "--json", *out)
    model_id = json.loads(as_json)["focus"]
    assert "serving" not in json.loads(as_json)

    # A record beside the run (serving.decisions in a config of its own): three decisions by the pushed model, one by
    # another model that this model's history must not count.
    record = tmp_path / "decisions.sqlite"
    with open_store(record, create=True) as store:
        store.append([decision(i, model_id=model_id) for i in range(3)] + [decision(3, model_id=model_id + 1000)])
    config_file = tmp_path / "glassbox.yaml"
    config_file.write_text(f"output_dir: {config.output_dir}\nserving: {{decisions: decisions.sqlite}}\n")
    _, tree, _ = _glassbox(capsys, "lineage", "model", "--pushed", "--config", str(config_file))
    today = datetime.now(timezone.utc).date().isoformat()
    assert f"serving: 3 decisions by model #{model_id}, first {today}T" in tree
    assert re.search(rf"^\s+3\s+{today}$", tree, re.M), tree
    _, as_json, _ = _glassbox(capsys, "lineage", "model", "--pushed", "--json", "--config", str(config_file))
    serving = json.loads(as_json)["serving"]
    assert serving["total"] == 3 and serving["by_day"] == {today: 3} and serving["first"] <= serving["last"]
