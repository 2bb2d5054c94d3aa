"""bench/end_to_end.py's plain TFX side: TFX's eight standard components with Glassbox's own settings."""

import importlib.util
import sys
from pathlib import Path

from pipeline.config import REPO_ROOT, load_config
from pipeline.pipeline import create_pipeline
from pipeline.runners.beam import NOTHING_TO_STAGE

sys.path.insert(0, str(REPO_ROOT / "bench"))
from end_to_end import PLAIN_TRANSFORM_MODULE, STANDARD_STEPS, create_plain_pipeline, plain_config  # noqa: E402

DATA = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"
SHARED_SETTINGS = {
    "CsvExampleGen": ["output_config"],
    "Transform": ["disable_statistics"],
    "Trainer": ["train_args", "eval_args"],
    "Evaluator": ["eval_config"],
}
# The plain side gives TFX the module file that Glassbox imports from the installed project.
SAME_CODE = {"Trainer": "run_fn"}


def test_the_plain_side_is_the_standard_components_with_the_same_settings(tmp_path: Path):
    config = load_config(output_dir=tmp_path, extra_beam_args=["--direct_num_workers=1"])
    plain = {c.id: c for c in create_plain_pipeline(plain_config(config, DATA)).components}
    glassbox = create_pipeline(config)
    assert set(plain) == {*STANDARD_STEPS, "latest_blessed_model_resolver"}
    # Plain TFX builds its sdist at every Beam step; Glassbox's direct profile tells TFX that DirectRunner needs none.
    assert create_plain_pipeline(config).beam_pipeline_args == [
        arg for arg in glassbox.beam_pipeline_args if arg != NOTHING_TO_STAGE]
    ours = {c.id: c for c in glassbox.components}
    for step, names in SHARED_SETTINGS.items():
        for name in names:
            assert plain[step].exec_properties[name] == ours[step].exec_properties[name], (step, name)
    for step, function in SAME_CODE.items():
        module = Path(plain[step].exec_properties["module_file"])
        assert ours[step].exec_properties[function] == f"pipeline.modules.{module.stem}.{function}"
        assert module.parent == REPO_ROOT / "pipeline" / "modules"
    assert Path(plain["Transform"].exec_properties["module_file"]) == PLAIN_TRANSFORM_MODULE


def test_the_plain_transform_module_makes_glassbox_s_features_with_an_analyzer_per_column(tmp_path: Path, monkeypatch):
    import numpy as np
    import tensorflow as tf
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import schema_utils
    from tensorflow_transform.tf_metadata.dataset_metadata import DatasetMetadata

    from pipeline.modules import preprocessing

    # The module file by its path, as TFX loads it (a `preprocessing` already imported must not stand in for it),
    # under a name of its own that tf.Transform's pickling of the function can find.
    spec = importlib.util.spec_from_file_location("plain_preprocessing", PLAIN_TRANSFORM_MODULE)
    plain_preprocessing = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, plain_preprocessing)
    spec.loader.exec_module(plain_preprocessing)

    rows = [{"amount": [float(i * 7 % 11)], "term": [12, 24][i % 2:i % 2 + 1] if i % 3 else [],
             "purpose": [b"car", b"tv", b"car", b"repairs"][i % 4:i % 4 + 1], "age": [20 + 3 * i], "risk": [b"1"]}
            for i in range(12)]
    metadata = DatasetMetadata(schema_utils.schema_from_feature_spec({
        "amount": tf.io.FixedLenFeature([1], tf.float32), "term": tf.io.VarLenFeature(tf.int64),
        "purpose": tf.io.FixedLenFeature([1], tf.string), "age": tf.io.FixedLenFeature([1], tf.int64),
        "risk": tf.io.FixedLenFeature([1], tf.string)}))
    config = {"label": "risk", "positive_label": "1", "non_features": [], "band_features": {"age": [25, 35]}}
    outputs = []
    for name, module in (("glassbox", preprocessing), ("plain", plain_preprocessing)):
        with tft_beam.Context(temp_dir=str(tmp_path / name)):
            (transformed, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
                lambda inputs, module=module: module.preprocessing_fn(inputs, config))
            _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / name / "out"))
        outputs.append((transformed, tft.TFTransformOutput(str(tmp_path / name / "out"))))
    (ours, our_output), (theirs, their_output) = outputs
    assert [sorted(row) for row in ours] == [sorted(row) for row in theirs]
    for name in ours[0]:
        mine, reference = [row[name] for row in ours], [row[name] for row in theirs]
        if isinstance(mine[0], (float, np.floating)):  # z-scores: the same to float rounding
            np.testing.assert_allclose(mine, reference, atol=1e-6, err_msg=name)
        else:  # the label, vocabulary indices and bands
            assert mine == reference, name
    assert our_output.vocabulary_by_name("purpose") == their_output.vocabulary_by_name("purpose")


def test_the_plain_model_skips_every_column_the_privacy_policy_does_not_keep():
    non_features = plain_config(load_config(), DATA).non_features
    assert set(non_features) == {"applicant_id", "notes", "applicant_name", "email", "phone", "iban",
                                 "street_address", "date_of_birth"}
    assert len(non_features) == len(set(non_features))
