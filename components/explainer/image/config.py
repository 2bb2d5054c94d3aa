"""The image Explainer's parameters, validated before any work starts."""

from typing import List, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.validation import describe_validation_error

IMAGE_METHODS = ("integrated_gradients_black", "integrated_gradients_blurred", "smoothgrad", "occlusion", "grad_cam",
                 "lime")
# In the Explanations artifact: every example of the split with its label and the model's class probabilities,
# explained or not (`max_examples` caps only the explained ones); the audit judges accuracy on it.
PREDICTIONS_FILE = "predictions.npz"
ImageMethod = Literal["integrated_gradients_black", "integrated_gradients_blurred", "smoothgrad", "occlusion",
                      "grad_cam", "lime"]


class ImageExplainerConfig(BaseModel):
    """Every method explains the score (probability) of the class the model predicts, except Grad-CAM, which
    weighs the last convolutional layer's maps by the gradients of that class's logit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modality: Literal["image"] = "image"
    methods: List[ImageMethod] = list(IMAGE_METHODS)
    # The method the audit judges and the headline figures describe. Against a black baseline IG's maps are
    # (x - 0) times a gradient, so they follow the ink whatever the weights: on the digits CNN they correlate
    # 0.91 with those of a randomly re-initialised network, against 0.47 for the blurred baseline.
    primary_method: ImageMethod = "integrated_gradients_blurred"
    split: str = "eval"
    # 0 explains every example of the split; otherwise the first `max_examples`.
    max_examples: int = Field(0, ge=0)
    key_feature: str | None = None
    ig_steps: int = Field(32, gt=0)
    ig_tolerance: float = Field(0.005, gt=0)
    ig_max_steps: int = Field(512, gt=0)
    # Gaussian blur (in pixels) of the blurred baseline.
    blur_sigma: float = Field(2.0, gt=0)
    smoothgrad_samples: int = Field(32, gt=0)
    # Noise standard deviation as a share of the input range [0, 1].
    smoothgrad_noise: float = Field(0.15, gt=0)
    occlusion_patch: int = Field(2, gt=0)
    occlusion_stride: int = Field(1, gt=0)
    # LIME: square patches of this many pixels a side are its features (16 on 8 x 8, 49 on 28 x 28 with 4).
    lime_patch: int = Field(2, gt=0)
    lime_samples: int = Field(256, ge=8)
    lime_kernel_width: float = Field(0.75, gt=0)
    lime_ridge_alpha: float = Field(1.0, ge=0)
    # The planted-marker ground truth (image/ground_truth.py): the share of training images marked, the class the
    # marker decides, the epochs the network is retrained for; marker_share 0: none.
    marker_share: float = Field(0.5, ge=0, lt=1)
    marker_class: int = Field(0, ge=0)
    marker_epochs: int = Field(30, gt=0)
    # Quality (pixel flipping, randomisation) and layer activations run on these many examples.
    quality_examples: int = Field(100, gt=1)
    random_orders: int = Field(5, gt=0)
    # Pixel flipping's curves are taken after every pixel up to this many pixels, and in this many even steps on
    # larger images (28 x 28: about 8 pixels a step), as Samek et al. flip regions: its cost is images x orders x
    # steps model calls, 7.8 times fewer on 28 x 28 than pixel by pixel, with the same curve at the points taken.
    flip_steps: int = Field(100, gt=0)
    randomization_examples: int = Field(50, gt=1)
    activation_examples_per_class: int = Field(10, gt=0)
    overlay_examples_per_class: int = Field(2, gt=0)
    batch_rows: int = Field(16384, gt=0)
    seed: int = 0

    @field_validator("methods")
    @classmethod
    def _unique(cls, value):
        if not value:
            raise ValueError("at least one method is needed")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _primary_is_run(self):
        if self.primary_method not in self.methods:
            raise ValueError(f"primary_method '{self.primary_method}' is not among the methods {self.methods}")
        return self


def parse_image_config(text: str) -> ImageExplainerConfig:
    try:
        return ImageExplainerConfig.model_validate_json(text)
    except ValidationError as e:
        raise ValueError(describe_validation_error(e, "Explainer config")) from e
