"""load_state_dict refuses integers that an integer buffer cannot hold (the cast wraps them)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Counter(nn.Module):
    """A module with an int32 buffer and a float32 parameter."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", np.zeros(2, np.int32))
        self.register_parameter("w", cr.tensor(np.ones(2, np.float32), requires_grad=True))

    def forward(self, x):
        return x

    def get_config(self):
        return {"type": "Counter"}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (np.array([1, 2**31 + 5], np.int64), "1 to 2147483653"),  # wrapped to -2147483643
        (np.array([2**64 - 1, 0], np.uint64), "0 to 18446744073709551615"),  # wrapped to -1
        (np.array([-(2**31) - 1, 0], np.int64), "-2147483649 to 0"),
    ],
    ids=["int64-above", "uint64-max", "int64-below"],
)
def test_integers_beyond_an_integer_buffer_are_refused_before_anything_is_written(value, shown):
    c = Counter()
    state = {"w": np.full(2, 5.0, np.float32), "count": value}
    expected = f"overflowing keys ['count (integers beyond the range of int32: {shown})']"
    with pytest.raises(ValueError) as info:
        c.load_state_dict(state)
    assert str(info.value) == f"load_state_dict into Counter: {expected}"
    np.testing.assert_array_equal(c.count, [0, 0])
    np.testing.assert_array_equal(c.w.data, [1.0, 1.0])  # the key before it neither


def test_integers_within_an_integer_buffer_are_loaded_from_any_integer_dtype():
    c = Counter()
    for value in (
        np.array([2**31 - 1, -(2**31)], np.int64),
        np.array([7, 0], np.uint64),
        np.array([True, False]),
        np.zeros(2, np.int8),
    ):
        c.load_state_dict({"w": np.ones(2, np.float32), "count": value})
        np.testing.assert_array_equal(c.count, value.astype(np.int64))
        assert c.count.dtype == np.int32
