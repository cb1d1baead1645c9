import re

import numpy as np
import pytest

from chainrule.data import MinMaxScaler, Standardizer


def _features(n, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 4)) * [1.0, 10.0, 0.01, 3.0] + [5.0, -2.0, 100.0, 0.0]).astype(
        dtype
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standardizer_gives_train_mean_0_std_1_and_reuses_train_stats(dtype):
    train, dev = _features(500, dtype), _features(100, dtype, seed=1) * 2
    scaler = Standardizer()
    Z = scaler.fit_transform(train)
    assert Z.dtype == dtype
    # the float64 statistics are applied in float64: only the output is rounded to float32
    tol = 1e-6 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(Z.astype(np.float64).mean(axis=0), 0.0, atol=tol)
    np.testing.assert_allclose(Z.astype(np.float64).std(axis=0), 1.0, rtol=tol)
    Zdev = scaler.transform(dev)
    mean, std = train.astype(np.float64).mean(axis=0), train.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(Zdev, (dev - mean) / std, rtol=tol, atol=tol)
    assert np.abs(Zdev.mean(axis=0)).max() > 0.5  # dev was not re-centred on its own mean


def test_standardizer_uses_two_pass_variance():
    # A large offset defeats the one-pass formula E[x^2] - E[x]^2 even in float64.
    X = 1e8 + np.random.default_rng(0).standard_normal((1000, 3))
    std = Standardizer().fit(X).state_dict()["std"]
    np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-6)


def test_standardizer_statistics_match_numpy_on_more_rows_than_one_block():
    X = _features(10_000, np.float32)
    state = Standardizer().fit(X).state_dict()
    assert state["mean"].dtype == np.float64 and state["std"].dtype == np.float64
    np.testing.assert_allclose(state["mean"], X.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(state["std"], X.astype(np.float64).std(axis=0), rtol=1e-12)


@pytest.mark.parametrize(("offset", "spread"), [(1e4, 1e-2), (1e6, 1.0)])
def test_float32_features_far_from_0_are_centred_and_scaled_as_in_float64(offset, spread):
    """The float64 mean was stored in float32: rounded by up to half a float32 step of the
    offset, which left the standardized training set off centre by 0.03-0.04 std."""
    X = (offset + spread * np.random.default_rng(0).standard_normal((2000, 3))).astype(np.float32)
    X64 = X.astype(np.float64)
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    assert Z.dtype == np.float32
    expected = ((X64 - X64.mean(axis=0)) / X64.std(axis=0)).astype(np.float32)
    np.testing.assert_allclose(Z, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(Z.astype(np.float64).mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(Z.astype(np.float64).std(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-6)
    assert scaler.transform(X[:5].astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [3.0, 0.1, 1 / 3, -2.5e5])
@pytest.mark.parametrize("m", [3, 10, 1000, 5000])  # 5000: more rows than one block
def test_a_constant_feature_is_only_centred_on_its_exact_value(dtype, value, m):
    """The float64 mean of m copies of 0.1 is not exactly 0.1: the spread came out near
    1e-17, not 0, so training values mapped to +-1 and a dev value 1e-7 off to ~7e9."""
    other = np.random.default_rng(0).standard_normal(m)
    X = np.c_[np.full(m, value), other].astype(dtype)
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    state = scaler.state_dict()
    assert state["mean"][0] == dtype(value) and state["std"][0] == 1.0
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(state["mean"][1], X64[:, 1].mean(), rtol=1e-12)
    np.testing.assert_allclose(state["std"][1], X64[:, 1].std(), rtol=1e-12)
    dev = np.array([[value * (1 + 1e-6), 0.0]], dtype)
    shift = np.float64(dev[0, 0]) - np.float64(dtype(value))  # the offset as the dtype holds it
    assert shift != 0
    np.testing.assert_allclose(scaler.transform(dev)[0, 0], shift, rtol=1e-6)


def test_a_constant_feature_whose_sum_overflows_float64_is_only_centred():
    X = np.c_[np.full(4, 1.5e308), np.arange(4.0)]  # its sum was inf, and fit refused it
    scaler = Standardizer()
    np.testing.assert_array_equal(scaler.fit_transform(X)[:, 0], 0.0)
    assert scaler.state_dict()["mean"][0] == 1.5e308 and scaler.state_dict()["std"][0] == 1.0


@pytest.mark.parametrize("spread", [1e-300, 1e-162, 1e-160, 1e200, 1e300])
@pytest.mark.parametrize("m", [4, 5000])  # 5000: more rows than one block
def test_a_tiny_or_huge_spread_is_standardized_exactly(spread, m):
    """The squared deviations underflowed below a spread of ~1e-154 (std 0, stored as 1,
    as for a constant feature; off in the 6th digit at 1e-160) and overflowed above
    ~1e154 (fit refused the feature)."""
    units = np.arange(m, dtype=np.float64)
    X = np.c_[units * spread, units]
    scaler = Standardizer().fit(X)
    state = scaler.state_dict()
    np.testing.assert_allclose(state["std"], units.std() * np.array([spread, 1.0]), rtol=1e-14)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z[:, 0], Z[:, 1], rtol=1e-14, atol=1e-14)


def test_a_constant_pixel_of_an_image_stack_is_only_centred():
    images = np.random.default_rng(0).random((1000, 3, 3))
    images[:, 1, 2] = 0.1
    scaler = Standardizer()
    Z = scaler.fit_transform(images)
    np.testing.assert_array_equal(Z[:, 1, 2], 0.0)
    assert scaler.state_dict()["mean"][1, 2] == 0.1 and scaler.state_dict()["std"][1, 2] == 1.0


def test_standardizer_inverse_and_state_round_trip():
    X = _features(200)
    scaler = Standardizer().fit(X)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-5, atol=1e-5
    )
    state = scaler.state_dict()
    state["mean"][:] = 0.0  # state_dict hands out copies
    restored = Standardizer.from_config(scaler.get_config())
    restored.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))


