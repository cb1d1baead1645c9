import numpy as np
import pytest

from chainrule.data import split_sizes, train_dev_test_split


@pytest.mark.parametrize(
    ("n", "ratios", "sizes"),
    [
        (10, (0.7, 0.3), (7, 3)),
        (100, (0.6, 0.2, 0.2), (60, 20, 20)),
        (7, (0.6, 0.2, 0.2), (4, 2, 1)),
        (101, (0.98, 0.01, 0.01), (99, 1, 1)),
        (1_000_000, (0.98, 0.01, 0.01), (980_000, 10_000, 10_000)),
        (3, (1 / 3, 1 / 3, 1 / 3), (1, 1, 1)),
    ],
)
def test_split_sizes_are_exact_and_near_proportional(n, ratios, sizes):
    assert split_sizes(n, ratios) == sizes


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[np.arange(n), rng.standard_normal(n)].astype(np.float32)
    y = rng.integers(0, 3, n)
    return X, y


@pytest.mark.parametrize("stratify", [False, True])
@pytest.mark.parametrize("ratios", [(0.7, 0.3), (0.6, 0.2, 0.2)])
def test_parts_partition_the_rows_and_keep_pairs(stratify, ratios):
    X, y = _data(250)
    parts = train_dev_test_split(X, y, ratios, stratify=stratify, seed=1)
    assert tuple(len(p[0]) for p in parts) == split_sizes(250, ratios)
    rows = np.concatenate([p[0][:, 0] for p in parts]).astype(int)
    assert sorted(rows) == list(range(250))
    for Xp, yp in parts:
        assert Xp.dtype == np.float32 and yp.dtype == y.dtype
        np.testing.assert_array_equal(yp, y[Xp[:, 0].astype(int)])
        np.testing.assert_array_equal(Xp, X[Xp[:, 0].astype(int)])


def test_split_is_reproducible_and_shuffled():
    X, y = _data(100)
    a = train_dev_test_split(X, y, seed=5)
    b = train_dev_test_split(X, y, seed=np.random.default_rng(5))
    c = train_dev_test_split(X, y, seed=6)
    for (Xa, _), (Xb, _) in zip(a, b, strict=True):
        np.testing.assert_array_equal(Xa, Xb)
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][0][:, 0], np.sort(a[0][0][:, 0]))


def test_stratified_split_is_reproducible_and_shuffled():
    # 40 samples of each class, input sorted by class; the shares are exact (20, 10, 10)
    # for every seed, so only the choice of samples and their order can vary
    y = np.repeat(np.arange(3), 40)
    X = np.arange(y.size)[:, None]
    a = train_dev_test_split(X, y, (0.5, 0.25, 0.25), stratify=True, seed=5)
    b = train_dev_test_split(X, y, (0.5, 0.25, 0.25), stratify=True, seed=np.random.default_rng(5))
    c = train_dev_test_split(X, y, (0.5, 0.25, 0.25), stratify=True, seed=6)
    for (Xa, ya), (Xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
    # which samples of a class go to a part is random, not its first ones
    assert [np.bincount(yp, minlength=3).tolist() for _, yp in a] == [[20] * 3, [10] * 3, [10] * 3]
    assert set(a[0][0][:, 0]) != set(c[0][0][:, 0])
    assert set(a[0][0][:, 0]) != {i for k in range(3) for i in range(40 * k, 40 * k + 20)}
    # each part's rows in random order: neither by position nor by class
    for Xp, yp in a:
        assert np.any(np.diff(Xp[:, 0]) < 0) and np.any(np.diff(yp) < 0)


@pytest.mark.parametrize("seed", range(20))
def test_stratified_parts_keep_class_proportions(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 500))
    y = rng.choice(4, n, p=[0.55, 0.25, 0.15, 0.05])
    X = rng.standard_normal((n, 2))
    ratios = (0.6, 0.2, 0.2)
    parts = train_dev_test_split(X, y, ratios, stratify=True, seed=seed)
    for c in range(4):
        n_c = int((y == c).sum())
        for (_, yp), r in zip(parts, ratios, strict=True):
            assert abs(int((yp == c).sum()) - n_c * r) < 2


