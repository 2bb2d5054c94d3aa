"""Glassbox's own MLMD artifact types. Headline figures go into custom properties, so lineage
queries answer questions without opening files."""

from tfx.types.artifact import Artifact


class Explanations(Artifact):
    """Per-example attributions (Parquet), global importances, quality, reason codes and plots."""

    TYPE_NAME = "glassbox.Explanations"


class PrivacyReport(Artifact):
    """What de-identification did, per column, with k-anonymity and detector hits before/after."""

    TYPE_NAME = "glassbox.PrivacyReport"


class AuditReport(Artifact):
    """The audit of a model against a written policy: audit.json, model_card.json, report.html."""

    TYPE_NAME = "glassbox.AuditReport"


class MonitorReport(Artifact):
    """A new span of data watched against the pushed model's training: monitor.json, report.html, alert counts."""

    TYPE_NAME = "glassbox.MonitorReport"
