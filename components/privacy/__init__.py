"""Privacy: de-identifies raw examples under a validated policy (policy.py, detectors.py, actions.py)."""