def test_stratify_holds_the_large_class_beside_many_small_ones():
    # 250 classes of 2 samples got the same keys under the old sort-by-key rule, landed
    # in the same parts together and left the class of 500 with [375, 25, 100]
    y = np.r_[np.zeros(500, np.int64), np.repeat(np.arange(1, 251), 2)]
    X = np.arange(y.size, dtype=np.float32)[:, None]
    for seed in range(5):
        parts = train_dev_test_split(X, y, (0.8, 0.1, 0.1), stratify=True, seed=seed)
        assert [int((p[1] == 0).sum()) for p in parts] == [400, 50, 50]


@pytest.mark.parametrize("seed", range(30))
def test_stratified_shares_are_within_one_then_two_samples(seed):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 60))
    y = rng.integers(0, n_classes, int(rng.integers(n_classes * 3, 2000)))
    ratios = ((0.7, 0.3), (0.6, 0.2, 0.2), (0.5, 0.3, 0.2))[seed % 3]
    parts = train_dev_test_split(y[:, None], y, ratios, stratify=True, seed=seed)
    sizes = split_sizes(y.size, ratios)
    assert tuple(len(p[1]) for p in parts) == sizes
    for c in np.unique(y):
        n_c = int((y == c).sum())
        errors = [
            abs(int((p[1] == c).sum()) - n_c * s / y.size)
            for p, s in zip(parts, sizes, strict=True)
        ]
        assert errors[0] < 1 and max(errors) < 2, (c, n_c, errors)


def test_stratify_beats_chance_on_a_rare_class():
    y = np.array([1] * 10 + [0] * 990)
    X = np.zeros((1000, 1))
    for seed in range(10):
        parts = train_dev_test_split(X, y, (0.8, 0.1, 0.1), stratify=True, seed=seed)
        assert [int(p[1].sum()) for p in parts] == [8, 1, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": np.zeros(9)}, r"expected len\(y\) == len\(X\) == 10, got len\(y\) == 9"),
        (
            {"ratios": (0.6, 0.2, 0.1)},
            r"train_dev_test_split: ratios expected fractions summing to 1, got "
            r"\(0.6, 0.2, 0.1\) summing to 0.9",
        ),
        ({"ratios": (1.0,)}, "train_dev_test_split: ratios expected 2 or 3 positive fractions"),
        ({"ratios": (1.2, -0.2)}, r"ratios expected 2 or 3 positive fractions .* got \(1.2, -0.2"),
        ({"ratios": (0.98, 0.01, 0.01)}, r"give sizes \(10, 0, 0\)"),
        ({"y": np.zeros((10, 2)), "stratify": True}, r"1-D class labels y, got shape \(10, 2\)"),
    ],
)
def test_bad_split_arguments(kwargs, message):
    args = {"X": np.zeros((10, 2)), "y": np.zeros(10), **kwargs}
    with pytest.raises(ValueError, match=message):
        train_dev_test_split(**args)


@pytest.mark.parametrize(
    ("n", "ratios", "sizes"),
    [
        # floors over-assign: 2_000_000 + 2_000_003 > n; the larger part gives the 3 back
        (4_000_000, (0.5, 0.5000009), (2_000_000, 2_000_000)),
        # floors leave 9 over for 3 parts: one each, then the largest ratio takes the 6 left
        (10_000_000, (0.333333, 0.3333331, 0.333333), (3_333_331, 3_333_338, 3_333_331)),
    ],
)
def test_split_sizes_sum_to_n_when_ratios_sum_to_1_only_within_tolerance(n, ratios, sizes):
    assert split_sizes(n, ratios) == sizes
    assert sum(sizes) == n


def test_split_sizes_sum_to_n_for_any_ratios_within_tolerance():
    rng = np.random.default_rng(0)
    for _ in range(300):
        ratios = rng.dirichlet(np.ones(int(rng.integers(2, 4))))
        ratios[0] += rng.uniform(-9e-7, 9e-7)
        n = int(rng.integers(0, 10**12))
        sizes = split_sizes(n, ratios)
        assert sum(sizes) == n and min(sizes) >= 0


def test_split_parts_have_the_sizes_split_sizes_reports():
    X = np.zeros(4_000_000, np.int8)
    parts = train_dev_test_split(X, X, (0.5, 0.5000009))
    assert tuple(len(Xp) for Xp, _ in parts) == split_sizes(4_000_000, (0.5, 0.5000009))


