"""Shared fixtures: the raw data generated once into a temporary directory, the default policy and a key."""

import pytest

from components.privacy.policy import PseudonymKey, load_policy
from tests.unit.privacy.helpers import DEFAULT_POLICY, make_raw_data, read_csv


@pytest.fixture(scope="session")
def raw_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw") / "german_credit_raw.csv"
    make_raw_data(out)
    return out


@pytest.fixture(scope="session")
def raw_rows(raw_csv):
    return read_csv(raw_csv)


@pytest.fixture(scope="session")
def default_policy(raw_rows):
    return load_policy(DEFAULT_POLICY, list(raw_rows[0]))


@pytest.fixture(scope="session")
def key():
    return PseudonymKey(b"test-key-for-unit-tests-only-0123")
