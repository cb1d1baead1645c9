"""Batch normalization: normalization, running statistics, stability, modes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn


def test_training_output_is_normalized_then_scaled_and_shifted():
    x = np.random.default_rng(0).normal(5.0, 3.0, (64, 3))
    bn = nn.BatchNorm1d(3, dtype="float64")
    bn.load_state_dict({**bn.state_dict(), "gamma": [1.0, 2.0, 0.5], "beta": [0.0, -1.0, 3.0]})
    out = bn(x).data
    np.testing.assert_allclose(out.mean(axis=0), [0.0, -1.0, 3.0], atol=1e-12)
    # biased variance in the normalization: std = gamma * sqrt(var / (var + eps))
    var = x.var(axis=0)
    np.testing.assert_allclose(out.std(axis=0), [1.0, 2.0, 0.5] * np.sqrt(var / (var + 1e-5)))


def test_running_statistics_converge_to_the_datas():
    rng = np.random.default_rng(1)
    mean, std = np.array([3.0, -2.0, 0.0]), np.array([2.0, 0.5, 1.0])
    bn = nn.BatchNorm1d(3, momentum=0.9)
    for _ in range(200):
        bn(rng.normal(mean, std, (128, 3)).astype(np.float32))
    buffers = dict(bn.named_buffers())
    np.testing.assert_allclose(buffers["running_mean"], mean, atol=0.1)
    np.testing.assert_allclose(buffers["running_var"], std**2, rtol=0.1)
    assert buffers["running_mean"].dtype == np.float32


def test_one_update_follows_the_documented_ewma():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    bn = nn.BatchNorm1d(2, momentum=0.75, dtype="float64")
    bn(x)
    buffers = dict(bn.named_buffers())
    np.testing.assert_allclose(buffers["running_mean"], 0.25 * x.mean(axis=0))
    np.testing.assert_allclose(buffers["running_var"], 0.75 + 0.25 * x.var(axis=0, ddof=1))


def test_float32_data_far_from_zero_normalizes_to_zero_mean_and_unit_std():
    x = np.random.default_rng(2).normal(1e4, 0.1, (1000, 4)).astype(np.float32)
    out = nn.BatchNorm1d(4)(x).data
    assert out.dtype == np.float32
    std = out.std(axis=0)
    assert np.all((std >= 0.99) & (std <= 1.01)), std
    # the batch mean, rounded to float32, is about half an ulp of 1e4 (4.9e-4 = 0.0049 std)
    # of the data's; a float32 mean summed row after row was off by up to 0.04 std
    mean = out.mean(axis=0, dtype=np.float64)
    assert np.all(np.abs(mean) < 0.005), mean


def test_float32_mean_of_a_large_batch_far_from_zero_stays_precise():
    x = np.random.default_rng(5).normal(1e4, 1.0, (4096, 3)).astype(np.float32)
    out = nn.BatchNorm1d(3)(x).data
    mean = out.mean(axis=0, dtype=np.float64)
    assert np.all(np.abs(mean) < 1e-3), mean


@pytest.mark.parametrize("value", [9876.54, 123.456])
def test_a_constant_non_integer_feature_gives_exactly_beta(value):
    x = np.full((128, 2), value, np.float32)
    x[:, 1] = np.arange(128)
    gamma, beta = np.array([2.0, 1.0], np.float32), np.array([0.25, 0.0], np.float32)
    out = F.batch_norm(cr.tensor(x), gamma, beta).data
    np.testing.assert_array_equal(out[:, 0], np.float32(0.25))


def test_eval_mode_uses_the_running_statistics():
    bn = nn.BatchNorm1d(2, dtype="float64")
    state = {"gamma": [2.0, 1.0], "beta": [0.5, 0.0], "running_mean": [1.0, -1.0]}
    bn.load_state_dict({**state, "running_var": [4.0, 0.25]})
    x = np.array([[3.0, 0.0]])  # a single example is fine in evaluation mode
    out = bn.eval()(x).data
    expected = [2.0 * 2.0 / np.sqrt(4.0 + 1e-5) + 0.5, 1.0 / np.sqrt(0.25 + 1e-5)]
    np.testing.assert_allclose(out, [expected])
    assert dict(bn.named_buffers())["running_mean"].tolist() == [1.0, -1.0]  # not updated


def test_gradcheck_in_evaluation_mode():
    bn = nn.BatchNorm1d(3, dtype="float64")
    bn.load_state_dict({**bn.state_dict(), "running_var": [0.5, 2.0, 1.5]})
    bn.eval()
    x = cr.tensor(np.random.default_rng(3).standard_normal((4, 3)), requires_grad=True)
    assert (result := cr.gradcheck(lambda x, *p: bn(x), x, *bn.parameters())), str(result)


def test_gamma_and_beta_are_parameters_and_the_statistics_buffers():
    bn = nn.BatchNorm1d(4)
    assert [name for name, _ in bn.named_parameters()] == ["gamma", "beta"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var"]


def test_a_training_batch_of_one_raises():
    with pytest.raises(ValueError, match="at least 2 examples"):
        nn.BatchNorm1d(3)(np.ones((1, 3), np.float32))


def test_bad_shapes_and_settings_raise():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expected input of shape \(m, 3\)"):
        nn.BatchNorm1d(3)(np.ones((4, 2), np.float32))
    with pytest.raises(TypeError, match="input is float64 but gamma/beta are float32"):
        nn.BatchNorm1d(3)(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"momentum expected a finite number in \[0, 1\)"):
        nn.BatchNorm1d(3, momentum=1.0)
    with pytest.raises(TypeError, match="momentum expected a real number .* got str '0.9'"):
        nn.BatchNorm1d(3, momentum="0.9")
    with pytest.raises(ValueError, match="eps expected a finite number > 0, got 0"):
        nn.BatchNorm1d(3, eps=0)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(cr.tensor(np.ones((2, 3))), np.ones(3), np.zeros(3), training=False)


@pytest.mark.parametrize("momentum", [3.0, -0.1, float("nan")])
def test_functional_momentum_outside_0_1_raises_before_any_update(momentum):
    x, gamma, beta = _batch_norm_args()
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"^batch_norm: momentum expected a finite number in"):
        F.batch_norm(x, gamma, beta, mean, var, momentum=momentum)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)


def _batch_norm_args():
    """A float32 batch of 4 examples of 3 features, gamma and beta."""
    x = np.random.default_rng(4).standard_normal((4, 3)).astype(np.float32)
    return cr.tensor(x), np.ones(3, np.float32), np.zeros(3, np.float32)


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize(
    ("mean", "var", "error", "match"),
    [
        (
            np.zeros(4, np.float32),
            np.ones(3, np.float32),
            ValueError,
            r"running_mean of shape \(3,\), got \(4,\)",
        ),
        (
            np.zeros(3, np.float32),
            np.ones((1, 3), np.float32),
            ValueError,
            r"running_var of shape \(3,\), got \(1, 3\)",
        ),
        (
            np.zeros(3, np.float32),
            np.ones(3),
            TypeError,
            "input is float32 but running_var is float64",
        ),
        (
            cr.tensor(np.zeros(3, np.float32)),
            np.ones(3, np.float32),
            TypeError,
            "running_mean to be a numpy.ndarray .* got Tensor",
        ),
        (
            np.zeros(3, np.float32),
            [1.0, 1.0, 1.0],
            TypeError,
            "running_var to be a numpy.ndarray .* got list",
        ),
    ],
    ids=["mean-shape", "var-shape", "var-dtype", "tensor", "list"],
)
def test_bad_running_statistics_raise_before_any_update(mean, var, error, match, training):
    x, gamma, beta = _batch_norm_args()
    before = [np.array(getattr(s, "data", s), copy=True) for s in (mean, var)]
    with pytest.raises(error, match=f"batch_norm: .*{match}"):
        F.batch_norm(x, gamma, beta, mean, var, training=training)
    for stat, old in zip((mean, var), before, strict=True):
        np.testing.assert_array_equal(getattr(stat, "data", stat), old)


def test_read_only_running_statistics_raise_in_training_before_any_update():
    x, gamma, beta = _batch_norm_args()
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    var.flags.writeable = False
    with pytest.raises(ValueError, match="running_var is read-only"):
        F.batch_norm(x, gamma, beta, mean, var)
    np.testing.assert_array_equal(mean, 0.0)
    assert F.batch_norm(x, gamma, beta, mean, var, training=False).dtype == np.float32


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
def test_numpy_float64_momentum_and_eps_keep_float32(training):
    x, gamma, beta = (cr.tensor(a, requires_grad=True) for a in _batch_norm_args())
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    out = F.batch_norm(x, gamma, beta, mean, var, training, np.float64(0.9), np.float64(1e-5))
    out.backward(np.ones(out.shape, np.float32))
    assert out.dtype == np.float32
    assert all(t.grad.dtype == np.float32 for t in (x, gamma, beta))
    assert mean.dtype == var.dtype == np.float32


@pytest.mark.parametrize(("dtype", "spread"), [("float32", 1.75e19), ("float64", 1.1e154)])
def test_a_spread_whose_squares_overflow_is_still_normalized(dtype, spread):
    # a square (float32) or their sum (float64) is beyond the dtype, the variance is not
    x = np.array([[spread, 0.0], [-spread, 1.0], [0.3 * spread, 2.0]], dtype=dtype)
    with np.errstate(all="raise"):  # no overflow reaches a warning
        out = nn.BatchNorm1d(2, dtype=dtype)(x).data
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.var(axis=0), [1.0, 1.0 - 1e-5 * 1.5], rtol=1e-5)


def test_an_eps_that_rounds_to_zero_in_the_dtype_is_refused():
    # the layer took it, saved and loaded it, and every call then raised
    with pytest.raises(ValueError, match="^BatchNorm1d: eps=1e-50 rounds to 0 in float32"):
        nn.BatchNorm1d(2, eps=1e-50)
    assert nn.BatchNorm1d(2, eps=1e-50, dtype="float64").eps == 1e-50
    x, ones, zeros = np.array([[1.0, 1.0], [1.0, 2.0]], np.float32), np.ones(2), np.zeros(2)
    with pytest.raises(ValueError, match="^batch_norm: eps=1e-50 rounds to 0 in float32"):
        F.batch_norm(x, ones.astype(np.float32), zeros.astype(np.float32), eps=1e-50)


@pytest.mark.parametrize("dtype", [np.int32, np.bool_])
@pytest.mark.parametrize("statistics", [False, True])
def test_functional_batch_norm_needs_floating_input(dtype, statistics):
    # int32 input used to come out as float64 (a hidden dtype change)
    x = np.array([[1, 0], [0, 1], [1, 1]], dtype)
    mean, var = np.zeros(2, dtype), np.ones(2, dtype)
    stats = (mean, var) if statistics else ()
    expected = f"^batch_norm: expected a float32 or float64 tensor, got {np.dtype(dtype)}"
    with pytest.raises(TypeError, match=expected):
        F.batch_norm(x, np.ones(2, dtype), np.zeros(2, dtype), *stats)
    np.testing.assert_array_equal(mean, [0, 0])
    np.testing.assert_array_equal(var, [1, 1])


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        (
            "running_var",
            [1.0, -0.25, -1e-30],
            "running_var (expected variances >= 0, got 2 negative among 3 values, the "
            "lowest -0.25)",
        ),
        (
            "running_var",
            [1.0, np.nan, -1.0],
            "running_var (expected finite values, got 1 NaN among 3 values)",
        ),
        (
            "running_mean",
            [np.inf, 0.0, -np.inf],
            "running_mean (expected finite values, got 2 inf among 3 values)",
        ),
        ("gamma", [1.0, 1.0, np.nan], "gamma (expected finite values, got 1 NaN among 3 values)"),
    ],
    ids=["negative-var", "nan-var", "inf-mean", "nan-gamma"],
)
def test_load_state_dict_refuses_statistics_training_never_makes(key, value, says):
    # a negative running_var loaded, and every evaluation then returned NaN (sqrt of it)
    bn = nn.BatchNorm1d(3, dtype="float64")
    before = bn.state_dict()
    with pytest.raises(ValueError) as info:
        bn.load_state_dict({**before, key: value})
    assert str(info.value) == f"load_state_dict into BatchNorm1d: invalid keys ['{says}']"
    for name, array in bn.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_a_zero_running_variance_loads_and_evaluates():
    # a constant feature gives variance 0 in training: eps keeps the square root finite
    bn = nn.BatchNorm1d(2)
    bn(np.array([[3.0, 1.0], [3.0, 2.0]], np.float32))
    bn.load_state_dict({**bn.state_dict(), "running_var": [0.0, -0.0]})
    assert np.isfinite(bn.eval()(np.ones((2, 2), np.float32)).data).all()


def test_an_eps_beyond_the_dtypes_range_is_refused():
    # it was inf in float32: every output 0
    with pytest.raises(ValueError, match=r"^BatchNorm1d: eps=1e\+39 is beyond float32's range"):
        nn.BatchNorm1d(2, eps=1e39)
    assert nn.BatchNorm1d(2, eps=1e39, dtype="float64").eps == 1e39


@pytest.mark.parametrize("training", ["eval", "False", 1, None])
def test_functional_batch_norm_takes_only_a_bool_training_flag(training):
    # the string "eval" is truthy: the batch was normalized with its own statistics and the
    # running ones updated
    x = np.arange(6.0).reshape(3, 2)
    mean, var = np.zeros(2), np.ones(2)
    with pytest.raises(TypeError, match=r"^batch_norm: training expected True or False, got "):
        F.batch_norm(x, np.ones(2), np.zeros(2), mean, var, training=training)
    np.testing.assert_array_equal(mean, [0.0, 0.0])
    np.testing.assert_array_equal(var, [1.0, 1.0])
    out = F.batch_norm(x, np.ones(2), np.zeros(2), mean, var, training=np.False_)
    np.testing.assert_allclose(out.data, x / np.sqrt(1 + 1e-5))


@pytest.mark.parametrize(
    ("var", "says"),
    [
        ([1.0, -1.0, -1e-30], "got 2 negative, NaN or inf among 3 values, e.g. -1"),
        ([np.nan, 1.0, 1.0], "got 1 negative, NaN or inf among 3 values, e.g. nan"),
        ([1.0, 1.0, -np.inf], "got 1 negative, NaN or inf among 3 values, e.g. -inf"),
        ([1.0, np.inf, 0.0], "got 1 negative, NaN or inf among 3 values, e.g. inf"),
    ],
    ids=["negative", "nan", "minus-inf", "inf"],
)
def test_evaluation_refuses_a_running_variance_that_is_no_finite_variance(var, says):
    # NaN outputs and NumPy's bare "invalid value encountered in sqrt" warning, where
    # load_state_dict refuses such a variance; +inf set every output of its feature to
    # beta, where training never makes it and a model file refuses it
    x, gamma, beta = _batch_norm_args()
    var = np.array(var, np.float32)
    expected = rf"^batch_norm: expected running_var finite and >= 0 \(variances\), {says}$"
    with pytest.raises(ValueError, match=expected):
        F.batch_norm(x, gamma, beta, np.zeros(3, np.float32), var, training=False)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "minus-inf"])
def test_training_refuses_a_non_finite_running_variance_set_by_hand(value):
    # the update kept it non-finite: the error blames it, not the batch
    x, gamma, beta = _batch_norm_args()
    mean, var = np.zeros(3, np.float32), np.array([1.0, value, 1.0], np.float32)
    says = f"got 1 negative, NaN or inf among 3 values, e.g. {value:g}"
    expected = rf"^batch_norm: expected running_var finite and >= 0 \(variances\), {says}$"
    with pytest.raises(ValueError, match=expected):
        F.batch_norm(x, gamma, beta, mean, var)
    np.testing.assert_array_equal(var, [1.0, value, 1.0])
    np.testing.assert_array_equal(mean, [0.0, 0.0, 0.0])


def test_a_training_batch_holding_nan_or_inf_leaves_the_statistics_as_they_were():
    # its variance is NaN: the running statistics became NaN, which a model file refuses
    x = np.array([[1.0, np.inf], [2.0, 0.0], [3.0, 1.0]], np.float32)
    bn = nn.BatchNorm1d(2)
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(
            cr.autodiff.NonFiniteValueError,
            match=r"got NaN or Inf in 1 of 2 features: 1\. Normalize the inputs",
        ),
    ):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, [0.0, 0.0])
    np.testing.assert_array_equal(bn.running_var, [1.0, 1.0])
