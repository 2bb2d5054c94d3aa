"""Raw-feature blocks: summing dense attributions, and rejecting a feature map that does not fit."""

import numpy as np
import pytest

from components.explainer.methods import column_owners, sum_blocks


def test_sum_blocks_adds_each_features_columns():
    attributions = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(sum_blocks(attributions, [(0, 1), (1, 4), (4, 6)]), [[0, 6, 9], [6, 24, 21]])


def test_columns_outside_every_block_have_no_owner():
    np.testing.assert_array_equal(column_owners([(1, 3)], 4), [1, 0, 0, 1])


@pytest.mark.parametrize("blocks", [[(0, 2), (1, 3)], [(0, 7)], [(2, 2)]])
def test_bad_blocks_are_rejected(blocks):
    with pytest.raises(ValueError, match="block"):
        column_owners(blocks, 6)
