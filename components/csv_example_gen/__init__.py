"""CsvExampleGen with a batched executor that writes the same tf.Examples as TFX's (executor.py), reading files by
the one CSV contract that `glassbox init` shares (dialect.py)."""
