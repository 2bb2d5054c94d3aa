"""scratch_tempdir: a run's temporary files go to one folder, removed afterwards, even when the run fails."""

import os
import subprocess
import sys
import tempfile

import pytest

from pipeline.runners.scratch import in_scratch_tempdir, scratch_tempdir


@pytest.fixture
def system_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def test_temporary_files_of_the_process_and_its_children_are_removed(system_tmp):
    with scratch_tempdir() as scratch:
        assert os.path.dirname(scratch) == str(system_tmp)
        made_here = tempfile.mkdtemp()
        child = "import tempfile; print(tempfile.mkdtemp())"
        made_by_child = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                                       check=True).stdout.strip()
        assert os.path.dirname(made_here) == os.path.dirname(made_by_child) == scratch
    assert list(system_tmp.iterdir()) == []
    assert tempfile.gettempdir() == os.environ["TMPDIR"] == str(system_tmp)


def test_removed_when_the_run_fails_and_nesting_restores_each_level(system_tmp):
    with pytest.raises(RuntimeError, match="step failed"):
        with scratch_tempdir() as outer:
            with scratch_tempdir() as inner:
                assert os.path.dirname(inner) == outer
            assert tempfile.gettempdir() == os.environ["TMPDIR"] == outer
            tempfile.mkstemp()
            raise RuntimeError("step failed")
    assert list(system_tmp.iterdir()) == []


def test_unset_tmpdir_stays_unset(system_tmp, monkeypatch):
    monkeypatch.delenv("TMPDIR")
    with scratch_tempdir():
        assert "TMPDIR" in os.environ
    assert "TMPDIR" not in os.environ


def test_wrapped_callable_runs_in_its_own_scratch_folder(system_tmp):
    def task(**context):
        """An Airflow task."""
        return tempfile.gettempdir(), context

    wrapped = in_scratch_tempdir(task)
    scratch, context = wrapped(ti="instance")
    assert os.path.dirname(scratch) == str(system_tmp) and context == {"ti": "instance"}
    assert wrapped.__doc__ == "An Airflow task." and list(system_tmp.iterdir()) == []


def test_folders_of_killed_processes_are_removed_by_the_next_run(system_tmp):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    orphan = system_tmp / f"glassbox-run-{gone}-abc123"
    (orphan / "tmpx" / "build").mkdir(parents=True)
    running = system_tmp / f"glassbox-run-{os.getpid()}-def456"  # a run of a live process: left alone
    running.mkdir()
    unrelated = system_tmp / "glassbox-run-notes"
    unrelated.mkdir()
    with scratch_tempdir() as scratch:
        assert os.path.basename(scratch).startswith(f"glassbox-run-{os.getpid()}-")
        assert not orphan.exists()
    assert sorted(p.name for p in system_tmp.iterdir()) == sorted([running.name, unrelated.name])
