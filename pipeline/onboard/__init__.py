"""`glassbox init`: profile a CSV (profile.py), infer its schema (schema.py), draft the config and policies as the
models that validate them (drafts.py, audit_checks.py) and write them with review notes (documents.py,
yaml_out.py); onboarding.py ties these together."""

from pipeline.onboard.documents import audit_policy_text, privacy_policy_text
from pipeline.onboard.onboarding import onboard
from pipeline.onboard.profile import OnboardError, Table, band_edges, binary_classes, profile, read_table

__all__ = ["OnboardError", "Table", "audit_policy_text", "band_edges", "binary_classes", "onboard",
           "privacy_policy_text", "profile", "read_table"]
