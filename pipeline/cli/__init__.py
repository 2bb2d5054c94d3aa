"""The `glassbox` command line: one parser (parser.py), one table from error to exit code (errors.py), and one module
per command group: run.py runs pipelines, records.py reads finished runs, project.py writes a project's files."""

from __future__ import annotations

import os
import warnings
from typing import List

# Quiet TensorFlow's C++ start-up chatter (its spurious "Unable to register cuDNN factory" lines are
# ERROR level) and Google client libraries' Python-version notices before anything imports them;
# a run's full log goes to its log file.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

from pipeline.cli.errors import exit_status  # noqa: E402 - after the environment above; imports nothing heavy
from pipeline.cli.parser import build_parser  # noqa: E402
from pipeline.runners.logfile import native_stderr_captured, stderr_to_log_until_exit  # noqa: E402

__all__ = ["build_parser", "main"]


def main(argv: List[str] | None = None) -> int:
    """Runs one command; `argv` None (the `glassbox` script, `python -m pipeline.cli`): this process's command line,
    and the process ends after it, its shutdown chatter sent to the run's log (stderr_to_log_until_exit)."""
    args = build_parser().parse_args(argv)
    try:
        with native_stderr_captured() as terminal:
            try:
                return args.func(args)
            except KeyboardInterrupt:
                print("glassbox: interrupted", file=terminal)
                return 130
            except Exception as error:  # noqa: BLE001 - every failure ends with one line and its exit code
                code, message = exit_status(error)
                print(f"glassbox: {message}", file=terminal)
                return code
    finally:
        if argv is None:
            stderr_to_log_until_exit()
