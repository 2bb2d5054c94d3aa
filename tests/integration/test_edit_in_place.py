"""The defect that made policies content: a privacy policy edited in place was served from the cache, and the
de-identified examples kept the column the edit dropped. Here, on a copy of the session run's store, real runs of
the pipeline's first steps show the step rerun on the edit (and only then), the edit applied, and lineage diff
naming the policy's new digest. (tests/unit/test_cache_keys.py covers every other file, step by step.)"""

import shutil

import pytest
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.pipeline import RunOptions

from components.files import split_records
from components.privacy.examples import feature_names
from pipeline import metadata
from pipeline.pipeline import create_pipeline
from pipeline.records import mlmd
from pipeline.records.lineage import Lineage
from pipeline.records.runs import diff_facts, run_facts
from pipeline.records.summary import auc_by_slice
from tests.helpers import copy_of_store

pytestmark = pytest.mark.e2e


def _run_to_privacy(config) -> dict:
    """ExampleGen and Privacy, as `glassbox run` builds them (a partial run of the same DAG): their states."""
    LocalDagRunner().run(create_pipeline(config), run_options=RunOptions(to_nodes=["Privacy"]))
    return {n.node_id: n.state for n in mlmd.run_executions(metadata.open_store(config), config.pipeline_name)
            if n.node_id in ("CsvExampleGen", "Privacy")}


def test_a_privacy_policy_edited_in_place_reruns_privacy_and_takes_effect(pipeline_run, tmp_path):
    config, _ = pipeline_run
    policy = tmp_path / "privacy_policy.yaml"
    shutil.copy(config.privacy_policy, policy)
    config = copy_of_store(config, tmp_path).model_copy(update={"privacy_policy": policy})

    assert _run_to_privacy(config) == {"CsvExampleGen": "CACHED", "Privacy": "COMPLETE"}  # the policy's new path
    assert _run_to_privacy(config) == {"CsvExampleGen": "CACHED", "Privacy": "CACHED"}
    text = policy.read_text()
    assert "notes: {action: redact_pii}" in text
    policy.write_text(text.replace("notes: {action: redact_pii}", "notes: {action: drop}"))
    assert _run_to_privacy(config) == {"CsvExampleGen": "CACHED", "Privacy": "COMPLETE"}

    store = metadata.open_store(config)
    runs = mlmd.run_ids(store, config.pipeline_name)
    privacy = mlmd.run_executions(store, config.pipeline_name, runs[-1])[-1]
    examples = mlmd.output_artifacts(store, privacy.execution.id)["deidentified_examples"][0]
    assert "notes" not in feature_names(split_records(f"{examples.uri}/Split-train", limit=1)[0])
    lineage = Lineage(store, config.pipeline_name)
    changes = {key: (a, b) for key, a, b in diff_facts(run_facts(lineage, runs[-2], auc_by_slice),
                                                        run_facts(lineage, runs[-1], auc_by_slice))}
    before, after = changes["inputs.Privacy.policy"]
    assert before.startswith(f"{policy} sha256 ") and after.startswith(f"{policy} sha256 ") and before != after
