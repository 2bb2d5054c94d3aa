"""An edited input reruns exactly the steps it shapes; an unchanged one reruns nothing.

TFX serves a step from its cache when the step's compiled execution parameters and its input artifacts are those of
an earlier execution (tfx/orchestration/portable/cache_utils.py). So a step reruns directly when its own parameters
change, and every step after it reruns because its inputs are new artifacts. These tests build and compile the
pipeline as `glassbox run` does (module files packaged into wheels as tfx/orchestration/portable/tfx_runner.py does
before compiling), edit one input file in place, compile again, and compare each node's parameters: the nodes that
differ are the ones an edit reruns directly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tfx.dsl.compiler import compiler
from tfx.orchestration.portable import tfx_runner

from components.code import CODE_DIGEST, COMPONENTS_DIR, components_digest
from pipeline import pipeline as pipeline_builder
from pipeline.config import REPO_ROOT, MonitorBaseline, load_config
from pipeline.modules import CODE_DIGEST_KEY, MODULES_DIR, code_digest
from pipeline.monitor import create_monitor_pipeline
from pipeline.pipeline import create_pipeline

SCHEMAS = REPO_ROOT / "schemas" / "german_credit"
BASELINE = {"model_uri": "/b/Trainer/model/7", "statistics_uri": "/b/StatisticsGen/statistics/4",
            "schema_uri": "/b/ImportSchemaGen/schema/2", "explanations_uri": "/b/Explainer/explanations/8"}


def node_parameters(pipeline, package_modules: bool = False) -> dict[str, bytes]:
    """Each node's compiled execution parameters, serialized: what TFX's cache key hashes besides the inputs.
    `package_modules` compiles with LocalDagRunner.run's own step, which first packages each module file's folder
    into a wheel named by its content (seconds per module); without it a module file's parameter is its path."""
    compiled = (tfx_runner._make_pipeline_proto(pipeline) if package_modules  # noqa: SLF001 - the runner's step
                else compiler.Compiler().compile(pipeline))
    return {node.pipeline_node.node_info.id: node.pipeline_node.parameters.SerializeToString(deterministic=True)
            for node in compiled.nodes}


@pytest.fixture
def inputs(tmp_path):
    """Copies of every file a run reads besides the data: policies, model card, schema, module files."""
    files = tmp_path / "inputs"
    shutil.copytree(SCHEMAS, files)
    shutil.copytree(REPO_ROOT / "pipeline" / "modules", files / "modules")
    return files


def _config(inputs: Path, tmp_path: Path, **overrides):
    return load_config(output_dir=tmp_path / "outputs", privacy_policy=inputs / "privacy_policy.yaml",
                       audit_policy=inputs / "audit_policy.yaml", model_card=inputs / "model_card.yaml",
                       schema_file=inputs / "schema.pbtxt", transform_module=inputs / "modules" / "preprocessing.py",
                       trainer_module=inputs / "modules" / "training.py",
                       monitor={"policy": str(inputs / "monitor_policy.yaml")}, **overrides)


def _training(config):
    return node_parameters(create_pipeline(config))


def _training_with_modules(config):
    return node_parameters(create_pipeline(config), package_modules=True)


def _monitoring(config):
    return node_parameters(create_monitor_pipeline(config, "/span", MonitorBaseline(**BASELINE)))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update the edit"
    path.write_text(text.replace(old, new, 1))