def test_standardizer_works_per_pixel_on_image_stacks():
    images = np.random.default_rng(0).random((50, 4, 4), dtype=np.float32)
    scaler = Standardizer().fit(images)
    assert scaler.state_dict()["mean"].shape == (4, 4)
    assert scaler.transform(images).shape == (50, 4, 4)


def test_minmax_maps_the_training_range_onto_feature_range():
    X = _features(300)
    for lo, hi in [(0.0, 1.0), (-1.0, 1.0)]:
        scaler = MinMaxScaler((lo, hi))
        Z = scaler.fit_transform(X)
        assert Z.dtype == np.float32
        np.testing.assert_allclose(Z.min(axis=0), lo, atol=1e-6)
        np.testing.assert_allclose(Z.max(axis=0), hi, atol=1e-6)
        np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5, atol=1e-4)
    wider = scaler.transform(X * 2)  # nothing is clipped outside the training range
    assert wider.max() > 1.0


def test_minmax_constant_feature_maps_to_lo_and_state_round_trips():
    X = np.c_[np.full(5, 7.0), np.arange(5.0)]
    scaler = MinMaxScaler((-1.0, 1.0)).fit(X)
    np.testing.assert_array_equal(scaler.transform(X)[:, 0], -1.0)
    assert scaler.get_config() == {"feature_range": (-1.0, 1.0)}
    clone = MinMaxScaler.from_config(scaler.get_config())
    clone.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(clone.transform(X), scaler.transform(X))
    assert set(scaler.state_dict()) == {"min", "max"}


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
def test_nan_and_inf_are_reported_by_rows_and_columns(cls):
    X = _features(20)
    X[3, 1] = np.nan
    X[7, 1] = np.inf
    X[7, 2] = -np.inf
    message = (
        "X: expected finite values, got 3 NaN or Inf values in 2 of 20 rows and 2 of 4 "
        "columns (the first, nan, at X[3, 1])"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        cls().fit(X)
    fitted = cls().fit(_features(20))
    with pytest.raises(ValueError, match="in 2 of 20 rows"):
        fitted.transform(X)


@pytest.mark.parametrize(
    ("shape", "bad", "where"),
    [
        ((5,), [(3,)], "in 1 of 5 rows (the first, -inf, at X[3])"),
        (
            (3, 2, 2),
            [(2, 0, 0), (1, 1, 0)],  # the first in C order, not the first set
            "in 2 of 3 rows and 2 of 4 columns (the first, -inf, at X[1, 1, 0])",
        ),
    ],
    ids=["1-D", "3-D"],
)
def test_a_non_finite_value_is_named_by_its_index_on_every_axis(shape, bad, where):
    X = np.zeros(shape)
    for index in bad:
        X[index] = -np.inf
    message = f"X: expected finite values, got {len(bad)} NaN or Inf values {where}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Standardizer().fit(X)


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
def test_scaler_misuse_errors(cls):
    with pytest.raises(RuntimeError, match="not fitted"):
        cls().transform(_features(3))
    fitted = cls().fit(_features(10))
    name = cls.__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}.transform: fitted on features of shape \(4,\), got X of shape \(2, 5\)$",
    ):
        fitted.transform(np.zeros((2, 5), np.float32))
    with pytest.raises(
        TypeError, match=rf"^{name}.transform: expected floating-point X, got uint8"
    ):
        fitted.transform(np.zeros((2, 4), np.uint8))
    with pytest.raises(TypeError, match=rf"^{name}.inverse_transform: expected floating-point Z, "):
        fitted.inverse_transform(np.zeros((2, 4), np.uint8))
    with pytest.raises(
        ValueError, match=rf"^{name}.fit: expected X of shape \(n >= 1, ...\), got \(0, 4\)$"
    ):
        cls().fit(np.zeros((0, 4), np.float32))
    with pytest.raises(
        ValueError, match=r"^Z: expected finite values, got 1 NaN or Inf values in 1 of 1 rows"
    ):
        fitted.inverse_transform(np.array([[np.nan, 0, 0, 0]], np.float32))
    with pytest.raises(ValueError, match="state expects keys"):
        cls().load_state_dict({"scale": np.ones(4)})
    with pytest.raises(ValueError, match=r"state expects keys .*, got \['a', 1\]"):
        cls().load_state_dict({1: np.ones(4), "a": np.ones(4)})  # sorted() raised TypeError
    keys = list(fitted.state_dict())
    with pytest.raises(ValueError, match="floating arrays of one shape"):
        cls().load_state_dict({keys[0]: np.ones(4), keys[1]: np.ones(3)})


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
@pytest.mark.parametrize("state", [None, ["mean", "std"], np.zeros(2), "mean"], ids=repr)
def test_load_state_dict_refuses_a_state_that_is_not_a_mapping_by_type(cls, state):
    # None: "'NoneType' object is not iterable"; a list: "list indices must be integers"
    fitted = cls().fit(_features(10))
    before = fitted.state_dict()
    keys = ", ".join(repr(k) for k in sorted(before))
    with pytest.raises(
        TypeError,
        match=rf"{cls.__name__}.load_state_dict: state expected a mapping of {keys} to "
        rf"arrays \(a state_dict\(\)\), got {type(state).__name__}",
    ):
        fitted.load_state_dict(state)
    for key, value in fitted.state_dict().items():  # the fitted state is kept
        np.testing.assert_array_equal(value, before[key])


