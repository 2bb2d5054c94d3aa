"""From an error to its exit code and the one line `glassbox: <message>` says about it: the table `main` applies to
whatever a command raises."""

from __future__ import annotations

import sys
from pathlib import Path

# First match wins. 3: another run holds the metadata store (wait, or use another --output); 2: an input is wrong
# (a file, a flag, the store named), and the message says which and why; 1: what was asked for is not there, a tool is
# missing, or a pipeline run failed. Any other error exits 1 too, its type named. Classes go by name: one whose module
# was never imported cannot have been raised, so looking an error up imports nothing (TensorFlow above all).
# 4: `glassbox monitor` finished and a check raised a block alert (its report printed first): a scheduler's signal.
# 130: interrupted (Ctrl-C), as a shell reports SIGINT.
EXIT_CODES = (
    ("pipeline.cli.errors.BlockAlertError", 4),
    ("pipeline.metadata.MetadataStoreBusyError", 3),
    ("pipeline.metadata.MetadataStoreError", 2),
    ("pipeline.config.ConfigError", 2),
    ("pipeline.serving.store.DecisionStoreError", 2),  # the decision record's location, server or password
    ("pipeline.serving.app.ServiceSetupError", 2),  # glassbox serve without a usable bearer token
    ("pipeline.serving.served.NoPushedModelError", 1),  # glassbox serve before any model was pushed
    ("pipeline.runners.preflight.PreflightError", 2),
    ("pipeline.onboard.OnboardError", 2),
    ("components.validation.PolicyError", 2),
    ("builtins.ValueError", 2),  # a flag's value: monitor's --data and --model, explain's --set, compile's settings
    ("builtins.KeyError", 2),  # explain --set on a feature the example lacks
    ("pipeline.records.graph.LineageError", 1),
    ("pipeline.serving.decision_span.EmptyWindowError", 1),  # monitor --decisions on a window with no decision
    ("builtins.LookupError", 1),  # a run, example or audit asked for is not in the store
    ("pipeline.records.graphviz.GraphvizError", 1),
    ("pipeline.cli.errors.RunError", 1),
    ("pipeline.serving.store.ChainError", 1),  # purge met an altered record: `glassbox decisions verify` names all
)

# A run that failed on its data: the message names the file, line, column or anomaly, and needs no run wrapper.
DATA_ERRORS = ("components.csv_example_gen.dialect.CsvFormatError", "components.data_gate.component.DataContractError")


def _is_a(error: Exception, name: str) -> bool:
    module, _, cls = name.rpartition(".")
    loaded = getattr(sys.modules.get(module), cls, None)
    return loaded is not None and isinstance(error, loaded)


class BlockAlertError(Exception):
    """A monitoring run finished and raised block alerts; the message names them and the report."""


class RunError(Exception):
    """A pipeline that `glassbox run` or `monitor` started failed with `cause`; the message names the run's log."""

    def __init__(self, what: str, cause: Exception, log_file: Path):
        self.cause = cause
        if any(_is_a(cause, name) for name in DATA_ERRORS):  # the data's fault, said in one sentence already
            message = f"{cause} (log: {log_file})"
        else:
            message = f"the {what} failed: {type(cause).__name__}: {cause} (full log: {log_file})"
        super().__init__(message)


def exit_status(error: Exception) -> tuple[int, str]:
    """The exit code of `error` and the message to print."""
    for name, code in EXIT_CODES:
        if _is_a(error, name):
            # A KeyError's str() is its key's repr, quotes and all.
            return code, str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return 1, f"{type(error).__name__}: {error}"
