"""The Explainer's deterministic subsets (explained, background, quality and ground-truth examples): the examples with
the smallest content digests of all, however the examples arrive in batches."""

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from components.explainer.beam_pipeline import _deterministic_subset, _digested
from components.explainer.explain import example_digest
from pipeline.runners.beam import IN_MEMORY

RECORDS = [f"example {i}".encode() for i in range(500)] + [b"example 7"]  # one example twice


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
@pytest.mark.parametrize("size", [1, 10, 120, 600])
def test_the_subset_is_the_smallest_digests_of_all_examples_whatever_the_batches(batch_size, size):
    shuffled = random.Random(batch_size * size).sample(RECORDS, len(RECORDS))
    batches = [shuffled[start:start + batch_size] for start in range(0, len(shuffled), batch_size)]
    with beam.Pipeline(options=PipelineOptions(IN_MEMORY)) as pipeline:
        subset = _deterministic_subset(_digested(pipeline | beam.Create(batches), "Test"), size, "Test")
        assert_that(subset, equal_to(sorted(RECORDS, key=example_digest)[:size]))
