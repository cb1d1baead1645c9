import re
import sys

import numpy as np
import pytest

from chainrule.data import (
    load_digits,
    make_blobs,
    make_circles,
    make_flower,
    make_moons,
    make_sine,
    make_spirals,
    make_xor,
)

# generator, kwargs, n, number of classes (None: regression)
CLASSIFIERS = [
    (make_moons, {"n": 101}, 101, 2),
    (make_circles, {"n": 101}, 101, 2),
    (make_spirals, {"n": 100, "k": 3}, 100, 3),
    (make_spirals, {"n": 50, "k": 5}, 50, 5),
    (make_flower, {}, 400, 2),
    (make_xor, {"n": 102}, 102, 2),
    (make_blobs, {"n": 90, "centers": 4}, 90, 4),
]
ALL = [*CLASSIFIERS, (make_sine, {"n": 64}, 64, None)]
IDS = [f"{f.__name__}-{i}" for i, (f, *_) in enumerate(ALL)]


@pytest.mark.parametrize(("make", "kwargs", "n", "k"), ALL, ids=IDS)
def test_shapes_dtypes_and_seeding(make, kwargs, n, k):
    X, y = make(**kwargs, seed=3)
    assert X.dtype == np.float32 and X.shape[0] == n and X.ndim == 2
    if k is None:
        assert y.shape == (n, 1) and y.dtype == np.float32
    else:
        assert y.shape == (n,) and y.dtype == np.int64
        counts = np.bincount(y, minlength=k)
        assert counts.size == k and counts.max() - counts.min() <= 1
    X2, y2 = make(**kwargs, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(**kwargs, seed=4)
    assert not np.array_equal(X, X3)
    X4, y4 = make(**kwargs, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X4)
    X64, y64 = make(**kwargs, seed=3, dtype=np.float64)
    assert X64.dtype == np.float64
    np.testing.assert_allclose(X64, X, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("make", "kwargs", "n", "k"), CLASSIFIERS, ids=IDS[:-1])
def test_rows_are_shuffled(make, kwargs, n, k):
    _, y = make(**kwargs, seed=0)
    assert not np.array_equal(y, np.sort(y))


def test_noiseless_moons_lie_on_their_half_circles():
    X, y = make_moons(50, noise=0.0, dtype=np.float64)
    upper, lower = X[y == 0], X[y == 1] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 1e-12).all()


def test_noiseless_circles_have_radius_one_and_factor():
    X, y = make_circles(40, noise=0.0, factor=0.3, dtype=np.float64)
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


def test_noiseless_spiral_arm_radius_grows_along_its_angle():
    X, y = make_spirals(60, k=3, noise=0.0, dtype=np.float64)
    for j in range(3):
        arm = X[y == j]
        angle = np.unwrap(np.arctan2(arm[:, 0], arm[:, 1])[np.argsort(np.hypot(*arm.T))][1:])
        assert np.all(np.diff(angle) > 0)
        np.testing.assert_allclose(np.sort(np.hypot(*arm.T)), np.linspace(0, 1, 20))


def _flower_angle_error(X, y):
    """Largest gap between the angles t of class j's points, sorted, and the
    ``linspace(3.12 j, 3.12 (j + 1))`` that make_flower draws them from."""
    # a point is r (sin t, cos t) with r = 4 sin 4t: its direction phi is t where r >= 0
    # and t + pi where r < 0, and sin 4phi = sin 4t tells the two apart
    phi = np.mod(np.arctan2(X[:, 0], X[:, 1]), 2 * np.pi)
    t = np.where(np.sin(4.0 * phi) >= 0, phi, np.mod(phi - np.pi, 2 * np.pi))
    return max(
        np.abs(np.sort(t[y == j]) - np.linspace(3.12 * j, 3.12 * (j + 1), np.sum(y == j))).max()
        for j in (0, 1)
    )


