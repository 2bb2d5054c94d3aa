"""TFMA's evaluation of a binary classifier in one vectorised pass: the metrics, plots and validation result that
TFMA's Beam pipeline computes for the eval configs Glassbox writes, without its per-example Python.

TFMA feeds every eval example to every metric's combiner, once per slice, one at a time in Python: at 1,000,000 rows
(200,000 eval examples, three slices) that was 3.6 million calls of `metric_util.to_label_prediction_example_weight`
and most of the Evaluator's 190 s (bench/README.md, Round 9). Here the model's own signatures score the examples in
batches, as TFMA's extractors do, and each combiner's accumulator is computed over whole arrays (`ACCUMULATORS`).
What comes after the accumulators is TFMA's own code: the combiners' `extract_output`, the derived metrics (AUC,
the confusion-matrix rates, calibration, the calibration plot), the validation of the thresholds, and the protos.
The files are those TFMA's writers make, so `tfma.load_eval_result`, `tfma.load_metrics` and
`tfma.load_validation_result` read them.

Whatever the pass does not compute raises `UnsupportedError`, which says what; the executor then runs TFMA's pipeline.
That is: example weights, confidence intervals, a minimum slice size, cross slices, query keys, slices on values or
SQL, slices on more than one feature or on a raw feature with several values in an example, a label no preprocessing
function returns, a Keras model (TFMA adds its compiled metrics), a combiner not in `ACCUMULATORS` or one configured
beyond what it handles (sub keys, aggregation, class weights), predictions that are not one score per example or
not a number, labels other than 0 and 1, and an empty eval split.

The accumulators read the settings of TFMA's combiners from their private attributes, and build TFMA's accumulator
types, which no public API exposes: both pinned TFMA versions (0.47 on the legacy stack, 0.52 on the current one)
have them, and tests/unit/test_vectorised_evaluation.py checks every metric against those combiners' own `add_input`
on each stack, so a TFMA upgrade that changes them fails there first.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.api import types as tfma_types
from tensorflow_model_analysis.contrib.aggregates import binary_confusion_matrices as tfma_confusion
from tensorflow_model_analysis.evaluators import metrics_validator
from tensorflow_model_analysis.metrics import calibration_histogram, metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2, validation_result_pb2
from tensorflow_model_analysis.utils import model_util
from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as tfma_writer

# The keys TFMA looks for in a dict of outputs when the model spec names none (metric_util.prepare_labels_and_
# predictions), in its order.
COMMON_PREDICTION_KEYS = ("scores", "outputs", "predictions", "logistic", "probabilities", "logits")


class UnsupportedError(Exception):
    """A part of the evaluation this pass does not compute; the message says which. TFMA's pipeline computes it."""


@dataclass
class Scored:
    """One model's view of the eval examples: its label, its score and its slice values per example."""

    labels: np.ndarray
    predictions: np.ndarray
    slices: Dict[str, list]


def check_config(eval_config: config_pb2.EvalConfig) -> None:
    """Raises UnsupportedError for an eval config that asks for more than this pass computes."""
    options = eval_config.options
    if options.compute_confidence_intervals.value:
        raise UnsupportedError("confidence intervals")
    if options.min_slice_size.value > 1:
        raise UnsupportedError("a minimum slice size")
    if eval_config.cross_slicing_specs:
        raise UnsupportedError("cross slices")
    for spec in eval_config.metrics_specs:
        if spec.query_key:
            raise UnsupportedError(f"the query key {spec.query_key!r}")
        if spec.example_weights.weighted:
            raise UnsupportedError("weighted metrics")
    for spec in eval_config.model_specs:
        if spec.example_weight_key or spec.example_weight_keys:
            raise UnsupportedError(f"the example weights of model {spec.name!r}")
        if spec.label_keys or spec.prediction_keys:
            raise UnsupportedError(f"the several outputs of model {spec.name!r}")
    for spec in eval_config.slicing_specs:
        if spec.feature_values or spec.slice_keys_sql or len(spec.feature_keys) > 1:
            raise UnsupportedError(f"the slice {text_format.MessageToString(spec, as_one_line=True)}")


