"""The session's pipeline run (the `pipeline_run` fixture in tests/conftest.py): the default pipeline on the embedded
data, made once per test session in a process of its own.

    python -m tests.session_run FOLDER

tests/conftest.py starts it as soon as the tests are collected, so that it runs beside the tests that do not need it,
and the tests that read it can go to any xdist worker: each waits for FOLDER/result.json. The run writes to
FOLDER/outputs, with FOLDER/tmp as its system temporary folder (TMPDIR, set by the caller); at the end it writes
FOLDER/result.json ({"seconds": ...}), or FOLDER/failed.txt (the traceback) when it failed.

As Transform finishes, before any model is trained, it also writes FOLDER/upstream.sqlite, a copy of the store as it
is then: a test that trains another model on the same data runs on a copy of that (the `upstream_run` fixture), and
TFX's cache gives it every step up to Transform, with no trained or pushed model in the store to be its baseline.
"""

import contextlib
import json
import os
import sqlite3
import sys
import time
import traceback
from pathlib import Path


def main(folder: Path) -> int:
    try:
        from pipeline.config import load_config
        from pipeline.runners.local import run_local

        config = load_config(output_dir=folder / "outputs")

        def on_event(kind: str, component: str, seconds: float) -> None:
            if (kind, component) == ("finish", "Transform"):  # the runner runs one component at a time
                _copy_store(config.metadata_path, folder / "upstream.sqlite")

        started = time.monotonic()
        run_local(config, on_event)
        result, name = json.dumps({"seconds": time.monotonic() - started}), "result.json"
    except BaseException:  # noqa: BLE001 (whatever ended the run, the waiting tests are told)
        result, name = traceback.format_exc(), "failed.txt"
    partial = folder / f".{name}.partial"
    partial.write_text(result)
    os.replace(partial, folder / name)  # atomic: a waiting test reads all of it or nothing
    return 0 if name == "result.json" else 1


def _copy_store(source: Path, target: Path) -> None:
    """A consistent copy of SQLite file `source` (SQLite's backup), in place at `target` all at once."""
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.closing(sqlite3.connect(source)) as db, contextlib.closing(sqlite3.connect(partial)) as copy:
        db.backup(copy)
    os.replace(partial, target)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
