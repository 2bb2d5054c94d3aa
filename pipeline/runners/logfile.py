"""Sending a run's chatter to its log file while the terminal shows only progress, and native libraries' start-up
chatter away from the terminal of every command."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, TextIO

# What file descriptor 2 wrote while `native_stderr_captured` held it and no run's log file did.
_captured: BinaryIO | None = None
# The log file `output_to` last opened in this process.
_last_log: Path | None = None


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[TextIO]:
    """Points file descriptor 2 at an unlinked temporary file for the duration, and yields the stream that reaches the
    terminal's stderr (the Python `sys.stderr` of before, or a copy of the terminal's descriptor where that stream wrote
    to descriptor 2 itself). Why: TensorFlow 2.21 logs through C++ absl, which writes its INFO lines ("oneDNN custom
    operations are on", "Could not find cuda drivers", cpu_feature_guard) to descriptor 2 before
    absl::InitializeLog() is called, whatever TF_CPP_MIN_LOG_LEVEL says (abseil/abseil-cpp#1718, #1957). A run's log
    file takes what was captured before it opened (`output_to`); what no log file takes is discarded at the end, as
    TF_CPP_MIN_LOG_LEVEL=3 discards it on TensorFlow 2.16. Python's own sys.stderr keeps descriptor 2, so warnings and
    library logging follow it into the capture or the log."""
    global _captured
    sys.stderr.flush()
    try:
        to_terminal = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a stream on no descriptor (pytest's capsys): it is the terminal
        to_terminal = False
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1) if to_terminal else sys.stderr
    capture = tempfile.TemporaryFile()
    os.dup2(capture.fileno(), 2)
    _captured = capture
    try:
        yield terminal
    finally:
        sys.stderr.flush()
        terminal.flush()
        os.dup2(saved, 2)
        os.close(saved)
        _captured = None
        capture.close()
        if terminal is not sys.stderr:
            terminal.close()


def _take_captured() -> bytes:
    """What the capture holds so far, emptied (descriptor 2 shares its offset, so later writes start again at 0)."""
    if _captured is None:
        return b""
    _captured.seek(0)
    content = _captured.read()
    _captured.seek(0)
    _captured.truncate()
    return content


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Points file descriptors 1 and 2 at `log_file`, so that TensorFlow's C++ logs, Beam worker
    processes, pip (TFX installs user-code wheels) and Python warnings land there instead of
    burying the progress lines; Python's own `print` keeps writing to the terminal."""
    global _last_log
    log_file.parent.mkdir(parents=True, exist_ok=True)
    _last_log = log_file
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    previous_stdout = sys.stdout
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    with open(log_file, "ab") as log:
        log.write(_take_captured())  # the start-up chatter of this command, before the run began
        log.flush()
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


def stderr_to_log_until_exit() -> None:
    """Points file descriptor 2 at the last run's log file (or at nothing, where this process opened none) for the
    rest of the process: its command has printed its last line, and what the interpreter writes as it shuts down is
    no news to the user. TensorFlow objects collected after their modules were torn down print, for example,
    "Exception ignored in: <function AtomicFunction.__del__ ...> TypeError: 'NoneType' object is not subscriptable"
    once per function, a screenful after a run served from the cache."""
    sys.stderr.flush()
    target = os.open(_last_log if _last_log is not None else os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(target, 2)
    os.close(target)
