import re

import numpy as np
import pytest

from chainrule.data import BatchLoader, one_hot


def _data(n, dtype=np.float32):
    X = np.arange(n * 3, dtype=dtype).reshape(n, 3)
    return X, np.arange(n)


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "expected"),
    [
        (10, 3, False, 4),
        (10, 3, True, 3),
        (10, 10, False, 1),
        (10, 1, False, 10),
        (10, 64, False, 1),
        (12, 4, True, 3),
    ],
)
def test_len_is_batches_per_epoch(n, batch_size, drop_last, expected):
    loader = BatchLoader(*_data(n), batch_size, drop_last=drop_last)
    assert len(loader) == expected
    assert len(list(loader.epoch(np.random.default_rng(0)))) == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_sample_once_per_epoch_with_the_last_batch_kept(dtype):
    X, y = _data(103, dtype)
    loader = BatchLoader(X, y, 16)
    rng = np.random.default_rng(0)
    for _ in range(3):
        batches = list(loader.epoch(rng))
        assert [len(b[1]) for b in batches] == [16] * 6 + [7]
        seen = np.concatenate([yb for _, yb in batches])
        assert sorted(seen) == list(range(103))
        assert not np.array_equal(seen, np.arange(103))
        for xb, yb in batches:
            assert xb.dtype == dtype
            np.testing.assert_array_equal(xb, X[yb])


def test_drop_last_drops_only_the_partial_batch():
    loader = BatchLoader(*_data(103), 16, drop_last=True)
    batches = list(loader.epoch(np.random.default_rng(0)))
    assert [len(yb) for _, yb in batches] == [16] * 6
    assert len(np.unique(np.concatenate([yb for _, yb in batches]))) == 96


def test_epochs_are_reproducible_from_the_seed_and_differ_from_each_other():
    loader = BatchLoader(*_data(50), 8)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    first_a = [yb for _, yb in loader.epoch(rng_a)]
    first_b = [yb for _, yb in loader.epoch(rng_b)]
    second_a = [yb for _, yb in loader.epoch(rng_a)]
    for a, b in zip(first_a, first_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first_a, second_a, strict=True))


def test_resume_mid_epoch_from_a_saved_generator_state():
    loader = BatchLoader(*_data(50), 8)
    rng = np.random.default_rng(3)
    saved = rng.bit_generator.state
    full = [yb for _, yb in loader.epoch(rng)]
    after_full = rng.bit_generator.state
    resumed_rng = np.random.default_rng(0)
    resumed_rng.bit_generator.state = saved
    rest = [yb for _, yb in loader.epoch(resumed_rng, start=4)]
    assert len(rest) == len(full) - 4
    for a, b in zip(full[4:], rest, strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed_rng.bit_generator.state == after_full  # the next epoch matches too
    assert list(loader.epoch(np.random.default_rng(3), start=len(loader))) == []


def test_the_permutation_is_drawn_when_epoch_is_called():
    loader = BatchLoader(*_data(20), 4)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    loader.epoch(rng)  # not iterated
    assert rng.bit_generator.state != before


def test_unshuffled_batches_are_ordered_views():
    X, y = _data(10)
    loader = BatchLoader(X, y, 4, shuffle=False)
    batches = list(loader)
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(xb, X) for xb, _ in batches)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((np.zeros((10, 2)), np.zeros(9), 2), {}, ValueError, r"len\(X\) == 10, got len\(y\) == 9"),
        (
            (np.zeros((10, 2)), np.zeros(10), 0),
            {},
            ValueError,
            "BatchLoader: batch_size expected an integer >= 1, got 0",
        ),
        (
            (np.zeros((10, 2)), np.zeros(10), 2.0),
            {},
            TypeError,
            "batch_size expected an integer >= 1, got float 2.0",
        ),
        (
            (np.zeros((10, 2)), np.zeros(10), 11),
            {"drop_last": True},
            ValueError,
            "^BatchLoader: drop_last=True with batch_size=11 > n=10 samples leaves no batch$",
        ),
        (  # it gave epochs of no batch (with drop_last=False)
            (np.zeros((0, 3)), np.zeros(0), 4),
            {},
            ValueError,
            "^BatchLoader: expected at least one sample, got X with 0 rows$",
        ),
        (
            (np.array([[1.0, np.nan], [np.inf, 0.0], [0.0, 0.0]]), np.zeros(3), 2),
            {},
            ValueError,
            # the first bad value by its index (it said "first at row 0, column 0": the
            # first bad row and the first bad column, but X[0, 0] is finite)
            r"^X: expected finite values, got 2 NaN or Inf values in 2 of 3 rows and 2 of 2 "
            r"columns \(the first, nan, at X\[0, 1\]\)$",
        ),
    ],
)
def test_bad_loader_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        BatchLoader(*args, **kwargs)


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, np.nan], [np.inf, 0.0]], dtype=object),
        np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object),
        np.array([["1", "2"], ["3", "4"]]),
        np.zeros((2, 2), "datetime64[s]"),
    ],
    ids=["object-nan", "object-finite", "str", "datetime"],
)
def test_a_non_numeric_x_is_refused_by_type(X):
    # an object array went unscanned: NaN and inf in it were accepted, and fit refused it
    # only later, in the model ("unknown dtype")
    message = (
        r"^X: expected a numeric array \(bool, integer, floating-point or complex\), got dtype "
        + re.escape(str(X.dtype))
    )
    with pytest.raises(TypeError, match=message):
        BatchLoader(X, np.zeros(2), 1)


