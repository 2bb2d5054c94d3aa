"""Beam runner profiles: flags checked by Beam's own parser before any pipeline work."""

import tempfile

import pytest

from pipeline import cli
from pipeline.config import ConfigError, load_config
from pipeline.runners.beam import (
    IN_MEMORY,
    NOTHING_TO_STAGE,
    PROFILES,
    SMALL_INPUT_BYTES,
    BeamArgsError,
    _beam_parser,
    beam_pipeline_args,
)

DATAFLOW = ["--project=my-project", "--region=europe-west4", "--temp_location=gs://my-bucket/tmp"]


def test_direct_is_the_default_with_a_worker_process_per_core_for_data_at_scale():
    args = beam_pipeline_args("direct", [], input_bytes=SMALL_INPUT_BYTES)
    assert args == ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=0",
                    NOTHING_TO_STAGE]
    assert beam_pipeline_args("direct", []) == args  # size unknown (data in a bucket): as at scale


def test_a_profile_s_own_flags_are_what_beam_s_parser_accepts_for_its_runner():
    """beam_pipeline_args returns a profile's flags unparsed when the user adds none: they must parse."""
    for profile, (runner, _, defaults) in PROFILES.items():
        for flags in (defaults, (*IN_MEMORY, NOTHING_TO_STAGE)):
            parsed, unknown = _beam_parser().parse_known_args([f"--runner={runner}", *flags])
            assert unknown == [] and parsed.runner == runner, profile


def test_small_local_data_runs_in_one_in_memory_process_unless_the_flags_say_otherwise(tmp_path):
    (tmp_path / "rows.csv").write_bytes(b"x" * 1000)
    config = load_config(data_dir=tmp_path)
    assert config.input_bytes == 1000
    assert config.beam_pipeline_args == ["--runner=DirectRunner", *IN_MEMORY, NOTHING_TO_STAGE]
    config = load_config(data_dir=tmp_path, extra_beam_args=["--direct_running_mode=multi_processing"])
    assert config.beam_pipeline_args[-1] == "--direct_running_mode=multi_processing"
    assert load_config(data_dir=tmp_path, beam_profile="flink", beam_args=["--flink_master=f:8081"]
                       ).beam_pipeline_args == ["--runner=FlinkRunner", "--flink_master=f:8081"]


def test_tfx_packages_itself_for_the_cluster_profiles_only(tmp_path, monkeypatch):
    """TFX's own rule (make_beam_dependency_flags, run by every Beam executor): the direct profile's flags say that
    its workers need nothing staged, so no 49 MB sdist is built; a cluster profile's flags still get TFX's package."""
    from tfx.utils.dependency_utils import make_beam_dependency_flags

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where TFX builds the sdist
    for input_bytes in (None, 1000):
        direct = beam_pipeline_args("direct", [], input_bytes=input_bytes)
        assert make_beam_dependency_flags(list(direct)) == direct
    assert list(tmp_path.iterdir()) == []
    dataflow = beam_pipeline_args("dataflow", DATAFLOW)
    staged = make_beam_dependency_flags(list(dataflow))
    assert staged[:-1] == dataflow and staged[-1].startswith("--extra_package=") and "tfx_ephemeral" in staged[-1]
    # A user's own package on the direct profile is still staged as given (later flags win).
    own = beam_pipeline_args("direct", ["--requirements_file=requirements.txt"])
    assert make_beam_dependency_flags(list(own)) == own


def test_direct_runner_runs_with_the_no_staging_flag_in_worker_processes():
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    args = beam_pipeline_args("direct", ["--direct_num_workers=2"])
    with beam.Pipeline(options=PipelineOptions(args)) as pipeline:
        assert_that(pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * x), equal_to([1, 4, 9]))


def test_extra_flags_come_after_the_profile_and_win():
    config = load_config(extra_beam_args=["--direct_num_workers=1"])
    assert config.beam_pipeline_args[-1] == "--direct_num_workers=1"


@pytest.mark.parametrize(
    "profile, args",
    [
        ("dataflow", DATAFLOW),
        ("flink", ["--flink_master=flink-jobmanager:8081", "--environment_type=LOOPBACK"]),
        ("spark", ["--spark_master_url=spark://spark-master:7077"]),
        ("portable", ["--job_endpoint=localhost:8099", "--environment_type=EXTERNAL",
                      "--environment_config=localhost:50000"]),
    ],
)
def test_each_profile_runs_its_runner_with_the_given_flags(profile, args):
    result = beam_pipeline_args(profile, args)
    assert result == [f"--runner={PROFILES[profile].runner}", *args]


@pytest.mark.parametrize(
    "profile, args, message",
    [
        ("dataflow", DATAFLOW[:2], "needs --temp_location"),
        ("dataflow", [], "needs --project, --region, --temp_location"),
        ("flink", [], "needs --flink_master"),
        ("spark", [], "needs --spark_master_url"),
        ("portable", [], "needs --job_endpoint"),
        ("direct", ["--direct_num_workrs=2"], "does not know the flag(s) --direct_num_workrs=2"),
        ("direct", ["--direct_num_workers=two"], "invalid int value: 'two'"),
        ("direct", ["--runner=DataflowRunner"], "runs DirectRunner, but the flags ask for --runner=DataflowRunner"),
        ("dataproc", [], "unknown Beam profile 'dataproc'"),
    ],
)
def test_bad_flags_fail_with_one_sentence(profile, args, message):
    with pytest.raises(BeamArgsError) as error:
        beam_pipeline_args(profile, args)
    assert message in str(error.value)


def test_a_config_file_with_bad_beam_flags_names_the_file(tmp_path):
    path = tmp_path / "dataflow.yaml"
    path.write_text("beam_profile: dataflow\nbeam_args: [--project=p, --region=r]\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: field 'beam_args': ") and "needs --temp_location" in str(error.value)
    with pytest.raises(ConfigError) as error:
        load_config(path, extra_beam_args=["--no_such_flag"])
    assert str(error.value).startswith(f"{path} and the command line: field 'beam_args': ")


def test_run_stops_before_any_work_on_a_missing_dataflow_flag(capsys, tmp_path):
    code = cli.main(["run", "--beam-profile", "dataflow", "--beam-arg=--project=p", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs --region, --temp_location" in err[0]
    assert not (tmp_path / "out").exists()
