"""The session's pipeline run (the `pipeline_run` fixture in tests/conftest.py): the default pipeline on the embedded
data, made once per test session in a process of its own.

    python -m tests.session_run FOLDER

tests/conftest.py starts it as soon as the tests are collected, so that it runs beside the tests that do not need it,
and the tests that read it can go to any xdist worker: each waits for FOLDER/result.json. The run writes to
FOLDER/outputs, with FOLDER/tmp as its system temporary folder (TMPDIR, set by the caller); at the end it writes
FOLDER/result.json ({"seconds": ...}), or FOLDER/failed.txt (the traceback) when it failed.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path


def main(folder: Path) -> int:
    try:
        from pipeline.config import load_config
        from pipeline.runners.local import run_local

        started = time.monotonic()
        run_local(load_config(output_dir=folder / "outputs"))
        result, name = json.dumps({"seconds": time.monotonic() - started}), "result.json"
    except BaseException:  # noqa: BLE001 (whatever ended the run, the waiting tests are told)
        result, name = traceback.format_exc(), "failed.txt"
    partial = folder / f".{name}.partial"
    partial.write_text(result)
    os.replace(partial, folder / name)  # atomic: a waiting test reads all of it or nothing
    return 0 if name == "result.json" else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