def check_model_type(model_spec: config_pb2.ModelSpec, model_path: str) -> None:
    """A Keras SavedModel brings its compiled metrics into TFMA's evaluation, which this pass does not compute."""
    kind = model_util.get_model_type(model_spec, model_path)
    if kind != constants.TF_GENERIC:
        raise UnsupportedError(f"a model of TFMA type {kind!r} ({model_path})")


def _signature(loaded, name: str, model_path: str) -> Callable[[Sequence[bytes]], Dict[str, np.ndarray]]:
    """The model's signature `name` as a function of serialized examples, to numpy."""
    if name not in loaded.signatures:
        raise UnsupportedError(f"the model at {model_path} has no signature {name!r}")
    function = loaded.signatures[name]
    inputs = function.structured_input_signature[1]
    if len(inputs) != 1 or next(iter(inputs.values())).dtype != tf.string:
        raise UnsupportedError(f"the signature {name!r} of {model_path} does not take serialized examples")
    argument = next(iter(inputs))
    return lambda records: {key: value.numpy() for key, value in function(**{argument: tf.constant(records)}).items()}


def _prediction(outputs: Dict[str, np.ndarray], model_spec: config_pb2.ModelSpec) -> np.ndarray:
    """The score TFMA reads from the serving signature's outputs (metric_util.prepare_labels_and_predictions)."""
    if model_spec.prediction_key:
        key = model_spec.prediction_key
    elif len(outputs) == 1:
        key = next(iter(outputs))
    else:
        key = next((k for k in COMMON_PREDICTION_KEYS if k in outputs), None)
    if key not in outputs:
        raise UnsupportedError(f"which of the outputs {sorted(outputs)} is the prediction")
    return outputs[key]


def _one_per_example(values: np.ndarray, count: int, what: str) -> np.ndarray:
    if values.size != count:
        raise UnsupportedError(f"{what} with {values.size // max(count, 1)} values per example")
    return values.reshape(-1)


def _slice_values(values: np.ndarray, name: str) -> list:
    """Slice values as TFMA's slicer keys them (SingleSliceSpec.generate_slices): text decoded from UTF-8, numbers as
    Python numbers. A threshold's slice (`feature_values {sex: "female"}`) matches them as TFMA's pipeline matches its
    own; bytes (b"female") would match none, and validation would call the slice missing."""
    try:
        return [value.decode("utf-8") if isinstance(value, bytes) else value for value in values.tolist()]
    except UnicodeDecodeError:
        raise UnsupportedError(f"slices on {name}, which has a value that is not UTF-8 text") from None


def _raw_values(records: Sequence[bytes], name: str) -> list:
    """Each example's value of the raw feature `name` as TFMA's slicer keys it, None where it has none."""
    kinds = (tf.train.Example.FromString(record).features.feature[name].WhichOneof("kind") for record in records)
    kind = next((kind for kind in kinds if kind), None)
    if kind is None:
        return [None] * len(records)
    dtype = {"bytes_list": tf.string, "int64_list": tf.int64, "float_list": tf.float32}[kind]
    parsed = tf.io.parse_example(tf.constant(records), {name: tf.io.RaggedFeature(dtype)})[name]
    lengths = parsed.row_lengths().numpy()
    if (lengths > 1).any():
        raise UnsupportedError(f"slices on {name}, which has several values in an example")
    values = iter(_slice_values(parsed.flat_values.numpy(), name))
    return [next(values) if length else None for length in lengths]


