"""Configuration and input errors: one clear sentence, non-zero exit, before any pipeline work."""

import csv

import pytest

from components.csv_example_gen.dialect import BYTE_ORDER_MARK
from pipeline import cli
from pipeline.config import ConfigError, load_config
from pipeline.runners.preflight import PreflightError, preflight_check
from tests.helpers import read_rows, write_rows


def test_defaults_point_at_the_embedded_data():
    config = load_config()
    assert (config.data_dir / "german_credit_raw.csv").is_file()
    assert config.privacy_policy.is_file()
    assert config.schema_file.is_file()
    assert "--direct_running_mode=in_memory" in config.beam_pipeline_args  # 200 KB of data: no worker processes
    assert config.metadata_path.parent == config.output_dir


def test_yaml_paths_are_relative_to_the_file_and_overrides_win(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data_dir: mydata\ntraining:\n  train_steps: 5\n")
    config = load_config(path, output_dir=tmp_path / "out")
    assert config.data_dir == tmp_path / "mydata"
    assert config.training.train_steps == 5
    assert config.output_dir == tmp_path / "out"


def test_relative_path_flags_are_taken_from_the_current_folder_and_a_database_url_is_kept(tmp_path, monkeypatch):
    """`glassbox run --output out --data in` records absolute paths (artifact URIs, the input folder): another
    command run from elsewhere finds them, and the same folders named by a config file give the same cache keys."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "project").mkdir()
    path = tmp_path / "project" / "run.yaml"
    path.write_text("data_dir: ../data\noutput_dir: ../out\nserving:\n  decisions: postgresql://glassbox@db/records\n")
    from_flags = load_config(data_dir="data", output_dir="out", schema_file="schemas/schema.pbtxt")
    from_file = load_config(path)
    assert from_flags.output_dir == tmp_path / "out" and from_flags.schema_file == tmp_path / "schemas/schema.pbtxt"
    assert str(from_flags.data_dir) == str(tmp_path / "data")
    assert from_file.output_dir.resolve() == from_flags.output_dir and from_file.data_dir.resolve() == tmp_path / "data"
    assert from_file.serving.decisions == "postgresql://glassbox@db/records"


def test_custom_modules_replace_the_schema_driven_ones(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("transform_module: my_transform.py\n")
    config = load_config(path)
    assert config.module_file_transform == tmp_path / "my_transform.py"
    assert config.module_file_trainer.name == "training.py"


@pytest.mark.parametrize(
    "text, field",
    [
        ("training:\n  train_steps: -1\n", "training.train_steps"),
        ("trainig: {}\n", "trainig"),
        ("training:\n  strategy: gpu-please\n", "training.strategy"),
        ("split_buckets: {train: 9}\n", "split_buckets"),
        ("band_features: {age: [30, 20]}\n", "band_features"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and f"'{field}'" in str(error.value)


def test_a_config_in_another_encoding_is_named_not_decoded_by_the_locale(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("label: risk\nnon_features: [r\u00e9f\u00e9rence]\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^Config file {path} is not UTF-8 text \(byte 28\)\.$"):
        load_config(path)


def _run(capsys, *args):
    code = cli.main(["run", *map(str, args)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_missing_data_directory(capsys, tmp_path):
    code, err = _run(capsys, "--data", tmp_path / "nope", "--output", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "does not exist" in err[0]


def test_csv_without_the_label_column(capsys, data_copy, tmp_path):
    rows = read_rows(data_copy)
    write_rows(data_copy, rows, [c for c in rows[0] if c != "risk"])
    code, err = _run(capsys, "--data", data_copy.parent, "--output", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "no label column 'risk'" in err[0]


def test_missing_schema_file(capsys, tmp_path):
    code, err = _run(capsys, "--schema", tmp_path / "missing.pbtxt", "--output", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "missing.pbtxt does not exist" in err[0]


def test_unparsable_schema_file(capsys, tmp_path):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text("feature { name: 'risk' type: NOT_A_TYPE }")
    code, err = _run(capsys, "--schema", schema, "--output", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "not a valid tensorflow_metadata Schema" in err[0]


def test_non_utf8_csv(capsys, data_copy, tmp_path):
    data_copy.write_bytes(b"\xff\xferisk,sex\n")
    code, err = _run(capsys, "--data", data_copy.parent, "--output", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "not UTF-8" in err[0]


def test_the_header_is_read_as_csv_example_gen_reads_it(data_copy, tmp_path):
    """A byte-order mark, semicolons, quoted names, CRLF (Excel in a German locale): the label is found."""
    with data_copy.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with data_copy.open("w", newline="", encoding="utf-8") as f:
        f.write(BYTE_ORDER_MARK.decode("utf-8"))
        csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    preflight_check(load_config(data_dir=data_copy.parent, output_dir=tmp_path / "out"))


def test_a_header_that_names_a_column_twice(data_copy, tmp_path):
    header, rows = data_copy.read_text(encoding="utf-8").split("\n", 1)
    data_copy.write_text(f"{header},risk\n{rows}", encoding="utf-8")
    with pytest.raises(PreflightError, match=f"^{data_copy}: line 1: columns 1 and 18 are both named 'risk'; "):
        preflight_check(load_config(data_dir=data_copy.parent, output_dir=tmp_path / "out"))


def test_a_row_that_cannot_be_read_stops_the_run_with_one_sentence_and_nothing_written(capsys, data_copy, tmp_path):
    lines = data_copy.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].split(",", 1)[1]
    data_copy.write_text("".join(lines), encoding="utf-8")
    code, err = _run(capsys, "--data", data_copy.parent, "--output", tmp_path / "out")
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"glassbox: {data_copy}: line 5: 16 fields where the header names 17 (log: ")
    assert not list((tmp_path / "out").rglob("Split-*"))
