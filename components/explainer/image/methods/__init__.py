"""Pixel attribution methods. Each takes `scores_fn`, a differentiable map from images [B, H, W, C] to class
scores [B, K], and explains, per example, the score of its target class."""