@pytest.mark.parametrize("n", [400, 401, 7])
def test_noiseless_flower_points_lie_on_the_rose_curve_in_their_classs_petals(n):
    X, y = make_flower(n, noise=0.0, radius=4.0, dtype=np.float64)
    t = np.arctan2(X[:, 0], X[:, 1])  # the point is r * (sin t, cos t), r possibly negative
    np.testing.assert_allclose(np.hypot(*X.T), np.abs(4.0 * np.sin(4.0 * t)), atol=1e-9)
    assert np.bincount(y).tolist() == [(n + 1) // 2, n // 2]
    # the curve and the counts held for labels detached from the petals too
    assert _flower_angle_error(X, y) < 1e-9
    assert _flower_angle_error(X, np.random.default_rng(1).permutation(y)) > 1.0


def test_noiseless_xor_is_the_truth_table():
    X, y = make_xor(8, noise=0.0)
    for x, label in zip(X, y, strict=True):
        assert label == int(x[0]) ^ int(x[1])
    assert {tuple(x) for x in X} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_noiseless_sine_is_sin_x_on_minus_pi_to_pi():
    x, y = make_sine(100, noise=0.0)
    assert x.min() >= -np.pi and x.max() <= np.pi
    np.testing.assert_allclose(y, np.sin(x), atol=1e-6)


def test_blobs_around_given_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    X, y = make_blobs(200, centers=centers, std=0.5, seed=1)
    assert X.shape == (200, 3)
    for label in (0, 1):
        np.testing.assert_allclose(X[y == label].mean(axis=0), centers[label], atol=0.2)
    Xr, _ = make_blobs(100, centers=3, box=(-2.0, 2.0), std=0.0, n_features=4)
    assert Xr.shape == (100, 4) and np.abs(Xr).max() <= 2.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_moons(0), ValueError, "make_moons: n expected an integer >= 1, got 0"),
        (
            lambda: make_moons(10, noise=-1.0),
            ValueError,
            "make_moons: noise expected a finite number >= 0, got -1.0",
        ),
        (
            lambda: make_spirals(10, k=1),
            ValueError,
            "make_spirals: k expected an integer >= 2, got 1",
        ),
        (
            lambda: make_circles(10, factor=1.5),
            ValueError,
            r"make_circles: factor expected a finite number in \(0, 1\), got 1.5",
        ),
        (
            lambda: make_blobs(10, centers=np.zeros(3)),
            ValueError,
            r"make_blobs: centers expected an array of shape \(k, n_features\), both >= 1, "
            r"got shape \(3,\)",
        ),
        (lambda: make_blobs(10, centers=np.zeros((0, 2))), ValueError, r"got shape \(0, 2\)"),
        (lambda: make_blobs(10, centers=np.zeros((3, 0))), ValueError, r"got shape \(3, 0\)"),
        (
            lambda: make_blobs(10, centers=0),
            ValueError,
            "make_blobs: centers expected an integer >= 1, got 0",
        ),
        (
            lambda: make_blobs(10, n_features=0),
            ValueError,
            "make_blobs: n_features expected an integer >= 1 or None, got 0",
        ),
        (lambda: make_xor(10, seed=1.5), TypeError, "got float"),
        (lambda: make_xor(10, seed=None), TypeError, "Generator or an int seed, got NoneType"),
        (
            lambda: make_moons(2.0),
            TypeError,
            "make_moons: n expected an integer >= 1, got float 2.0",
        ),
        (
            lambda: make_sine(True),
            TypeError,
            "make_sine: n expected an integer >= 1, got bool True",
        ),
        (
            lambda: make_spirals(10, k=2.5),
            TypeError,
            "make_spirals: k expected an integer >= 2, got float 2.5",
        ),
        (lambda: make_moons(10, noise=np.nan), ValueError, "make_moons: noise expected a finite"),
        (lambda: make_circles(10, noise=np.inf), ValueError, ">= 0, got inf"),
        (lambda: make_spirals(10, noise=-np.inf), ValueError, ">= 0, got -inf"),
        (lambda: make_flower(10, noise=np.nan), ValueError, "make_flower: noise expected a finite"),
        (lambda: make_xor(10, noise=np.inf), ValueError, "make_xor: noise expected a finite"),
        (lambda: make_sine(10, noise=np.nan), ValueError, "make_sine: noise expected a finite"),
        (
            lambda: make_moons(10, noise="0.1"),
            TypeError,
            "make_moons: noise expected a real number >= 0, got str '0.1'",
        ),
        (lambda: make_flower(10, radius=np.nan), ValueError, "radius expected a finite number"),
        (lambda: make_blobs(10, std=np.inf), ValueError, "make_blobs: std expected a finite"),
        (lambda: make_blobs(10, std=-1.0), ValueError, ">= 0, got -1.0"),
        (lambda: make_blobs(10, box=(0.0, np.inf)), ValueError, r"box\[1\] expected a finite"),
        (lambda: make_blobs(10, box=(1.0, -1.0)), ValueError, r"low <= high, got \(1.0, -1.0\)"),
        (
            lambda: make_blobs(10, centers=[[0.0, np.nan], [1.0, 1.0]]),
            ValueError,
            r"centers: expected finite values, got 1 NaN or Inf values .* at centers\[0, 1\]",
        ),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "minimum"),
    [
        (lambda seed: make_moons(1, seed=seed), 2),
        (lambda seed: make_circles(1, seed=seed), 2),
        (lambda seed: make_flower(1, seed=seed), 2),
        (lambda seed: make_xor(1, seed=seed), 2),
        (lambda seed: make_spirals(3, k=5, seed=seed), 5),
        (lambda seed: make_blobs(2, centers=3, seed=seed), 3),
        (lambda seed: make_blobs(1, centers=np.zeros((2, 2)), seed=seed), 2),
    ],
)
def test_too_few_points_for_every_class_is_refused_before_any_draw(call, minimum):
    rng = np.random.default_rng(0)
    expected = f"n expected at least {minimum}, one point for each of the {minimum} classes"
    with pytest.raises(ValueError, match=expected):
        call(rng)
    assert rng.random() == np.random.default_rng(0).random()  # the generator was not drawn


