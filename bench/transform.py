"""TFX's Transform executor alone, on the inputs of a finished run's Transform step, with the preprocessing code of
several checkouts side by side (each run a fresh process; the variants interleaved so that they share the load).

    python bench/transform.py --run OUTPUT_DIR --variant before=/tmp/snapshot --variant after=. --repeats 2

OUTPUT_DIR is a `glassbox run --output` folder with a SQLite store: the step's examples, schema and custom_config
come from its last Transform execution. A variant is NAME=CHECKOUT: `pipeline.modules.preprocessing` is imported
from that checkout. Beam runs in memory, as the direct profile runs small inputs. It prints each variant's median
seconds in the executor's `Do` and its ratio to the first variant; `--compare` also checks that every variant wrote
the first one's transformed examples (floats to 1e-5) and vocabulary files.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

BEAM_ARGS = ["--direct_running_mode=in_memory", "--direct_num_workers=1", "--requirements_file=/dev/null"]


def transform_inputs(run_dir: Path) -> Tuple[str, List[str], str, str]:
    """(examples URI, split names, schema URI, custom_config JSON) of the store's last Transform execution."""
    store = sqlite3.connect(run_dir / "metadata.sqlite")
    (execution,) = store.execute(
        "SELECT e.id FROM Execution e JOIN Type t ON e.type_id = t.id WHERE t.name LIKE '%Transform' "
        "ORDER BY e.id DESC LIMIT 1").fetchone() or (None,)
    if execution is None:
        sys.exit(f"{run_dir / 'metadata.sqlite'}: no Transform execution")
    (config,) = store.execute("SELECT string_value FROM ExecutionProperty WHERE execution_id = ? AND "
                              "name = 'custom_config'", (execution,)).fetchone()
    inputs = dict(store.execute(
        "SELECT t.name, a.id FROM Event ev JOIN Artifact a ON ev.artifact_id = a.id JOIN Type t ON a.type_id = t.id "
        "WHERE ev.execution_id = ? AND ev.type = 3", (execution,)).fetchall())  # 3: INPUT
    uri = dict(store.execute(f"SELECT id, uri FROM Artifact WHERE id IN ({','.join('?' * len(inputs))})",
                             list(inputs.values())).fetchall())
    (splits,) = store.execute("SELECT string_value FROM ArtifactProperty WHERE artifact_id = ? AND "
                              "name = 'split_names'", (inputs["Examples"],)).fetchone()
    return uri[inputs["Examples"]], json.loads(splits), uri[inputs["Schema"]], config


def run_executor(examples: str, splits: List[str], schema: str, custom_config: str, out: str) -> float:
    """In this process: TFX's Transform executor's `Do` on the inputs; its seconds."""
    import time

    from tfx.components.transform import executor as transform_executor
    from tfx.types import artifact_utils, standard_artifacts

    def artifact(kind, uri, split_names=None):
        made = kind()
        made.uri = uri
        if split_names:
            made.split_names = artifact_utils.encode_split_names(split_names)
        return made

    outputs = {"transform_graph": [artifact(standard_artifacts.TransformGraph, f"{out}/graph")],
               "transformed_examples": [artifact(standard_artifacts.Examples, f"{out}/examples", splits)],
               "updated_analyzer_cache": [artifact(standard_artifacts.TransformCache, f"{out}/cache")]}
    properties = {"preprocessing_fn": "pipeline.modules.preprocessing.preprocessing_fn", "custom_config": custom_config,
                  "force_tf_compat_v1": 0, "disable_statistics": 1, "disable_analyzer_cache": 0,
                  "splits_config": None, "module_file": None, "module_path": None, "stats_options_updater_fn": None}
    context = transform_executor.base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=BEAM_ARGS, tmp_dir=f"{out}/tmp", unique_id="bench")
    started = time.perf_counter()
    transform_executor.Executor(context).Do(
        {"examples": [artifact(standard_artifacts.Examples, examples, splits)],
         "schema": [artifact(standard_artifacts.Schema, schema)]}, outputs, properties)
    return time.perf_counter() - started


def same_outputs(first: Path, other: Path) -> List[str]:
    """What differs between two outputs: a transformed example (floats beyond 1e-5) or a vocabulary file."""
    import glob

    import numpy as np
    import tensorflow as tf

    def rows(root: Path, split: str) -> list:
        files = sorted(glob.glob(str(root / "examples" / split / "*")))
        return [tf.train.Example.FromString(record.numpy()).features.feature
                for record in tf.data.TFRecordDataset(files, compression_type="GZIP")]

    problems = []
    for asset in sorted((first / "graph" / "transform_fn" / "assets").glob("*")):
        theirs = other / "graph" / "transform_fn" / "assets" / asset.name
        if not theirs.exists() or theirs.read_bytes() != asset.read_bytes():
            problems.append(f"vocabulary {asset.name}")
    for split in sorted(p.name for p in (first / "examples").iterdir()):
        mine, theirs = rows(first, split), rows(other, split)
        if len(mine) != len(theirs):
            problems.append(f"{split}: {len(mine)} rows against {len(theirs)}")
            continue
        for a, b in zip(mine, theirs):
            if set(a) != set(b):
                problems.append(f"{split}: features {sorted(set(a) ^ set(b))}")
                break
            bad = [name for name in a if not np.allclose(
                np.array(a[name].float_list.value or a[name].int64_list.value, dtype=float),
                np.array(b[name].float_list.value or b[name].int64_list.value, dtype=float), rtol=0, atol=1e-5)]
            if bad:
                problems.append(f"{split}: {bad}")
                break
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run's output folder (SQLite store)")
    parser.add_argument("--variant", action="append", default=[], help="NAME=CHECKOUT (repeatable; first = base)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="check the variants' outputs against the first's")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        examples, splits, schema, config, out = args.child
        print(json.dumps({"seconds": run_executor(examples, json.loads(splits), schema, config, out)}))
        return 0
    if not args.run or not args.variant:
        parser.error("--run and at least one --variant are needed")
    examples, splits, schema, config = transform_inputs(args.run)
    variants = [(name, Path(path).resolve()) for name, _, path in (v.partition("=") for v in args.variant)]
    seconds: Dict[str, List[float]] = {name: [] for name, _ in variants}
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as scratch:
        for repeat in range(args.repeats):
            for name, checkout in variants:
                out = Path(scratch) / f"{name}-{repeat}"
                done = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--child", examples, json.dumps(splits), schema,
                     config, str(out)], cwd=checkout, env=dict(os.environ, PYTHONPATH=str(checkout)),
                    capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"variant {name} failed:\n{done.stderr[-3000:]}")
                seconds[name].append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
                print(f"  {name} run {repeat + 1}: {seconds[name][-1]:.1f} s", flush=True)
        base = statistics.median(seconds[variants[0][0]])
        print(f"\nTransform executor Do on {examples} ({args.repeats} runs each, median)")
        for name, _ in variants:
            median = statistics.median(seconds[name])
            print(f"  {name:<12} {median:7.1f} s  {median / base:5.2f}x   runs: "
                  + ", ".join(f"{s:.1f}" for s in seconds[name]))
        if args.compare:
            first = Path(scratch) / f"{variants[0][0]}-0"
            for name, _ in variants[1:]:
                problems = same_outputs(first, Path(scratch) / f"{name}-0")
                print(f"  {name}: " + ("the same transformed examples and vocabularies" if not problems
                                       else "DIFFERS: " + "; ".join(problems)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
