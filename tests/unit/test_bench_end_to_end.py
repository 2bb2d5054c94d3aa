"""bench/end_to_end.py's plain TFX side: TFX's eight standard components with Glassbox's own settings."""

import sys
from pathlib import Path

from pipeline.config import REPO_ROOT, load_config
from pipeline.pipeline import create_pipeline
from pipeline.runners.beam import NOTHING_TO_STAGE

sys.path.insert(0, str(REPO_ROOT / "bench"))
from end_to_end import STANDARD_STEPS, create_plain_pipeline, plain_config  # noqa: E402

DATA = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"
SHARED_SETTINGS = {
    "CsvExampleGen": ["output_config"],
    "Transform": ["disable_statistics"],
    "Trainer": ["train_args", "eval_args"],
    "Evaluator": ["eval_config"],
}
# The plain side gives TFX the module files that Glassbox imports from the installed project.
SAME_CODE = {"Transform": "preprocessing_fn", "Trainer": "run_fn"}


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


def test_the_plain_model_skips_every_column_the_privacy_policy_does_not_keep():
    non_features = plain_config(load_config(), DATA).non_features
    assert set(non_features) == {"applicant_id", "notes", "applicant_name", "email", "phone", "iban",
                                 "street_address", "date_of_birth"}
    assert len(non_features) == len(set(non_features))