class _Scorer:
    """One model's signatures, and what they gave for the batches seen so far."""

    def __init__(self, model_path: str, model_spec: config_pb2.ModelSpec):
        loaded = tf.saved_model.load(model_path)
        self.spec = model_spec
        self.serve = _signature(loaded, model_spec.signature_name or "serving_default", model_path)
        self.preprocess = [_signature(loaded, name, model_path) for name in model_spec.preprocessing_function_names]
        self.labels, self.predictions, self.slices = [], [], {}

    def add(self, records: Sequence[bytes], slice_features: List[str], raw: Dict[str, list]) -> None:
        """Scores a batch; a slice feature no preprocessing function returns comes from `raw` (the batch's raw
        values, parsed for the first model that needs them and kept there for the others)."""
        transformed = {}
        for function in self.preprocess:
            transformed.update(function(records))
        if self.spec.label_key not in transformed:
            raise UnsupportedError(
                f"the label {self.spec.label_key} from the raw examples (no preprocessing function returns it)")
        self.labels.append(_one_per_example(transformed[self.spec.label_key], len(records), "labels"))
        self.predictions.append(_one_per_example(_prediction(self.serve(records), self.spec), len(records),
                                                 "predictions"))
        for name in slice_features:
            if name in transformed:
                values = _slice_values(_one_per_example(transformed[name], len(records), f"slice feature {name}"),
                                       name)
            else:
                values = raw[name] if name in raw else raw.setdefault(name, _raw_values(records, name))
            self.slices.setdefault(name, []).extend(values)

    def scored(self) -> Scored:
        if not self.labels:
            raise UnsupportedError("an eval split without examples")
        labels = np.concatenate(self.labels).astype(np.float64)
        if not np.isin(labels, (0.0, 1.0)).all():
            raise UnsupportedError("labels other than 0 and 1")
        predictions = np.concatenate(self.predictions).astype(np.float64)
        if np.isnan(predictions).any():  # TFMA's histogram refuses them with its own message
            raise UnsupportedError("scores that are not numbers")
        return Scored(labels, predictions, self.slices)


def score(models: Dict[str, Tuple[str, config_pb2.ModelSpec]], slice_features: List[str],
          batches: Iterable[Sequence[bytes]]) -> Dict[str, Scored]:
    """Labels, scores and slice values of each model (name -> its path and spec) on the eval examples, as TFMA's
    extractors get them: the label from the preprocessing functions' outputs, the score from the serving signature,
    and a slice feature from the preprocessing functions' outputs where they return it, else from the raw example.
    Each batch is read once and scored by every model (the candidate and its baseline), its raw slice values parsed
    once for all of them."""
    scorers = {name: _Scorer(path, spec) for name, (path, spec) in models.items()}
    for records in batches:
        raw: Dict[str, list] = {}
        for scorer in scorers.values():
            scorer.add(records, slice_features, raw)
    return {name: scorer.scored() for name, scorer in scorers.items()}


# Each combiner's accumulator over the examples selected by a mask: what the combiner's own add_input would have
# accumulated, one example at a time, for unweighted binary labels (check_combiner says which settings qualify).
def _example_count(combiner, labels: np.ndarray, predictions: np.ndarray):
    return float(labels.size)


def _weighted_labels_predictions_examples(combiner, labels: np.ndarray, predictions: np.ndarray):
    accumulator = combiner.create_accumulator()
    accumulator.total_weighted_examples = float(labels.size)
    accumulator.total_weighted_labels = float(labels.sum())
    accumulator.total_weighted_predictions = float(predictions.sum())
    return accumulator


def _calibration_histogram(combiner, labels: np.ndarray, predictions: np.ndarray):
    """The histogram's buckets by _CalibrationHistogramCombiner._bucket_index: bucket 0 below `left`, the last
    at or above `right`, int() of the scaled prediction + 1 in between; only buckets with examples, as TFMA's."""
    values = predictions if combiner._prediction_based_bucketing else labels
    scaled = (values - combiner._left) / combiner._range * combiner._num_buckets + 1
    index = np.where(scaled < 0, 0, np.where(scaled >= combiner._num_buckets + 1, combiner._num_buckets + 1,
                                             np.clip(scaled, 0, combiner._num_buckets + 1).astype(np.int64)))
    size = combiner._num_buckets + 2
    examples = np.bincount(index, minlength=size)
    label_sums = np.bincount(index, weights=labels, minlength=size)
    prediction_sums = np.bincount(index, weights=predictions, minlength=size)
    return {int(i): calibration_histogram.Bucket(int(i), float(label_sums[i]), float(prediction_sums[i]),
                                                 float(examples[i]))
            for i in np.flatnonzero(examples)}


