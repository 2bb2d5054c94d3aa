"""The image track at 28 x 28 (configs/digits28.yaml): the bundled digits upscaled, converted by the documented
commands, run end to end; every method's maps at full size, memory bounded by the batch."""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from components.files import split_records
from pipeline import metadata
from pipeline.config import REPO_ROOT, load_config
from pipeline.records import mlmd

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def digits28_run(tmp_path_factory):
    from pipeline.runners.local import run_local

    root = tmp_path_factory.mktemp("digits28")
    for command in (["make_digits_data.py", "--size", "28", "--out", str(root / "digits28.npz")],
                    ["images_to_tfrecords.py", "--images", str(root / "digits28.npz"), "--out", str(root / "data"),
                     "--schema", str(root / "schema.pbtxt")]):
        subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / command[0]), *command[1:]], check=True,
                       capture_output=True)
    # The converter writes the contract committed for this data.
    assert (root / "schema.pbtxt").read_text() == (REPO_ROOT / "schemas" / "digits28" / "schema.pbtxt").read_text()
    config = load_config(REPO_ROOT / "configs" / "digits28.yaml", output_dir=root / "outputs",
                         data_dir=root / "data")
    # The config as shipped, trained and explained less, its explanations' quality measured on fewer images: what is
    # tested is that every step takes 28 x 28 images and every method's maps come out at full size, not how well this
    # network learns or how good its maps are (test_digits_e2e.py judges both).
    explained = config.image.explainer.model_copy(update={"max_examples": 48, "marker_epochs": 8,
                                                          "quality_examples": 30, "randomization_examples": 20})
    config = config.model_copy(update={"training": config.training.model_copy(update={"train_steps": 120}),
                                       "image": config.image.model_copy(update={"explainer": explained})})
    started = time.monotonic()
    run_local(config)
    return config, time.monotonic() - started


def test_a_28_by_28_run_explains_every_image_with_every_method(digits28_run):
    config, seconds = digits28_run
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[0]
    nodes = {n.node_id: n for n in mlmd.run_executions(store, config.pipeline_name, run_id)}
    assert {"ImportExampleGen", "Transform", "Trainer", "Explainer", "Evaluator", "ModelAudit"} <= set(nodes)
    assert all(node.state == "COMPLETE" for node in nodes.values()), {k: n.state for k, n in nodes.items()}
    (explanations,) = mlmd.output_artifacts(store, nodes["Explainer"].execution.id)["explanations"]
    root = Path(explanations.uri)
    with np.load(root / "attributions.npz") as arrays:
        n = len(arrays["label"])
        for method in config.image.explainer.methods:
            assert arrays[f"attribution.{method}"].shape == (n, 28, 28, 1), method
    # 48 images explained, every eval image scored: the audit judges accuracy on all of them.
    (examples,) = mlmd.output_artifacts(store, nodes["ImportExampleGen"].execution.id)["examples"]
    with np.load(root / "predictions.npz") as arrays:
        assert arrays["probabilities"].shape == (len(split_records(str(Path(examples.uri, "Split-eval")))), 10)
        assert n == 48 < len(arrays["label"])
    quality = json.loads((root / "quality.json").read_text())
    assert quality["ground_truth"]["planted_marker"]["marker"]["share_of_pixels"] == pytest.approx(49 / 784)
    per_image = {m: round(e["seconds_per_image"], 4) for m, e in quality["methods"].items()}
    # ru_maxrss is in KiB on Linux: the peak of this process, which ran every component in turn.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"digits28 pipeline: {seconds:.1f} s, {n} eval images, peak RSS {peak:.2f} GiB, "
          f"seconds per image {per_image}")
    print("planted marker:", json.dumps(quality["ground_truth"]["planted_marker"]["methods"]))