@pytest.mark.parametrize("make", [make_moons, make_circles, make_flower])
def test_two_class_sets_give_class_0_the_odd_point(make):
    for n in (2, 3, 201):
        assert np.bincount(make(n)[1]).tolist() == [(n + 1) // 2, n // 2]


def test_the_smallest_n_gives_every_class_a_point():
    assert np.bincount(make_spirals(5, k=5)[1]).tolist() == [1] * 5
    assert np.bincount(make_xor(2)[1]).tolist() == [1, 1]
    assert np.bincount(make_blobs(3, centers=3)[1]).tolist() == [1, 1, 1]


def test_load_digits_names_the_extra_when_scikit_learn_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[sklearn\]'"):
        load_digits()


def test_load_digits_with_scikit_learn():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert load_digits(flatten=False)[0].shape == (1797, 8, 8)


@pytest.mark.parametrize(
    "make", [make_moons, make_circles, make_spirals, make_flower, make_xor, make_sine, make_blobs]
)
@pytest.mark.parametrize("dtype", ["foo", np.int32, bool])
def test_a_dtype_that_is_not_a_float_type_is_refused_before_any_draw(make, dtype):
    rng = np.random.default_rng(0)
    expected = f"{make.__name__}: dtype expected a floating-point type such as float32, got"
    with pytest.raises(TypeError, match=expected):
        make(20, seed=rng, dtype=dtype)
    assert rng.integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)  # not drawn from


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        (
            {"centers": np.zeros((3, 2)), "n_features": 5},
            ValueError,
            r"make_blobs: n_features expected 2, the width of centers of shape \(3, 2\), got 5",
        ),
        (
            {"centers": np.zeros((3, 2)), "n_features": 2.0},
            TypeError,
            "make_blobs: n_features expected an integer >= 1 or None, got float 2.0",
        ),
        ({"centers": True}, TypeError, "centers expected a count or an array"),
        (
            {"n_features": 2.5},
            TypeError,
            "make_blobs: n_features expected an integer >= 1 or None, got float 2.5",
        ),
        (
            {"n_features": True},
            TypeError,
            "n_features expected an integer >= 1 or None, got bool True",
        ),
    ],
)
def test_blobs_centers_and_n_features_must_agree(kwargs, error, says):
    with pytest.raises(error, match=says):
        make_blobs(30, **kwargs)
    X, _ = make_blobs(30, centers=np.zeros((3, 4)), n_features=4)
    assert X.shape == (30, 4)
    assert make_blobs(30, centers=np.zeros((3, 4)))[0].shape == (30, 4)


