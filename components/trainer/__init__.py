"""TFX's Trainer with an executor of Glassbox's: the standard GenericExecutor, then the training record's devices,
strategy and replicas as MLMD properties of the model and its model_run."""