@pytest.mark.parametrize(
    ("n", "error", "message"),
    [
        (-5, ValueError, "split_sizes: n expected an integer >= 0, got -5"),
        (2.5, TypeError, "split_sizes: n expected an integer >= 0, got float 2.5"),
        (True, TypeError, "split_sizes: n expected an integer >= 0, got bool True"),
        (np.float64(10.0), TypeError, "got float64"),
    ],
)
def test_split_sizes_rejects_a_bad_n(n, error, message):
    with pytest.raises(error, match=message):
        split_sizes(n, (0.5, 0.5))


def test_split_sizes_takes_numpy_integers_and_zero():
    assert split_sizes(np.int64(10), (0.7, 0.3)) == (7, 3)
    assert split_sizes(0, (0.6, 0.2, 0.2)) == (0, 0, 0)


@pytest.mark.parametrize(
    ("ratios", "error", "message"),
    [
        (
            0.5,
            TypeError,
            r"split_sizes: ratios expected a sequence of 2 or 3 positive fractions "
            r"\(train, \[dev,\] test\), got float 0.5",
        ),
        (np.float64(0.5), TypeError, r"ratios expected a sequence .* got float64 np.float64"),
        (np.array(0.5), TypeError, r"ratios expected a sequence .* got ndarray array\(0.5\)"),
        (
            ("0.5", "0.5"),
            TypeError,
            r"split_sizes: ratios\[0\] expected a real number \(any finite value\), got str '0.5'",
        ),
        ((0.5, None), TypeError, r"ratios\[1\] expected a real number .*, got NoneType None"),
        ((True, False), TypeError, r"ratios\[0\] expected a real number .*, got bool True"),
        (np.ones((1, 2)) / 2, TypeError, r"ratios\[0\] expected a real number .*, got ndarray"),
        ((np.nan, 0.5), ValueError, r"ratios\[0\] expected a finite number .*, got nan"),
    ],
)
def test_split_sizes_rejects_ratios_that_are_not_a_sequence_of_real_numbers(ratios, error, message):
    with pytest.raises(error, match=message):
        split_sizes(10, ratios)
    with pytest.raises(error, match=message.replace("split_sizes", "train_dev_test_split")):
        train_dev_test_split(np.zeros((10, 2)), np.zeros(10), ratios)


def test_stratify_must_be_a_bool():
    with pytest.raises(
        TypeError, match="train_dev_test_split: stratify expected True or False, got 'no'"
    ):
        train_dev_test_split(np.zeros((10, 2)), np.zeros(10), stratify="no")


@pytest.mark.parametrize(
    ("labels", "types"),
    [(["a", None] * 5, "NoneType, str"), ([1, "1"] * 5, "int, str")],
)
def test_stratify_refuses_labels_that_do_not_sort_by_their_types(labels, types):
    y = np.array(labels, dtype=object)
    rng = np.random.default_rng(0)
    with pytest.raises(
        TypeError,
        match=rf"^train_dev_test_split: stratify expected class labels y that sort, got "
        rf"object labels of types {types} \(",
    ):
        train_dev_test_split(np.zeros((10, 1)), y, stratify=True, seed=rng)
    assert rng.integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)  # not drawn from


def test_stratify_takes_object_labels_of_one_sortable_type():
    y = np.array(["cat", "dog"] * 5, dtype=object)
    parts = train_dev_test_split(np.arange(10.0)[:, None], y, (0.6, 0.4), stratify=True)
    assert [sorted(y_part) for _, y_part in parts] == [
        ["cat"] * 3 + ["dog"] * 3,
        ["cat", "cat", "dog", "dog"],
    ]


@pytest.mark.parametrize(
    ("ratios", "got"),
    [
        ({0.7, 0.2, 0.1}, "set"),  # gave (700, 100, 200): dev and test swapped
        (frozenset({0.98, 0.01}), "frozenset"),  # {0.98, 0.01, 0.01} lost a ratio
        ({0.7: "train", 0.3: "test"}, "dict"),
    ],
)
def test_ratios_in_no_fixed_order_are_refused(ratios, got):
    message = rf"^split_sizes: ratios expected a sequence of 2 or 3 positive .*, got a {got} "
    with pytest.raises(TypeError, match=message + r".*; pass a list or tuple$"):
        split_sizes(1000, ratios)
    with pytest.raises(TypeError, match=message.replace("split_sizes", "train_dev_test_split")):
        train_dev_test_split(np.zeros((10, 2)), np.zeros(10), ratios)
