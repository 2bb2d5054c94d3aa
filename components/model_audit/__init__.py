"""ModelAudit: did the model meet a written policy, and on which evidence?

The policy (`policy.py`) names each check, its threshold and whether a failure blocks the model. The
checks (`checks/`, one module per family) are plain functions on numpy arrays, dicts and TFDV
statistics protos; `audit.py` runs them all and reaches the verdict; `report/` writes audit.json,
a Model Card Toolkit model_card.json and one self-contained report.html. The TFX component around
them only reads the artifacts.
"""
