"""Native libraries' writes to file descriptor 2 stay off the terminal (TensorFlow 2.21's absl start-up lines ignore
TF_CPP_MIN_LOG_LEVEL), land in a run's log file when one opens, and the CLI's own lines still reach stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, cwd, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)


def test_native_writes_leave_the_terminal_and_the_command_s_own_lines_reach_it(tmp_path):
    result = _python("""
        import os, sys
        from pipeline.runners.logfile import native_stderr_captured
        with native_stderr_captured() as terminal:
            os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\\n")
            print("a Python warning", file=sys.stderr)
            print("glassbox: one line", file=terminal)
        os.write(2, b"after\\n")
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "glassbox: one line\nafter\n"


def test_a_run_s_log_file_takes_what_was_written_before_it_opened(tmp_path):
    result = _python("""
        import os
        from pathlib import Path
        from pipeline.runners.logfile import native_stderr_captured, output_to
        with native_stderr_captured():
            os.write(2, b"before the run\\n")
            with output_to(Path("run.log")):
                os.write(2, b"during the run\\n")
                print("progress")
            os.write(2, b"after the run\\n")
    """, tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == "progress\n"
    assert (tmp_path / "run.log").read_text() == "before the run\nduring the run\n"


def test_what_the_interpreter_writes_as_it_shuts_down_goes_to_the_run_s_log(tmp_path):
    # As TensorFlow's functions do when they are collected after their modules: "Exception ignored in: ...".
    shutdown = """
        import sys
        from pathlib import Path
        from pipeline.runners.logfile import native_stderr_captured, output_to, stderr_to_log_until_exit

        class CollectedLate:
            def __del__(self):
                raise TypeError("'NoneType' object is not subscriptable")

        late = CollectedLate()
        with native_stderr_captured():
            if sys.argv[-1] == "with-log":
                with output_to(Path("run.log")):
                    print("progress")
        stderr_to_log_until_exit()
    """
    bare = _python(shutdown.replace("stderr_to_log_until_exit()", "pass"), tmp_path)
    assert "Exception ignored in" in bare.stderr  # what the terminal showed before
    for log in ("with-log", "no log"):
        result = _python(shutdown, tmp_path, log)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "progress" not in (tmp_path / "run.log").read_text()
    assert "Exception ignored in" in (tmp_path / "run.log").read_text()
