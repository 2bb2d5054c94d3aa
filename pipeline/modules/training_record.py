"""The file in which the Trainer module records how a model was trained (strategy, replicas, global batch size),
beside its TensorBoard logs in the model_run artifact; `glassbox lineage model` reads it back.

A module of its own, importing nothing: the Trainer module (code TFX loads by path) and the lineage reader share
the name without the Trainer importing ML Metadata or the reader importing TensorFlow."""

TRAINING_RECORD = "glassbox_training.json"