def test_minmax_rejects_an_empty_range():
    with pytest.raises(ValueError, match=r"lo < hi, got \(1.0, 1.0\)"):
        MinMaxScaler((1.0, 1.0))


@pytest.mark.parametrize(
    ("feature_range", "error", "says"),
    [
        ((0.0, np.inf), ValueError, "feature_range hi expected a finite number.*got inf"),
        ((-np.inf, 0.0), ValueError, "feature_range lo expected a finite number"),
        ((0.0, 1.0, 2.0), TypeError, r"expected a pair \(lo, hi\).*got tuple \(0.0, 1.0, 2.0\)"),
        (1.0, TypeError, "expected a pair .*got float 1.0"),
        (("0", 1), TypeError, "feature_range lo expected a real number.*got str '0'"),
        # the transform gave [nan, inf, inf]
        ((-1e308, 1e308), ValueError, r"expected a span hi - lo within the float64 range"),
    ],
)
def test_minmax_feature_range_must_be_two_finite_numbers(feature_range, error, says):
    with pytest.raises(error, match=says):
        MinMaxScaler(feature_range)


@pytest.mark.parametrize("feature_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_minmax_puts_the_training_set_exactly_inside_feature_range(feature_range):
    # (x - min) * (1 / (max - min)) in float32 came out above 1 for about 6% of columns
    X = np.random.default_rng(3).random((200, 2000), dtype=np.float32)
    Z = MinMaxScaler(feature_range).fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z.min(axis=0), feature_range[0])
    np.testing.assert_array_equal(Z.max(axis=0), feature_range[1])


