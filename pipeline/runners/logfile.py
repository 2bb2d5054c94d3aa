"""Sending a run's chatter to its log file while the terminal shows only progress."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Points file descriptors 1 and 2 at `log_file`, so that TensorFlow's C++ logs, Beam worker
    processes, pip (TFX installs user-code wheels) and Python warnings land there instead of
    burying the progress lines; Python's own `print` keeps writing to the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    previous_stdout = sys.stdout
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    with open(log_file, "a") as log:
        for fd in (1, 2):
            os.dup2(log.fileno(), fd)
    sys.stdout = terminal
    # Timestamps in the log (a no-op where a library configured logging already).
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stdout = previous_stdout
        terminal.close()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
