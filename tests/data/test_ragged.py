"""A ragged list (rows of different lengths) is refused by name wherever the data
modules take an array, not with NumPy's "inhomogeneous shape" error."""

import numpy as np
import pytest

from chainrule.data import (
    BatchLoader,
    MinMaxScaler,
    Standardizer,
    make_blobs,
    one_hot,
    scale_pixels,
    train_dev_test_split,
    write_idx,
)

RAGGED = [[1.0, 2.0], [3.0]]
STATE = {"mean": RAGGED, "std": [1.0, 1.0]}

CALLS = {
    "BatchLoader X": (lambda: BatchLoader(RAGGED, [0, 1], 1), "BatchLoader: X"),
    "BatchLoader y": (lambda: BatchLoader(np.zeros((2, 2)), [[0], [1, 2]], 1), "BatchLoader: y"),
    "one_hot y": (lambda: one_hot([[0], [1, 0]], 2), "one_hot: y"),
    "Standardizer.fit": (lambda: Standardizer().fit(RAGGED), "Standardizer.fit: X"),
    "MinMaxScaler.fit_transform": (
        lambda: MinMaxScaler().fit_transform(RAGGED),
        "MinMaxScaler.fit: X",
    ),
    "Standardizer.transform": (
        lambda: Standardizer().fit(np.ones((3, 2))).transform(RAGGED),
        "Standardizer.transform: X",
    ),
    "load_state_dict": (
        lambda: Standardizer().load_state_dict(STATE),
        r"Standardizer.load_state_dict: state\['mean'\]",
    ),
    "make_blobs centers": (lambda: make_blobs(10, centers=[[0, 0], [1]]), "make_blobs: centers"),
    "train_dev_test_split X": (
        lambda: train_dev_test_split(RAGGED * 5, list(range(10))),
        "train_dev_test_split: X",
    ),
    "train_dev_test_split y": (
        lambda: train_dev_test_split(np.zeros((2, 1)), [[0], [1, 2]]),
        "train_dev_test_split: y",
    ),
    "scale_pixels": (lambda: scale_pixels([np.zeros(2, np.uint8), [1]]), "scale_pixels: images"),
    "write_idx": (lambda: write_idx("never-written.idx", RAGGED), "write_idx: array"),
}


@pytest.mark.parametrize("case", list(CALLS), ids=list(CALLS))
def test_a_ragged_list_is_refused_naming_the_function_and_argument(case):
    call, owner = CALLS[case]
    with pytest.raises(
        ValueError, match=rf"^{owner} expected a rectangular array, got a ragged list"
    ):
        call()
