"""A run's temporary files, kept in one folder that is removed when the run ends.

TFX writes to the system temporary folder and never cleans up after itself:
- Every Beam step builds a source package of the installed TFX for remote workers. This is
  `tfx/utils/dependency_utils.py`, and the package is a 49 MB `tfx_ephemeral` sdist. TFX builds it unless the Beam
  arguments name a package, a requirements file or a container image, and it builds it even for DirectRunner,
  which stages nothing.
- The Transform and Trainer module files become wheels in three temporary folders each
  (`tfx/components/util/udf_utils.py`).

One default run left 14 folders (293 MB). A day of test runs on one machine left 61 GB and filled its disk.
Inside `scratch_tempdir()`, Python's `tempfile` and the `TMPDIR` of child processes (Beam's workers, the wheel
builds) point at a fresh folder, and that folder is deleted on the way out, whether the run failed or not. A
process killed outright (SIGKILL, the OOM killer) cannot delete its folder. Each folder is named after its
process id, and the next scratch folder made in the same place removes the folders of processes that are gone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable)

PREFIX = "glassbox-run-"
_OWNER = re.compile(re.escape(PREFIX) + r"(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def _remove_orphans(parent: str | Path) -> None:
    """Deletes the scratch folders in `parent` whose process no longer exists."""
    for entry in Path(parent).iterdir():
        owner = _OWNER.match(entry.name)
        if owner and entry.is_dir() and not _alive(int(owner.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def scratch_tempdir() -> Iterator[str]:
    """Sends temporary files to a new folder inside the current temporary folder, and deletes that folder on exit
    (and any folder left there by a process that was killed)."""
    _remove_orphans(tempfile.gettempdir())
    scratch = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    saved_tempdir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = scratch
    os.environ["TMPDIR"] = scratch
    try:
        yield scratch
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(scratch, ignore_errors=True)


def in_scratch_tempdir(function: F) -> F:
    """`function`, each call of it inside its own `scratch_tempdir()` (for callables that a scheduler runs)."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with scratch_tempdir():
            return function(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