def _binary_confusion_matrices(combiner, labels: np.ndarray, predictions: np.ndarray):
    """Per threshold, the four counts (a positive is a label of 1 with fractional labels, else a label above the
    threshold; predicted positive above it), as contrib.aggregates' BinaryConfusionMatrices.add_input counts them."""
    matrices = combiner._binary_confusion_matrices
    accumulator = matrices.create_accumulator()
    for threshold in matrices._thresholds:
        positive = labels == 1.0 if matrices._enable_fractional_labels else labels > threshold
        predicted = predictions > threshold
        counts = tfma_confusion.Matrix(
            tp=float(np.sum(positive & predicted)), tn=float(np.sum(~positive & ~predicted)),
            fp=float(np.sum(~positive & predicted)), fn=float(np.sum(positive & ~predicted)))
        accumulator[threshold] = tfma_confusion._ThresholdEntry(
            matrix=counts, tp_examples=[], tn_examples=[], fp_examples=[], fn_examples=[])
    return accumulator


ACCUMULATORS = {
    "_ExampleCountCombiner": _example_count,
    "_WeightedLabelsPredictionsExamplesCombiner": _weighted_labels_predictions_examples,
    "_CalibrationHistogramCombiner": _calibration_histogram,
    "_BinaryConfusionMatrixCombiner": _binary_confusion_matrices,
}


def check_combiner(computation: metric_types.MetricComputation) -> None:
    """Raises UnsupportedError unless `computation` is one ACCUMULATORS computes as TFMA would for unweighted binary
    labels and one score per example."""
    combiner = computation.combiner
    name = type(combiner).__name__
    if name not in ACCUMULATORS:
        raise UnsupportedError(f"the metric computation {name} ({', '.join(k.name for k in computation.keys)})")
    key = computation.keys[0]
    settings = {
        "example weights": key.example_weighted,
        "a sub key": key.sub_key is not None,
        "an output name": key.output_name,
        "an aggregation type": key.aggregation_type is not None,
        "class weights": getattr(combiner, "_class_weights", None),
        "example ids": getattr(combiner, "_example_id_key", None),
        "its own label and prediction extraction": getattr(
            combiner, "_extract_label_prediction_and_weight", metric_util.to_label_prediction_example_weight
        ) is not metric_util.to_label_prediction_example_weight,
    }
    asked = [setting for setting, value in settings.items() if value]
    if asked:
        raise UnsupportedError(f"{name} with {', '.join(asked)}")


def separate(computations: metric_types.MetricComputations) -> Tuple[list, list]:
    """TFMA's computations without duplicates, in order, split into those with combiners and the derived ones (as
    metrics_plots_and_validations_evaluator does); UnsupportedError for cross-slice and confidence-interval ones."""
    combined, derived, seen = [], [], set()
    for computation in computations:
        if computation in seen:
            continue
        seen.add(computation)
        if isinstance(computation, metric_types.MetricComputation):
            check_combiner(computation)
            combined.append(computation)
        elif type(computation) is metric_types.DerivedMetricComputation:
            derived.append(computation)
        else:
            raise UnsupportedError(f"the metric computation {type(computation).__name__} ({computation.keys})")
    return combined, derived


def slice_masks(eval_config: config_pb2.EvalConfig, scored: Scored) -> Iterator[Tuple[tuple, np.ndarray]]:
    """(TFMA slice key, mask of its examples) for every slice with examples: the overall slice as (), a feature's
    slices as ((feature, value),), values as TFMA's slicer keys them (`_slice_values`: text for text)."""
    count = scored.labels.size
    for spec in eval_config.slicing_specs:
        if not spec.feature_keys:
            yield (), np.ones(count, dtype=bool)
            continue
        feature = spec.feature_keys[0]
        values = scored.slices[feature]
        groups: Dict[object, list] = {}
        for position, value in enumerate(values):
            if value is not None:  # an example without the feature is in none of its slices
                groups.setdefault(value, []).append(position)
        for value, positions in groups.items():
            mask = np.zeros(count, dtype=bool)
            mask[positions] = True
            yield ((feature, value),), mask


