"""`glassbox serve`'s start-up checks, which run before any model is loaded: the bearer token (from
$GLASSBOX_SERVE_TOKEN or a secret file, never the config itself) and the flags. Without a usable token the service
refuses to start with one sentence and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from pipeline.config import REPO_ROOT, load_config
from pipeline.serving.app import TOKEN_ENV, ServiceSetupError, read_token

GOOD = "0123456789abcdef0123456789abcdef"


def glassbox(*args, env: dict) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    environment.update(PYTHONPATH=str(REPO_ROOT), **env)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=environment, timeout=120)


def test_the_token_comes_from_the_environment_or_a_named_file(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, f" {GOOD}\n")
    assert read_token() == (GOOD, f"${TOKEN_ENV}")
    secret = tmp_path / "token"
    secret.write_text("f" * 40 + "\n")
    assert read_token(secret) == ("f" * 40, f"the file {secret}")  # a file named wins over the variable


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"), ("", "is empty"), ("s3cr3t", "too short or holds spaces"),
    ("0123456789 abcdef0123", "too short or holds spaces")])
def test_an_unusable_token_file_is_refused_without_quoting_it(tmp_path, content, message):
    secret = tmp_path / "token"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ServiceSetupError, match=message) as refused:
        read_token(secret)
    assert not content or content not in str(refused.value)


def test_a_relative_token_file_is_relative_to_the_config(tmp_path):
    (tmp_path / "serve.yaml").write_text(yaml.safe_dump({"serving": {"token_file": "secrets/serve.token"}}))
    assert load_config(tmp_path / "serve.yaml").serving.token_file == tmp_path / "secrets" / "serve.token"


def test_serve_without_a_token_refuses_to_start_with_one_sentence(tmp_path):
    done = glassbox("serve", "--output", tmp_path / "outputs", env={})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"glassbox: glassbox serve needs a bearer token and found none in ${TOKEN_ENV}")
    assert len(done.stderr.strip().splitlines()) == 1
    done = glassbox("serve", "--output", tmp_path / "outputs", "--token-file", tmp_path / "nowhere", env={})
    assert (done.returncode, done.stderr) == (2, f"glassbox: The token file {tmp_path / 'nowhere'} does not exist.\n")
    done = glassbox("serve", "--output", tmp_path / "outputs", "--model", "latest", env={TOKEN_ENV: GOOD})
    assert (done.returncode, done.stderr) == (2, "glassbox: --model must be 'pushed' or a Model artifact id, not "
                                                 "'latest'.\n")
