"""The local-run key: created once under the output directory, never when a real key exists."""

from pipeline.runners.local_key import LOCAL_KEY_FILE, ensure_local_key


def _policy(tmp_path, key_file=None):
    path = tmp_path / "policy.yaml"
    path.write_text("key_env: TEST_GLASSBOX_KEY\n" + (f"key_file: {key_file}\n" if key_file else ""))
    return path


def test_creates_one_key_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_GLASSBOX_KEY", raising=False)
    created = ensure_local_key(_policy(tmp_path), tmp_path / "out")
    assert created == tmp_path / "out" / LOCAL_KEY_FILE
    assert (created.stat().st_mode & 0o077) == 0  # readable by its owner only
    first = created.read_text()
    monkeypatch.delenv("TEST_GLASSBOX_KEY")
    assert ensure_local_key(_policy(tmp_path), tmp_path / "out") == created
    assert created.read_text() == first and len(first) == 64


def test_leaves_a_configured_key_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_GLASSBOX_KEY", "a-real-key-from-the-vault")
    assert ensure_local_key(_policy(tmp_path), tmp_path / "out") is None
    monkeypatch.delenv("TEST_GLASSBOX_KEY")
    (tmp_path / "secret.key").write_text("mounted secret")
    assert ensure_local_key(_policy(tmp_path, key_file="secret.key"), tmp_path / "out") is None
    assert not (tmp_path / "out").exists()


def test_a_local_secret_made_by_several_at_once_is_one_secret(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.local_secret import local_secret

    path = tmp_path / "secrets" / "some.key"
    assert local_secret(path, create=False) is None and not path.exists()
    with ThreadPoolExecutor(8) as pool:
        made = set(pool.map(lambda _: local_secret(path), range(32)))
    assert made == {path.read_text()} and (path.stat().st_mode & 0o077) == 0
    assert [p.name for p in path.parent.iterdir()] == ["some.key"]  # no temporary file left behind
