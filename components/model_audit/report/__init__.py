"""The audit's outputs: audit.json (the record), model_card.json (Model Card Toolkit schema v0.0.2) and a
self-contained report.html, each built from the audit.json content so that the three always agree."""