# file, (old text, new text), pipeline, the nodes whose own parameters the edit changes
EDITS = {
    "privacy policy": ("privacy_policy.yaml", ("notes: {action: redact_pii}", "notes: {action: drop}"), _training,
                       {"Privacy"}),
    "audit policy": ("audit_policy.yaml", ("seed: ", "seed: 1"), _training, {"ModelAudit"}),
    "model card": ("model_card.yaml", ("name: german-credit-risk", "name: credit-v2"), _training, {"ModelAudit"}),
    "schema": ("schema.pbtxt", ('value: "business" value: "car"', 'value: "business" value: "boat" value: "car"'),
               _training, {"ImportSchemaGen"}),
    # TFX hashes every .py file in a module file's folder into its wheel, so both modules' steps rerun.
    "transform module": ("modules/preprocessing.py", ('"""', '"""Edited. '), _training_with_modules,
                         {"Transform", "Trainer"}),
    "monitor policy": ("monitor_policy.yaml", ("score_bins: ", "score_bins: 1"), _monitoring, {"Monitor"}),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_an_edit_in_place_reruns_the_steps_it_shapes(name, inputs, tmp_path):
    file, (old, new), build, expected = EDITS[name]
    config = _config(inputs, tmp_path)
    before = build(config)
    assert build(config) == before  # unchanged inputs: every step is served from the cache
    _edit(inputs / file, old, new)
    after = build(config)
    assert before.keys() == after.keys()
    assert {node for node in before if before[node] != after[node]} == expected


def test_a_schema_edit_that_changes_nothing_the_contract_says_reruns_nothing(inputs, tmp_path):
    config = _config(inputs, tmp_path)
    before = _training(config)
    schema = inputs / "schema.pbtxt"
    schema.write_text("# reviewed 2026-12-02\n" + schema.read_text().replace("\n", "\n\n"))
    assert _training(config) == before


@pytest.mark.parametrize("setting, value, expected", [
    ("training", {"train_steps": 300}, {"Trainer"}),
    ("training", {"devices": "gpu"}, {"Trainer"}),  # a model trained where a GPU was required is another model
    ("explainer", {"max_examples": 50}, {"Explainer"}),
    ("evaluation", {"auc_threshold": 0.6}, {"Evaluator"}),
])
def test_a_config_edit_reruns_the_steps_it_shapes(setting, value, expected, inputs, tmp_path):
    before = _training(_config(inputs, tmp_path))
    after = _training(_config(inputs, tmp_path, **{setting: value}))
    assert {node for node in before if before[node] != after[node]} == expected


def test_a_rotated_pseudonymization_key_reruns_privacy(inputs, tmp_path, monkeypatch):
    config = _config(inputs, tmp_path)
    monkeypatch.setenv("GLASSBOX_PSEUDONYM_KEY", "first-key-0123456789abcdef")
    before = _training(config)
    monkeypatch.setenv("GLASSBOX_PSEUDONYM_KEY", "second-key-0123456789abcdef")
    after = _training(config)
    assert {node for node in before if before[node] != after[node]} == {"Privacy"}
    assert b"first-key" not in before["Privacy"] and b"second-key" not in after["Privacy"]


def test_glassbox_s_own_modules_are_imported_and_their_code_is_in_the_cache_key(tmp_path):
    """Without module files of the user's own, Transform and Trainer import pipeline.modules (no wheel built or
    pip-installed) and carry the folder's digest, the files TFX would hash into a wheel: an edit there reruns both."""
    config = load_config(output_dir=tmp_path / "outputs")
    steps = {c.id: c.exec_properties for c in create_pipeline(config).components}
    for step, function, module in (("Transform", "preprocessing_fn", "preprocessing"),
                                   ("Trainer", "run_fn", "training")):
        assert steps[step]["module_file"] is None
        assert steps[step][function] == f"pipeline.modules.{module}.{function}"
        assert json.loads(steps[step]["custom_config"])[CODE_DIGEST_KEY] == code_digest(MODULES_DIR)
    folder = tmp_path / "modules"
    shutil.copytree(MODULES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(folder) == code_digest(MODULES_DIR)
    (folder / "training.py").rename(folder / "trained.py")  # a file's name is hashed too
    assert code_digest(folder) != code_digest(MODULES_DIR)
    (folder / "trained.py").rename(folder / "training.py")
    _edit(folder / "training.py", '"""', '"""Edited. ')
    assert code_digest(folder) != code_digest(MODULES_DIR)


def test_a_trainer_carries_the_settings_of_its_own_model_kind_only():
    """Editing the scorecard's settings reruns the scorecard's Trainer, not the network's (and the other way)."""
    from pipeline.pipeline import trainer_custom_config

    config = load_config()
    scorecard = config.training.scorecard.model_copy(update={"base_score": 500})
    edited = config.model_copy(update={"training": config.training.model_copy(update={"scorecard": scorecard})})
    network = trainer_custom_config(config)
    assert network["model"] == "network" and not {"scorecard", "rules", "challengers"} & set(network)
    assert trainer_custom_config(edited) == network
    assert trainer_custom_config(edited, kind="scorecard") != trainer_custom_config(config, kind="scorecard")
    assert trainer_custom_config(config, kind="scorecard")["scorecard"]["base_score"] == 600
    assert "rules" not in trainer_custom_config(config, kind="scorecard")


def test_an_edit_of_glassbox_s_component_code_reruns_its_own_steps(inputs, tmp_path, monkeypatch):
    """TFX keys a step on its executor's class name, not its code: each of Glassbox's own steps carries the digest
    of components/ (components/code.py), so that changed code reruns them, and on their new outputs whatever
    follows. Python's bytecode caches do not count; a Kubeflow build carries no digest (its image holds the code)."""
    code = tmp_path / "components"
    shutil.copytree(COMPONENTS_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    assert components_digest(code) == components_digest()
    monkeypatch.setattr(pipeline_builder, "components_digest", lambda: components_digest(code))
    config = _config(inputs, tmp_path)
    before, monitoring = _training(config), _monitoring(config)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "audit.cpython-312.pyc").write_bytes(b"bytecode")
    assert _training(config) == before
    _edit(code / "model_audit" / "audit.py", '"""', '"""Edited. ')
    after = _training(config)
    assert {node for node in before if before[node] != after[node]} == {
        "Privacy", "ImportSchemaGen", "DataGate", "Explainer", "Evaluator", "ModelAudit"}
    edited = _monitoring(config)
    assert {node for node in monitoring if monitoring[node] != edited[node]} == {
        "Privacy", "ExampleValidator", "Explainer", "Monitor"}
    kubeflow = create_pipeline(load_config(output_dir=tmp_path / "kubeflow"), for_kubeflow=True).components
    assert not [c.id for c in kubeflow if CODE_DIGEST in c.exec_properties]