def test_minmax_of_a_wide_float16_feature_does_not_overflow():
    X = np.array([[-60000.0], [0.0], [60000.0]], np.float16)  # max - min overflows float16
    scaler = MinMaxScaler().fit(X)
    Z = scaler.transform(X)
    assert Z.dtype == np.float16
    np.testing.assert_array_equal(Z.ravel(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(scaler.inverse_transform(Z), X)


def test_a_spread_too_small_for_float32_is_standardized_in_float64():
    # mean and std (7e-46) are 0 in float32: the feature was only centred (on 0)
    X = np.array([[0.0], [1e-45]], np.float32)
    scaler = Standardizer().fit(X)
    Z = scaler.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z, [[-1.0], [1.0]])
    np.testing.assert_array_equal(scaler.inverse_transform(Z), X)


def test_minmax_scales_a_spread_too_small_for_float32_in_float64():
    X = np.array([[0.0], [1e-45]], np.float32)  # 1 / (max - min) overflows float32
    scaler = MinMaxScaler().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_array_equal(Z, [[0.0], [1.0]])
    np.testing.assert_array_equal(scaler.inverse_transform(Z), X)


@pytest.mark.parametrize(("cls", "zero"), [(Standardizer, -1.0), (MinMaxScaler, 0.0)])
def test_a_float64_fit_applied_to_float32_never_divides_by_zero(cls, zero):
    scaler = cls().fit(np.array([[0.0], [1e-100]]))  # std 5e-101: 0 in float32
    Z = scaler.transform(np.zeros((3, 1), np.float32))
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z, zero)  # 0 is the fit's mean - 1 std, its min
    np.testing.assert_array_equal(scaler.inverse_transform(Z), 0.0)


@pytest.mark.parametrize(
    ("cls", "state", "message"),
    [
        (Standardizer, {"mean": [0.0, 0.0], "std": [1.0, -0.5]}, "'std' must be >= 0"),
        (Standardizer, {"mean": [0.0, 0.0], "std": [-2.0, 1.0]}, r"1 negative values, e\.g\. -2"),
        (Standardizer, {"mean": [0.0, np.inf], "std": [1.0, 1.0]}, "'mean' must be finite"),
        (Standardizer, {"mean": [0.0, 0.0], "std": [np.nan, 1.0]}, "'std' must be finite"),
        (MinMaxScaler, {"min": [0.0, 2.0], "max": [1.0, 1.0]}, "min 2.0 > max 1.0"),
        (MinMaxScaler, {"min": [0.0, 0.0], "max": [np.nan, 1.0]}, "'max' must be finite"),
    ],
)
def test_load_state_dict_rejects_statistics_fit_never_produces(cls, state, message):
    scaler = cls().fit(_features(10)[:, :2])
    before = scaler.state_dict()
    with pytest.raises(ValueError, match=message):
        scaler.load_state_dict({k: np.array(v, np.float32) for k, v in state.items()})
    for key, value in scaler.state_dict().items():  # the fitted state is kept
        np.testing.assert_array_equal(value, before[key])


def test_a_zero_std_saved_by_earlier_versions_loads_and_divides_by_1():
    scaler = Standardizer()
    scaler.load_state_dict({"mean": np.array([1.0, 2.0]), "std": np.array([2.0, 0.0])})
    np.testing.assert_array_equal(scaler.transform(np.array([[3.0, 5.0]])), [[1.0, 3.0]])


def test_minmax_state_with_max_equal_to_min_loads_and_maps_to_lo():
    scaler = MinMaxScaler((-1.0, 1.0))
    scaler.load_state_dict({"min": np.array([3.0]), "max": np.array([3.0])})
    np.testing.assert_array_equal(scaler.transform(np.array([[3.0], [5.0]])), [[-1.0], [3.0]])


def test_minmax_refuses_a_feature_whose_span_overflows_float64():
    X = np.array([[-1e308], [1e308], [0.0]])
    with pytest.raises(ValueError, match="max - min fits in float64, got 1 wider"):
        MinMaxScaler().fit(X)
    with pytest.raises(ValueError, match="max - min fits in float64"):
        MinMaxScaler().load_state_dict({"min": np.array([-1e308]), "max": np.array([1e308])})


@pytest.mark.parametrize("values", [[1.5e308, 1.6e308], [-1.7e308, -1.7e308, 1.7e308]])
def test_standardizer_refuses_features_whose_statistics_overflow_float64(values):
    # the sum, or a deviation from the mean (1.7e308 + 5.7e307), overflows float64: mean or
    # std became inf, transform gave NaN or zeros, and the state did not load back
    X = np.array([[v, 1.0] for v in values])
    scaler = Standardizer()
    with pytest.raises(ValueError, match="got 1 that overflow"):
        scaler.fit(X)
    with pytest.raises(RuntimeError, match="not fitted"):
        scaler.transform(X)