def test_shuffling_needs_an_explicit_generator_and_a_valid_start():
    loader = BatchLoader(*_data(10), 4)
    with pytest.raises(
        TypeError, match="^BatchLoader.epoch: shuffle=True needs a numpy.random.Generator"
    ):
        iter(loader)
    with pytest.raises(TypeError, match="got int"):
        loader.epoch(0)
    with pytest.raises(
        ValueError, match=r"^BatchLoader.epoch: start expected a batch index in \[0, 3\], got 4$"
    ):
        loader.epoch(np.random.default_rng(0), start=4)


@pytest.mark.parametrize("start", [1.5, True, "1"])
def test_a_start_that_is_not_an_integer_is_refused_before_the_generator_is_used(start):
    loader = BatchLoader(*_data(10), 4)
    rng = np.random.default_rng(0)
    with pytest.raises(
        TypeError, match=f"start expected an integer >= 0, got {type(start).__name__}"
    ):
        loader.epoch(rng, start=start)
    assert rng.integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)  # not drawn from


def test_one_hot_rows_and_dtype():
    encoded = one_hot(np.array([2, 0, 1, 2]), 4)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, np.eye(4, dtype=np.float32)[[2, 0, 1, 2]])
    assert one_hot(np.array([1], np.uint8), 2, dtype="float64").dtype == np.float64


@pytest.mark.parametrize(
    ("labels", "n_classes", "message"),
    [
        (
            np.array([0, 3]),
            3,
            r"^one_hot: labels must lie in \[0, 3\), got 1 outside it \(e.g. 3\)",
        ),
        (np.array([-1, 0]), 3, r"got 1 outside it \(e.g. -1\)"),
        (np.array([0.0, 1.0]), 2, "^one_hot: y expected 1-D integer labels, got float64"),
        (np.zeros((2, 2), int), 2, r"shape \(2, 2\)"),
        (np.array([0]), 0, "one_hot: n_classes expected an integer >= 1, got 0"),
    ],
)
def test_one_hot_rejects_bad_labels(labels, n_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, n_classes)


@pytest.mark.parametrize("n_classes", [True, 2.5, "3"])
def test_one_hot_needs_an_integer_class_count(n_classes):
    with pytest.raises(TypeError, match="n_classes expected an integer >= 1, got"):
        one_hot(np.array([0, 1]), n_classes)


@pytest.mark.parametrize("flag", ["shuffle", "drop_last"])
def test_loader_flags_must_be_bools(flag):
    with pytest.raises(TypeError, match=f"BatchLoader: {flag} expected True or False, got 'no'"):
        BatchLoader(np.zeros((10, 2)), np.zeros(10), 2, **{flag: "no"})


@pytest.mark.parametrize("dtype", ["int8", np.uint16, np.float16])
def test_one_hot_takes_integer_and_floating_dtypes(dtype):
    encoded = one_hot(np.array([1, 0]), 2, dtype=dtype)
    assert encoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(encoded, [[0, 1], [1, 0]])


@pytest.mark.parametrize("dtype", [str, "U1", object, bool, np.complex64, "foo"], ids=repr)
def test_one_hot_refuses_a_dtype_that_is_not_numeric(dtype):
    with pytest.raises(
        TypeError,
        match=r"^one_hot: dtype expected a floating-point or integer type such as float32 or "
        rf"int64, got {re.escape(repr(dtype))}$",
    ):
        one_hot(np.array([0, 1]), 2, dtype=dtype)
