"""Where the default run's time goes: wall clock per phase of every component, and cProfile of each.

    python bench/profile_run.py                        # the default run, no cache, in a temporary output folder
    python bench/profile_run.py --keep DIR             # also keep each section's .pstats and top-40 listing in DIR
    python bench/profile_run.py --beam-arg=--X=Y ...   # the same with extra Beam flags

One `glassbox run`-like run in this process (run_local, LocalDagRunner, Beam in memory as the direct profile runs
small inputs), with one cProfile profiler per section: start-up (imports, configuration), compile (LocalDagRunner
compiling the DAG, which packages module files into wheels), each component from LocalDagRunner's "is running" to
"is finished" plus the sealing of its outputs, and the runner's own time between steps and at the end. Each
section's wall clock is split into the phases below by the cumulative time cProfile gives the functions named in
PHASES ("executor" is TFX's run_executor: the executor's construction, where Beam executors build TFX's sdist, and
its Do). cProfile slows Python code (not TensorFlow's C++), so walls here are higher than without it; the shares
are what the table is for.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

# (file suffix, function name, ...): the cumulative time of those functions is the phase's time.
PHASES: Dict[str, Tuple[str, ...]] = {
    "TFX sdist build": ("tfx/utils/dependency_utils.py", "build_ephemeral_package"),
    "module wheel build": ("tfx/components/util/udf_utils.py", "package_user_module_file"),
    "module wheel pip install": ("tfx/components/util/udf_utils.py", "install_to_temp_directory"),
    "executor": ("tfx/orchestration/portable/python_executor_operator.py", "run_executor",
                 "tfx/orchestration/portable/beam_executor_operator.py", "run_executor"),
    "Beam Pipeline.run": ("apache_beam/pipeline.py", "run"),
    "tf.function tracing": ("tensorflow/python/eager/polymorphic_function/tracing_compilation.py",
                            "_create_concrete_function"),
    "SavedModel save": ("tensorflow/python/saved_model/save.py", "save_and_return_nodes"),
    "SavedModel load": ("tensorflow/python/saved_model/load.py", "load_partial"),
    "seal outputs": ("pipeline/records/integrity.py", "seal_run"),
}


def phase_times(stats: pstats.Stats) -> Dict[str, Tuple[float, int]]:
    """(cumulative seconds, primitive calls) of each phase's function in `stats`."""
    found = {name: (0.0, 0) for name in PHASES}
    for (filename, _, function), (calls, _, _, cumulative, _) in stats.stats.items():
        for name, pairs in PHASES.items():
            if any(function == wanted and filename.endswith(suffix) for suffix, wanted in zip(pairs[::2], pairs[1::2])):
                seconds, count = found[name]
                found[name] = (seconds + cumulative, count + calls)
    return found


class Sections:
    """One profiler per section; `switch` ends the current section and starts the next."""

    def __init__(self):
        self.walls: Dict[str, float] = {}
        self.stats: Dict[str, pstats.Stats] = {}
        self._name, self._profiler, self._since = None, None, 0.0

    def switch(self, name: str | None) -> None:
        now = time.monotonic()
        if self._profiler is not None:
            self._profiler.disable()
            self.walls[self._name] = self.walls.get(self._name, 0.0) + now - self._since
            stats = pstats.Stats(self._profiler)
            if self._name in self.stats:
                self.stats[self._name].add(stats)
            else:
                self.stats[self._name] = stats
        self._name, self._profiler, self._since = name, None, now
        if name is not None:
            self._profiler = cProfile.Profile()
            self._profiler.enable()


def table(sections: Sections) -> str:
    names = list(PHASES)
    lines = ["| section | wall (s) | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for section, wall in sections.walls.items():
        phases = phase_times(sections.stats[section])
        cells = [f"{seconds:.1f}" + (f" ({calls}×)" if calls > 1 else "") if calls else "-"
                 for seconds, calls in (phases[name] for name in names)]
        lines.append(f"| {section} | {wall:.1f} | " + " | ".join(cells) + " |")
    lines.append(f"| **all** | {sum(sections.walls.values()):.1f} | " + " |" * len(names))
    return "\n".join(lines)


def top_functions(stats: pstats.Stats, count: int) -> str:
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(count)
    return out.getvalue()


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write each section's .pstats and top functions here")
    parser.add_argument("--beam-arg", action="append", default=[], dest="beam_args")
    parser.add_argument("--top", type=int, default=3, help="print the top functions of the N slowest components")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sections = Sections()
    sections.switch("start-up (imports, configuration)")
    from pipeline.config import load_config
    from pipeline.runners.local import run_local

    with tempfile.TemporaryDirectory(prefix="glassbox-profile-") as output:
        config = load_config(output_dir=Path(output), enable_cache=False, extra_beam_args=args.beam_args)
        os.environ.setdefault("GLASSBOX_PSEUDONYM_KEY", "glassbox-bench-key-not-a-secret")
        sections.switch("compile (DAG, module wheels)")

        def on_event(kind: str, component: str, seconds: float) -> None:
            sections.switch(component if kind == "start" else "runner (between steps; scratch removed at the end)")

        run_local(config, on_event=on_event)
        sections.switch(None)
    print(table(sections))
    components = sorted(sections.walls, key=lambda name: -sections.walls[name])
    for name in components[:args.top]:
        print(f"\n### {name}: top functions by cumulative time\n")
        print(top_functions(sections.stats[name], 25))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, stats in sections.stats.items():
            stem = "".join(c if c.isalnum() else "_" for c in name)
            stats.dump_stats(str(args.keep / f"{stem}.pstats"))
            (args.keep / f"{stem}.txt").write_text(top_functions(stats, 40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