def _scaling_by(cls, spread, features=8, bad=(0, 5, 7)):
    """A scaler whose std (or max - min) is 1, except ``spread`` in features ``bad``."""
    scale = np.ones(features)
    scale[list(bad)] = spread
    scaler = cls()
    keys = ("mean", "std") if cls is Standardizer else ("min", "max")
    scaler.load_state_dict(dict(zip(keys, (np.zeros(features), scale), strict=True)))
    return scaler


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
@pytest.mark.parametrize(
    ("method", "spread", "value", "fits_float64"),
    [
        ("transform", 1e-40, 1.0, True),  # 1 / 1e-40 does not fit float32
        ("transform", 1e-320, 1e10, False),  # 1e10 / 1e-320 does not even fit float64
        ("inverse_transform", 1e300, 1.0, True),  # 1 * 1e300 does not fit float32
    ],
)
def test_results_beyond_float32_are_refused_naming_the_features(
    cls, method, spread, value, fits_float64
):
    # the cast to float32 wrote inf, with only an "overflow encountered in cast" warning
    scaler = _scaling_by(cls, spread)
    X = np.zeros((5000, 8), np.float32)  # two blocks of rows; the overflow is in the second
    X[4500, [0, 5, 7]] = value
    X[4600, 5] = -value
    name = "X" if method == "transform" else "Z"
    with pytest.raises(ValueError) as info:
        getattr(scaler, method)(X)
    assert str(info.value).startswith(
        f"{cls.__name__}.{method}: expected results within float32's range (+-3.403e+38), "
        f"got values beyond it in 3 features (0, 5, 7); pass {name}.astype(np.float64)"
    )
    if fits_float64:  # as the message suggests
        assert np.isfinite(getattr(scaler, method)(X.astype(np.float64))).all()


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_results_beyond_float16_are_refused_for_one_feature_arrays(method):
    scaler = Standardizer().fit(np.array([0.0, 1e-6 if method == "transform" else 1e6]))
    with pytest.raises(
        ValueError,
        match=r"within float16's range \(\+-6\.55e\+04\), got values "
        r"beyond it in 1 feature; pass",
    ):
        getattr(scaler, method)(np.array([0.0, 1.0], np.float16))


def test_results_beyond_float32_name_the_first_five_features_of_an_image_stack():
    scaler = Standardizer().fit(np.array([np.zeros((3, 3)), np.full((3, 3), 1e-40)]))
    with pytest.raises(
        ValueError,
        match=r"in 9 features \(\(0, 0\), \(0, 1\), \(0, 2\), "
        r"\(1, 0\), \(1, 1\), \.\.\.\);",
    ):
        scaler.transform(np.ones((2, 3, 3), np.float32))


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
def test_float32_results_that_fit_are_the_float64_results_rounded(cls):
    # the largest results round down to float32's max: they fit, and are kept
    top = np.float64(np.finfo(np.float32).max)
    rng = np.random.default_rng(0)
    X = np.r_[rng.uniform(-1.0, 1.0, (5000, 3)), [[1.0, 1.0, 1.0]]].astype(np.float32)
    if cls is Standardizer:
        state = {"mean": np.zeros(3), "std": np.array([1.0, 1e-30, 1 / (top * (1 + 2**-30))])}
        expected = X.astype(np.float64) / state["std"]
        Z = np.r_[X[:-1], [[1.0, 1e-8, top]]].astype(np.float32)
        inverse = Z.astype(np.float64) * state["std"]
    else:
        state = {"min": np.zeros(3), "max": np.array([1.0, 1e-30, 1 / (top * (1 + 2**-30))])}
        expected = X.astype(np.float64) / state["max"]
        Z = np.r_[X[:-1], [[1.0, 1e-8, 1.0]]].astype(np.float32)
        inverse = Z.astype(np.float64) * state["max"]
    scaler = cls()
    scaler.load_state_dict(state)
    out = scaler.transform(X)
    assert out[-1, 2] == np.finfo(np.float32).max
    np.testing.assert_array_equal(out.view(np.uint32), expected.astype(np.float32).view(np.uint32))
    back = scaler.inverse_transform(Z)
    np.testing.assert_array_equal(back.view(np.uint32), inverse.astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("cls", [Standardizer, MinMaxScaler])
def test_a_one_feature_vector_is_scaled_and_its_state_round_trips(cls):
    # MinMaxScaler stored NumPy scalars for a 1-D X, and transform failed on them
    X = np.array([2.0, 4.0, 6.0], np.float32)
    scaler = cls().fit(X)
    Z = scaler.transform(X)
    expected = (X - 4.0) / np.sqrt(8 / 3) if cls is Standardizer else (X - 2.0) / 4.0
    assert Z.dtype == np.float32 and np.allclose(Z, expected, rtol=1e-6)
    assert all(type(a) is np.ndarray and a.shape == () for a in scaler.state_dict().values())
    again = cls()
    again.load_state_dict(scaler.state_dict())
    assert np.array_equal(again.transform(X), Z)
    assert np.allclose(again.inverse_transform(Z), X, rtol=1e-6)
