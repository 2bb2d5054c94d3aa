"""The Explainer's parameters, validated before any work starts."""

from typing import List, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from components.validation import describe_validation_error

METHODS = ("integrated_gradients", "shapley", "lime", "permutation_importance")
PER_EXAMPLE_METHODS = ("integrated_gradients", "shapley", "lime")


class ExplainerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    methods: List[Literal["integrated_gradients", "shapley", "lime", "permutation_importance"]] = list(METHODS)
    split: str = "eval"
    # Background rows (and the mean/median baselines) come from this split.
    background_split: str = "train"
    background_size: int = Field(50, gt=0)
    # Integrated gradients' baseline: the background's mean or median in dense space, or
    # per-example baselines drawn from the background (expected gradients).
    baseline: Literal["mean", "median", "expected_gradients"] = "mean"
    expected_gradients_samples: int = Field(16, gt=0)
    ig_steps: int = Field(32, gt=0)
    ig_rule: Literal["gauss_legendre", "trapezoid"] = "trapezoid"
    ig_tolerance: float = Field(0.005, gt=0)
    ig_max_steps: int = Field(512, gt=0)
    # Exact Shapley enumerates 2^M coalitions up to this many raw features, else samples permutations.
    max_exact_features: int = Field(12, gt=0, le=20)
    shapley_max_permutations: int = Field(512, gt=1)
    shapley_target_standard_error: float = Field(0.005, gt=0)
    permutation_repeats: int = Field(10, gt=1)
    # LIME: coalitions per example (the example and the all-background point included), the kernel's width on the
    # [0, 1]-scaled distance in switch space, the ridge penalty (per unit of mean sample weight).
    lime_samples: int = Field(256, ge=8)
    lime_kernel_width: float = Field(0.75, gt=0)
    lime_ridge_alpha: float = Field(1.0, ge=0)
    # LIME's stability in quality.json: this many runs with other seeds on the stability examples, and the top
    # features per run whose overlap the variables stability index (VSI) counts.
    lime_stability_repeats: int = Field(5, ge=2)
    lime_stability_top_k: int = Field(3, gt=0)
    # 0 explains every example of the split; otherwise a deterministic subset of this size.
    max_examples: int = Field(0, ge=0)
    batch_size: int = Field(256, gt=0)
    seed: int = 0
    slice_features: List[str] = Field(default_factory=lambda: ["sex", "age_band"])
    decision_threshold: float = Field(0.5, gt=0, lt=1)
    top_k_reasons: int = Field(3, gt=0)
    # A feature that identifies an example (e.g. a pseudonymous id); else a digest of the example.
    key_feature: str | None = None
    # Examples used for the quality measures, permutation importance and plots.
    quality_examples: int = Field(200, gt=1)
    # Train examples the ground truth's logistic regression is fitted on (ground_truth.py); 0: no ground truth.
    ground_truth_examples: int = Field(1000, ge=0)
    # The planted-signal ground truth: this many features carry the label's additive effect, in this many drawn rows
    # that a network of the model's architecture learns in this many epochs; 0 features: none.
    planted_features: int = Field(3, ge=0)
    planted_examples: int = Field(4000, gt=0)
    planted_epochs: int = Field(20, gt=0)
    # Partial dependence and ICE curves over the quality examples for this many top features (0: none), with
    # numeric grids of this many points.
    sensitivity_features: int = Field(5, ge=0)
    sensitivity_grid_points: int = Field(20, ge=2)

    @field_validator("methods")
    @classmethod
    def _some_method(cls, value):
        if not set(value) & set(PER_EXAMPLE_METHODS):
            raise ValueError(f"at least one per-example method ({', '.join(PER_EXAMPLE_METHODS)}) is needed")
        return list(dict.fromkeys(value))

    @property
    def per_example_methods(self) -> List[str]:
        return [m for m in self.methods if m in PER_EXAMPLE_METHODS]

    @property
    def primary_method(self) -> str:
        """The method behind reason codes, plots and headline figures: Shapley when it runs."""
        methods = self.per_example_methods
        return "shapley" if "shapley" in methods else methods[0]


def parse_config(text: str) -> ExplainerConfig:
    try:
        return ExplainerConfig.model_validate_json(text)
    except ValidationError as e:
        raise ValueError(describe_validation_error(e, "Explainer config")) from e