@pytest.mark.parametrize(
    "make", [make_moons, make_circles, make_spirals, make_flower, make_xor, make_sine]
)
@pytest.mark.parametrize("noise", [True, np.True_])
def test_a_bool_noise_is_refused_before_any_draw(make, noise):
    # noise=True used to pass as a standard deviation of 1
    rng = np.random.default_rng(0)
    expected = f"{make.__name__}: noise expected a real number >= 0, got bool {noise!r}"
    with pytest.raises(TypeError, match=re.escape(expected)):
        make(10, noise=noise, seed=rng)
    assert rng.random() == np.random.default_rng(0).random()  # the generator was not drawn


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda seed: make_blobs(10, std=True, seed=seed),
            "make_blobs: std expected a real number >= 0, got bool True",
        ),
        (
            lambda seed: make_flower(10, radius=True, seed=seed),
            "make_flower: radius expected a real number (any finite value), got bool True",
        ),
        (
            lambda seed: make_circles(10, factor="0.5", seed=seed),
            "make_circles: factor expected a real number in (0, 1), got str '0.5'",
        ),
        (
            lambda seed: make_circles(10, factor=None, seed=seed),
            "make_circles: factor expected a real number in (0, 1), got NoneType None",
        ),
        (
            lambda seed: make_circles(10, factor=True, seed=seed),
            "make_circles: factor expected a real number in (0, 1), got bool True",
        ),
        (
            lambda seed: make_blobs(10, box=(False, 1.0), seed=seed),
            "make_blobs: box[0] expected a real number (any finite value), got bool False",
        ),
        (
            lambda seed: make_blobs(10, box=(1.0,), seed=seed),
            "make_blobs: box expected a pair (low, high) of finite numbers, got tuple (1.0,)",
        ),
        (
            lambda seed: make_blobs(10, box=(-1.0, 0.0, 1.0), seed=seed),
            "make_blobs: box expected a pair (low, high) of finite numbers, "
            "got tuple (-1.0, 0.0, 1.0)",
        ),
        (
            lambda seed: make_blobs(10, box=5.0, seed=seed),
            "make_blobs: box expected a pair (low, high) of finite numbers, got float 5.0",
        ),
        (
            lambda seed: make_blobs(10, centers=[["0", "1"], ["2", "3"]], seed=seed),
            "make_blobs: centers expected a count or an array of real numbers of shape "
            "(k, n_features), got [['0', '1'], ['2', '3']] of dtype <U1",
        ),
        (
            lambda seed: make_blobs(10, centers=[[True, False], [False, True]], seed=seed),
            "got [[True, False], [False, True]] of dtype bool",
        ),
        (lambda seed: make_blobs(10, centers=np.True_, seed=seed), "got np.True_ of dtype bool"),
        (
            lambda seed: make_blobs(10, centers=2.5, seed=seed),
            "make_blobs: centers expected an integer >= 1, got float 2.5",
        ),
        (
            lambda seed: make_blobs(10, centers=np.float32(3.0), seed=seed),
            "make_blobs: centers expected an integer >= 1, got float32 np.float32(3.0)",
        ),
    ],
)
def test_a_wrong_type_or_length_is_refused_before_any_draw(call, message):
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=re.escape(message)):
        call(rng)
    assert rng.random() == np.random.default_rng(0).random()  # the generator was not drawn


def test_load_digits_flatten_must_be_a_bool():
    with pytest.raises(TypeError, match="load_digits: flatten expected True or False, got 'no'"):
        load_digits(flatten="no")


@pytest.mark.parametrize(
    ("make", "owner"),
    [
        (lambda: make_blobs(10, box=(-1e39, 1e39)), "make_blobs"),
        (lambda: make_blobs(10, std=1e300), "make_blobs"),
        (lambda: make_moons(noise=1e300), "make_moons"),
        (lambda: make_flower(radius=1e300), "make_flower"),
        (lambda: make_sine(noise=1e300), "make_sine"),
    ],
)
def test_points_beyond_the_dtype_are_refused_not_made_inf(make, owner):
    # NumPy warned "overflow encountered in cast" and the points were Inf
    with pytest.raises(ValueError, match=f"^{owner}: expected points within the float32 range"):
        make()


def test_a_blobs_box_wider_than_float64_is_refused_by_name():
    # NumPy's uniform raised a bare "high - low range exceeds valid bounds"
    with pytest.raises(ValueError, match=r"^make_blobs: box expected a width high - low within"):
        make_blobs(10, box=(-1e308, 1e308))
