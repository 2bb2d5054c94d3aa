"""The audit's baseline resolver: the newest earlier audit, or nothing on a first run."""

from tfx.types import standard_artifacts

from components.model_audit.baseline import LatestAuditStrategy


def _artifact(artifact_id):
    artifact = standard_artifacts.Model()
    artifact.id = artifact_id
    return artifact


def test_first_run_resolves_to_no_baseline_instead_of_failing():
    assert LatestAuditStrategy().resolve_artifacts(None, {"baseline_audit": []}) == {"baseline_audit": []}


def test_newest_artifact_wins():
    resolved = LatestAuditStrategy().resolve_artifacts(None, {"baseline_audit": [_artifact(3), _artifact(9),
                                                                                  _artifact(5)]})
    assert [a.id for a in resolved["baseline_audit"]] == [9]
