"""One audit of the default policy on hand-made inputs, shared by the tests that read its results or reports."""

import pytest

from components.model_audit.audit import run_checks
from components.model_audit.report.audit_json import audit_report
from tests.unit.model_audit.builders import LINEAGE, audit_inputs, default_policy


@pytest.fixture(scope="session")
def policy():
    return default_policy()


@pytest.fixture(scope="session")
def results(policy):
    return run_checks(policy, audit_inputs())


@pytest.fixture(scope="session")
def report(policy, results):
    return audit_report(results, policy, LINEAGE)
