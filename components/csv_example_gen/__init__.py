"""CsvExampleGen with a batched executor that writes the same tf.Examples as TFX's (executor.py)."""
