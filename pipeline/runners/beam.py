"""Beam runner profiles: the pipeline arguments every Beam-powered component gets, checked by Beam itself.

A profile names the runner and the flags that runner cannot do without; the flags themselves come from
configuration (`beam_args`) or `--beam-arg`. The whole list is parsed with the parser Beam's own
`PipelineOptions` builds, so an unknown flag, a malformed value or a missing required flag fails before
any component runs, with one sentence, instead of deep inside the first Beam job.
"""

from __future__ import annotations

import argparse
from typing import Dict, List, NamedTuple, Tuple


class BeamProfile(NamedTuple):
    runner: str
    required: Tuple[str, ...]  # option names (dest) the runner needs from the user
    defaults: Tuple[str, ...] = ()


# Every Beam step's executor packages the installed TFX into a 49 MB sdist for remote workers, unless the Beam flags
# already name a package, a requirements file or a container image (tfx/utils/dependency_utils.py,
# make_beam_dependency_flags, called by BaseBeamExecutor): 1.5 s and 49 MB per step. DirectRunner stages nothing
# (its workers are this machine's Python, in this environment), so the direct profile says so the way TFX reads it:
# the workers' extra requirements are an empty file. The cluster profiles leave staging to TFX and the user.
NOTHING_TO_STAGE = "--requirements_file=/dev/null"

PROFILES: Dict[str, BeamProfile] = {
    # Worker processes, one per core of whichever machine runs the step (0 = all cores, Beam's own rule).
    "direct": BeamProfile(
        "DirectRunner", (), ("--direct_running_mode=multi_processing", "--direct_num_workers=0", NOTHING_TO_STAGE)
    ),
    "dataflow": BeamProfile("DataflowRunner", ("project", "region", "temp_location")),
    "flink": BeamProfile("FlinkRunner", ("flink_master",)),
    "spark": BeamProfile("SparkRunner", ("spark_master_url",)),
    "portable": BeamProfile("PortableRunner", ("job_endpoint",)),
}


# Below this much input the direct profile runs in memory, in one process: DirectRunner's worker processes each
# import TensorFlow, which costs more than a second core saves on small data. The default pipeline on the
# 1,000-row German-credit data (200 KB): 114 s in memory against 149 s with two worker processes, and 116 CPU-s
# against 191 (same machine, one after the other). The boundary, about 40,000 German-credit rows, is a cautious
# guess, not a measurement; bench/end_to_end.py compares the modes at any size with --beam-arg.
SMALL_INPUT_BYTES = 8 * 2**20
IN_MEMORY = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def in_memory_context(tmp_dir: str, unique_id: str):
    """A Beam executor's context that runs its pipeline in this process and stages nothing: an executor called by
    hand on a recorded step's inputs (bench/step.py, the tests), as a run executes a step on small data."""
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor

    return BaseBeamExecutor.Context(beam_pipeline_args=[*IN_MEMORY, NOTHING_TO_STAGE], tmp_dir=tmp_dir,
                                    unique_id=unique_id)


class BeamArgsError(ValueError):
    """Beam arguments that the profile's runner would reject or lacks."""


def _beam_parser() -> argparse.ArgumentParser:
    """The parser `PipelineOptions` builds from every options class Beam defines, raising instead of exiting."""
    from apache_beam.options.pipeline_options import PipelineOptions

    captured = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=captured.append)
    parser = captured[0]

    def error(message: str):
        raise BeamArgsError(message)

    parser.error = error
    return parser


def beam_pipeline_args(profile: str, extra: List[str], input_bytes: int | None = None) -> List[str]:
    """The profile's runner and defaults followed by `extra` (later flags win), validated. `input_bytes`, the size
    of the pipeline's input where it is known, turns the direct profile's defaults to one in-memory process for
    small inputs."""
    if profile not in PROFILES:
        raise BeamArgsError(f"unknown Beam profile '{profile}'; expected one of {', '.join(PROFILES)}")
    runner, required, defaults = PROFILES[profile]
    if profile == "direct" and input_bytes is not None and input_bytes < SMALL_INPUT_BYTES:
        defaults = (*IN_MEMORY, NOTHING_TO_STAGE)
    args = [f"--runner={runner}", *defaults, *extra]
    if not extra and not required:
        # Only the profile's own flags, which tests/unit/test_beam_profiles.py parses with Beam's parser: nothing of
        # the user's to check, and importing Beam to build the parser cost every `glassbox` command 3-5 s.
        return args
    parser = _beam_parser()
    parsed, unknown = parser.parse_known_args(args)
    if unknown:
        raise BeamArgsError(f"Beam does not know the flag(s) {' '.join(unknown)} (profile '{profile}')")
    if parsed.runner != runner:
        raise BeamArgsError(f"profile '{profile}' runs {runner}, but the flags ask for --runner={parsed.runner}")
    # Beam's own default (Flink's "[auto]", an embedded local cluster) is no answer for a cluster runner.
    missing = [f"--{name}" for name in required if getattr(parsed, name) in (None, "", parser.get_default(name))]
    if missing:
        raise BeamArgsError(f"profile '{profile}' ({runner}) needs {', '.join(missing)} in beam_args or --beam-arg")
    return args
