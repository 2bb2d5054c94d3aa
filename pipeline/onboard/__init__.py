"""`glassbox init`: profile a CSV and draft the config and policies for a person to review (profile.py)."""

from pipeline.onboard.profile import (
    OnboardError,
    Table,
    audit_policy_text,
    band_edges,
    binary_classes,
    onboard,
    privacy_policy_text,
    profile,
    read_table,
)

__all__ = ["OnboardError", "Table", "audit_policy_text", "band_edges", "binary_classes", "onboard",
           "privacy_policy_text", "profile", "read_table"]
