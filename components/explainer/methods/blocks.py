"""Raw features as contiguous blocks of dense columns (the feature map of `dense_features`)."""

from typing import Sequence

import numpy as np

Blocks = Sequence[tuple[int, int]]


def column_owners(blocks: Blocks, width: int) -> np.ndarray:
    """For each dense column, the index of the raw feature that owns it; `len(blocks)` where no block does.

    Validating here means every method fails the same way on a feature map that does not fit the model.
    """
    owners = np.full(width, len(blocks), dtype=np.int32)
    for index, (start, end) in enumerate(blocks):
        if not 0 <= start < end <= width:
            raise ValueError(f"block {index} = [{start}, {end}) is not a non-empty column range inside [0, {width})")
        if (owners[start:end] != len(blocks)).any():
            raise ValueError(f"block {index} = [{start}, {end}) overlaps another block")
        owners[start:end] = index
    return owners


def sum_blocks(attributions: np.ndarray, blocks: Blocks) -> np.ndarray:
    """Dense-column attributions [N, D] -> raw-feature attributions [N, M], summing each feature's columns.

    Summing is exact for path methods: completeness holds per column, so it holds per block.
    """
    attributions = np.asarray(attributions)
    column_owners(blocks, attributions.shape[1])
    return np.stack([attributions[:, start:end].sum(axis=1) for start, end in blocks], axis=1)
