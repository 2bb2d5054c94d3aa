"""The Evaluator: TFX's component, whose executor computes TFMA's evaluation of a binary classifier in one vectorised
pass (evaluation.py) and runs TFMA's own pipeline for any other config."""
