"""The audit's checks, one module per family. Each module's CHECKS maps a policy check id to a function
(check settings, policy, inputs) -> [CheckResult]; the mathematics beneath them are plain array functions."""
