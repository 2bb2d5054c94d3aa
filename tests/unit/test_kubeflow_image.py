"""kubeflow/Dockerfile against the locks it installs (no Docker here to build it): the base image's Python is the
current lock's, Beam's SDK harness is the lock's Beam release, and the GPU lock pins every CUDA library that
tensorflow[and-cuda] asks for at the locked TensorFlow, so the Trainer task can see the GPU it is given."""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from pipeline.config import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "kubeflow" / "Dockerfile").read_text()


def _pins(name: str) -> dict[str, str]:
    lines = (REPO_ROOT / name).read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def _python_of(lock: str) -> str:
    """The Python version a lock was generated with, from its header line."""
    header = (REPO_ROOT / lock).read_text().splitlines()[0]
    return re.search(r" on (\d+\.\d+)\.\d+ ", header).group(1)


def test_the_image_is_the_current_stack_on_debian_13():
    python = _python_of("requirements-current.lock")
    assert f"FROM python:{python}-slim-trixie\n" in DOCKERFILE
    assert "pip install -r /tmp/requirements-current.lock -r /tmp/requirements-gpu.lock" in DOCKERFILE
    beam = _pins("requirements-current.lock")["apache-beam"]
    assert f"COPY --from=apache/beam_python{python}_sdk:{beam} " in DOCKERFILE


def test_the_gpu_lock_pins_what_tensorflow_and_cuda_needs_and_nothing_the_stack_pins():
    stack, gpu = _pins("requirements-current.lock"), _pins("requirements-gpu.lock")
    if metadata.version("tensorflow") != stack["tensorflow"]:
        pytest.skip(f"needs the current stack's TensorFlow {stack['tensorflow']} installed (its and-cuda extra)")
    cuda = [Requirement(r) for r in metadata.requires("tensorflow")
            if Requirement(r).marker is not None and Requirement(r).marker.evaluate({"extra": "and-cuda"})]
    assert cuda, "tensorflow declares no and-cuda extra"
    for requirement in cuda:
        assert requirement.name in gpu, f"{requirement.name} is not pinned in requirements-gpu.lock"
        assert requirement.specifier.contains(gpu[requirement.name]), (requirement, gpu[requirement.name])
    assert not set(gpu) & set(stack), set(gpu) & set(stack)
