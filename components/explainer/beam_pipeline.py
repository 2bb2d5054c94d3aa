"""The Explainer's Beam graph: batched attributions on every worker, aggregated without
collecting the examples on one machine."""

from __future__ import annotations

import heapq
import json
import os
from typing import Dict, Iterable, List, Tuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.utils import shared

from components.explainer.config import ExplainerConfig
from components.explainer.explain import (
    BACKGROUND_FILE,
    PREDICTIONS_DIR,
    SLICE_PREFIX,
    Background,
    example_digest,
    explain_records,
    prediction_rows,
)
from components.explainer.model import ExplainedModel
from components.tfrecords import ReadRecordBatches

OVERALL = ("overall", "")
# The train examples the ground truth's challenger is fitted on, in the work folder (summary.py reads them).
GROUND_TRUTH_SAMPLE = "ground_truth_train"


def _example_schema(slice_names: List[str], with_example_id: bool, fields: List[Tuple[str, pa.DataType]]
                    ) -> pa.Schema:
    """An output row's columns: the example's key (and id), then `fields`, then its slice values."""
    return pa.schema(
        [("key", pa.string())]
        + ([("example_id", pa.string())] if with_example_id else [])
        + [("split", pa.string()), ("label", pa.float64()), ("prediction", pa.float64())] + fields
        + [(f"{SLICE_PREFIX}{name}", pa.string()) for name in slice_names]
    )


def parquet_schema(feature_names: List[str], slice_names: List[str], with_example_id: bool) -> pa.Schema:
    return _example_schema(
        slice_names, with_example_id,
        [("method", pa.string()), ("baseline_prediction", pa.float64()), ("completeness_error", pa.float64()),
         ("standard_error", pa.float64()), ("reasons", pa.list_(pa.string()))]
        + [(name, pa.float64()) for name in feature_names])


class _ScoreBatch(beam.DoFn):
    """Loads the SavedModel once per worker process (shared across threads) and scores batches."""

    def __init__(self, model_dir: str, config_json: str, shared_model: shared.Shared):
        self._model_dir = model_dir
        self._config_json = config_json
        self._shared = shared_model

    def setup(self):
        self._config = ExplainerConfig.model_validate_json(self._config_json)
        self._model = self._shared.acquire(lambda: _SharedModel(ExplainedModel(self._model_dir)))

    def process(self, batch: List[bytes]) -> Iterable[Dict]:
        yield from prediction_rows(self._model.model, batch, self._config)


class _ExplainBatch(_ScoreBatch):
    """Explains batches against the background rows, given as a side input."""

    def setup(self):
        super().setup()
        self._background = None

    def process(self, batch: List[bytes], background: List[bytes]) -> Iterable[Dict]:
        if self._background is None:
            self._background = Background.from_examples(self._model.model, background, self._config)
        yield from explain_records(self._model.model, batch, self._background, self._config)


class _SharedModel:
    """A weak-referenceable holder, as apache_beam.utils.shared requires."""

    def __init__(self, model: ExplainedModel):
        self.model = model


class _SumAttributions(beam.CombineFn):
    """Count, sum of |phi| and sum of phi per raw feature."""

    def __init__(self, feature_names: List[str]):
        self._names = feature_names

    def create_accumulator(self):
        return 0, np.zeros(len(self._names)), np.zeros(len(self._names))

    def add_input(self, accumulator, row):
        count, absolute, signed = accumulator
        values = np.array([row[name] for name in self._names])
        return count + 1, absolute + np.abs(values), signed + values

    def merge_accumulators(self, accumulators):
        count, absolute, signed = self.create_accumulator()
        for c, a, s in accumulators:
            count, absolute, signed = count + c, absolute + a, signed + s
        return count, absolute, signed

    def extract_output(self, accumulator):
        count, absolute, signed = accumulator
        return {
            "examples": int(count),
            "mean_abs": dict(zip(self._names, (absolute / max(count, 1)).tolist())),
            "mean": dict(zip(self._names, (signed / max(count, 1)).tolist())),
        }


def _slice_keys(row: Dict, slice_names: List[str]) -> Iterable[Tuple[Tuple[str, str, str], Dict]]:
    yield (row["method"],) + OVERALL, row
    for name in slice_names:
        yield (row["method"], name, row[f"{SLICE_PREFIX}{name}"]), row


def _digested(batches, label: str):
    """Each batch's examples as (content digest, example) pairs: the digest taken once for every subset drawn."""
    return batches | f"{label}Digests" >> beam.Map(lambda batch: [(example_digest(record), record) for record in batch])


def _deterministic_subset(digested, size: int, label: str):
    """The `size` examples with the smallest content digests, from `_digested` batches: the same subset on any
    runner. Each batch offers only its own `size` smallest, so the global top ranks a few per batch, not every
    example."""
    return (
        digested
        | f"{label}SmallestOfBatch" >> beam.FlatMap(lambda pairs: heapq.nsmallest(size, pairs))
        | f"{label}Smallest" >> beam.combiners.Top.Smallest(size)
        | f"{label}Records" >> beam.FlatMap(lambda pairs: [record for _, record in pairs])
    )