def slice_metrics(mask: np.ndarray, scored_by_model: Dict[str, Scored], combined: list, derived: list,
                  baseline_name: str | None) -> Dict:
    """Every metric and plot of one slice, private ones removed, with the diffs against the baseline model, as TFMA's
    _ComputeMetricsAndPlots computes them from the combiners' outputs."""
    metrics: Dict = {}
    for computation in combined:
        scored = scored_by_model[computation.keys[0].model_name]
        name = type(computation.combiner).__name__
        try:
            accumulator = ACCUMULATORS[name](computation.combiner, scored.labels[mask], scored.predictions[mask])
        except AttributeError as e:  # a TFMA whose combiner keeps its settings under other names
            raise UnsupportedError(f"{name} of this TFMA version ({e})") from e
        metrics.update(computation.combiner.extract_output(accumulator))
    for computation in derived:
        metrics.update(computation.result(metrics))
    metrics = {key: value for key, value in metrics.items() if not _private(key)}
    if baseline_name:
        metrics.update(_diffs(metrics, baseline_name))
    return metrics


def _private(key: metric_types.MetricKey) -> bool:
    return key.name.startswith("_") and not key.name.startswith("__")


def _diffs(metrics: Dict, baseline_name: str) -> Dict:
    """The candidate's numeric metrics minus the baseline's (TFMA's add_diff_metrics)."""
    diffs = {}
    for key, value in metrics.items():
        baseline_key = key.make_baseline_key(baseline_name)
        if key.is_diff or key.model_name == baseline_name or baseline_key not in metrics:
            continue
        if isinstance(value, (numbers.Number, tfma_types.StructuredMetricValue)) or (
                isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number)):
            diffs[key.make_diff_key()] = value - metrics[baseline_key]
    return diffs


def evaluate(eval_config: config_pb2.EvalConfig, scored_by_model: Dict[str, Scored], combined: list,
             derived: list) -> Tuple[list, list, validation_result_pb2.ValidationResult]:
    """([(slice key, metrics)], [(slice key, plots)], ValidationResult) of the models' scores, keyed by model name
    ('' for a single model), from `separate`'s computations."""
    baseline = model_util.get_baseline_model_spec(eval_config)
    baseline_name = baseline.name if baseline else None
    candidate = next(scored for name, scored in scored_by_model.items() if name != baseline_name)
    if any(scored.slices != candidate.slices for scored in scored_by_model.values()):
        raise UnsupportedError("models whose preprocessing functions slice the examples differently")
    metrics, plots = [], []
    validations = tfma_writer.CombineValidations(eval_config)
    validation = validations.create_accumulator()
    for slice_key, mask in slice_masks(eval_config, candidate):
        values = slice_metrics(mask, scored_by_model, combined, derived, baseline_name)
        metrics.append((slice_key, {k: v for k, v in values.items() if not isinstance(k, metric_types.PlotKey)}))
        plots.append((slice_key, {k: v for k, v in values.items() if isinstance(k, metric_types.PlotKey)}))
        validation = validations.add_input(validation, metrics_validator.validate_metrics(metrics[-1], eval_config))
    return metrics, plots, validations.extract_output(validation)


def write(output_path: str, metrics: list, plots: list, validation: validation_result_pb2.ValidationResult) -> None:
    """The record files TFMA's writers make at `output_path` (tfrecord, one shard): metrics, plots and attributions
    (none, as from TFMA's pipeline without attribution metrics) per slice, and the validation result."""
    tf.io.gfile.makedirs(output_path)
    records = {
        "metrics-00000-of-00001.tfrecord": [
            tfma_writer.convert_slice_metrics_to_proto(item, add_metrics_callbacks=[]) for item in metrics],
        "plots-00000-of-00001.tfrecord": [
            tfma_writer.convert_slice_plots_to_proto(item, add_metrics_callbacks=[]) for item in plots],
        "attributions-00000-of-00001.tfrecord": [
            tfma_writer.convert_slice_attributions_to_proto((slice_key, {})) for slice_key, _ in metrics],
        "validations.tfrecord": [validation],
    }
    for name, protos in records.items():
        with tf.io.TFRecordWriter(os.path.join(output_path, name)) as writer:
            for proto in protos:
                writer.write(proto.SerializeToString())
