"""Glassbox's own MLMD artifact types. Headline figures go into custom properties (`set_properties`), so lineage
queries answer questions without opening files."""

import numbers
from typing import Mapping

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


def set_properties(artifact: Artifact, properties: Mapping[str, object]) -> None:
    """Sets each property as an MLMD custom property of its type: str, int (bools and numpy integers too) or float
    (numpy floats too); a None is left unset."""
    for name, value in properties.items():
        if value is None:
            continue
        if isinstance(value, str):
            artifact.set_string_custom_property(name, value)
        elif isinstance(value, numbers.Integral):
            artifact.set_int_custom_property(name, int(value))
        elif isinstance(value, numbers.Real):
            artifact.set_float_custom_property(name, float(value))
        else:
            raise TypeError(f"property '{name}' is a {type(value).__name__}; an MLMD property is a str, int or float")