def build_explain_pipeline(
    pipeline: beam.Pipeline,
    *,
    examples_pattern: str,
    background_pattern: str | None,
    model_dir: str,
    config: ExplainerConfig,
    feature_names: List[str],
    slice_names: List[str],
    output_dir: str,
    work_dir: str,
    background_records: List[bytes] | None = None,
    loaded_model: ExplainedModel | None = None,
) -> None:
    """Explains the examples at `examples_pattern` against background rows: the deterministic subset of
    `config.background_size` of those at `background_pattern`, or `background_records` as they are (the rows another
    Explainer run kept, so that both explain against the same reference). `loaded_model`, the model at `model_dir`
    already loaded in this process, is what workers in this process explain with (DirectRunner in memory), with
    the graphs it has traced; a worker process elsewhere loads its own."""
    shared_model = shared.Shared()
    if loaded_model is not None:
        # Beam's shared map keeps the last object acquired alive, and this graph acquires no other.
        shared_model.acquire(lambda: _SharedModel(loaded_model))
    batches = (pipeline
               | "ReadExamples" >> ReadRecordBatches({config.split: examples_pattern}, config.batch_size, "Explainer")
               | "ExampleBatches" >> beam.Values())
    _ = (
        batches
        | "Score" >> beam.ParDo(_ScoreBatch(model_dir, config.model_dump_json(), shared_model))
        | "WritePredictions" >> beam.io.WriteToParquet(
            os.path.join(output_dir, PREDICTIONS_DIR, "predictions"),
            _example_schema(slice_names, bool(config.key_feature), []), file_name_suffix=".parquet")
    )
    digested, explained = _digested(batches, "Examples"), batches
    if config.max_examples:
        explained = _deterministic_subset(digested, config.max_examples, "Examples") | "Batch" >> beam.BatchElements(
            min_batch_size=config.batch_size, max_batch_size=config.batch_size)
    if background_records is not None:
        background, train = pipeline | "KeptBackground" >> beam.Create(background_records), None
    else:
        train = _digested(pipeline
                          | "ReadBackground" >> ReadRecordBatches({config.background_split: background_pattern},
                                                                  config.batch_size, "Explainer")
                          | "BackgroundBatches" >> beam.Values(), "Background")
        background = _deterministic_subset(train, config.background_size, "Background")
    rows = explained | "Explain" >> beam.ParDo(_ExplainBatch(model_dir, config.model_dump_json(), shared_model),
                                               background=beam.pvalue.AsList(background))
    _ = rows | "WriteParquet" >> beam.io.WriteToParquet(
        os.path.join(output_dir, "attributions", "attributions"),
        parquet_schema(feature_names, slice_names, bool(config.key_feature)),
        file_name_suffix=".parquet",
    )
    _ = (
        rows
        | "BySlice" >> beam.FlatMap(_slice_keys, slice_names)
        | "Aggregate" >> beam.CombinePerKey(_SumAttributions(feature_names))
        | "AggregateToJson" >> beam.MapTuple(
            lambda key, value: json.dumps({"method": key[0], "slice": key[1], "value": key[2], **value})
        )
        | "WriteAggregates" >> beam.io.WriteToText(os.path.join(work_dir, "aggregates"), file_name_suffix=".jsonl")
    )
    _ = (
        rows
        | "WithReasons" >> beam.Filter(lambda row: (bool(row["reasons"]) or "reasons_agree_with_shapley" in row)
                                    and row["method"] == config.primary_method)
        | "ReasonsToJson" >> beam.Map(
            lambda row: json.dumps({"key": row["key"], "example_id": row.get("example_id"),
                                    "prediction": row["prediction"], "reasons": row["reasons"],
                                    **({"agrees_with_shapley": row["reasons_agree_with_shapley"]}
                                       if "reasons_agree_with_shapley" in row else {})})
        )
        | "WriteReasons" >> beam.io.WriteToText(
            os.path.join(output_dir, "reason_codes", "reason_codes"), file_name_suffix=".jsonl"
        )
    )
    # Small deterministic samples for the quality measures computed after the pipeline: of the explained examples,
    # which are the eval examples with the smallest digests.
    quality_examples = min(config.quality_examples, config.max_examples or config.quality_examples)
    _ = _deterministic_subset(digested, quality_examples, "Quality") | "WriteQualitySample" >> (
        beam.io.WriteToTFRecord(os.path.join(work_dir, "quality_sample"), num_shards=1, shard_name_template="")
    )
    # The ground truth's train examples; with kept background rows there is no train split to draw them from.
    if config.ground_truth_examples and train is not None:
        _ = _deterministic_subset(train, config.ground_truth_examples, "GroundTruth") | "WriteGroundTruthSample" >> (
            beam.io.WriteToTFRecord(os.path.join(work_dir, GROUND_TRUTH_SAMPLE), num_shards=1, shard_name_template=""))
    # Kept in the artifact: the rows every Shapley value above was computed against (explain.BACKGROUND_FILE).
    _ = background | "WriteBackground" >> beam.io.WriteToTFRecord(
        os.path.join(output_dir, BACKGROUND_FILE), num_shards=1, shard_name_template=""
    )
