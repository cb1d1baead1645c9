"""Initializers: their variances, their registry, and the notes' claims about them."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import init, losses, nn

SHAPE = (400, 300)  # n_in, n_out: 120,000 draws, so the sample std is within ~0.5%

# name -> expected standard deviation for SHAPE
STDS = {
    "xavier_normal": math.sqrt(2 / (400 + 300)),
    "xavier_uniform": math.sqrt(2 / (400 + 300)),
    "he_normal": math.sqrt(2 / 400),
    "he_uniform": math.sqrt(2 / 400),
    "lecun_normal": math.sqrt(1 / 400),
    "lecun_uniform": math.sqrt(1 / 400),
    "nielsen_normal": 1 / math.sqrt(400),
}


@pytest.mark.parametrize("name", sorted(STDS))
def test_scaled_initializers_have_the_documented_variance(name):
    w = init.get_initializer(name)(SHAPE, np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 0.02 * STDS[name]
    assert w.std() == pytest.approx(STDS[name], rel=0.02)


@pytest.mark.parametrize("name", ["xavier_uniform", "he_uniform", "lecun_uniform"])
def test_uniform_variants_stay_within_their_limit(name):
    w = init.get_initializer(name)(SHAPE, 0, dtype="float64")
    limit = math.sqrt(3) * STDS[name]
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit


def test_plain_distributions_and_constants():
    rng = np.random.default_rng(0)
    assert init.normal(SHAPE, rng, std=0.5).std() == pytest.approx(0.5, rel=0.02)
    assert init.normal(SHAPE, rng, std=1.0, mean=3.0).mean() == pytest.approx(3.0, abs=0.02)
    u = init.uniform(SHAPE, rng, low=-0.2, high=0.1)
    assert u.min() >= -0.2 and u.max() < 0.1
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(init.constant((2,), value=0.3, dtype="float64"), [0.3, 0.3])


def test_one_seed_gives_the_same_values_in_both_dtypes():
    a = init.he_normal((5, 4), 3, dtype="float32")
    b = init.he_normal((5, 4), 3, dtype="float64")
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_array_equal(a, b.astype(np.float32))
    np.testing.assert_array_equal(init.he_normal((5, 4), 3), a)


def test_specs_take_parameters():
    w = init.initialize({"name": "constant", "value": 2.5}, (2, 2))
    np.testing.assert_array_equal(w, np.full((2, 2), 2.5, np.float32))
    layer = nn.Linear(3, 2, init={"name": "normal", "std": 0.0})
    np.testing.assert_array_equal(layer.weight.data, np.zeros((3, 2), np.float32))
    assert layer.get_config()["init"] == {"name": "normal", "std": 0.0}


def test_bad_names_and_arguments_raise():
    with pytest.raises(
        ValueError, match=r"unknown initializer 'glorious'.*xavier_normal.*he_normal"
    ):
        init.get_initializer("glorious")
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Linear(3, 2, init="glorious")
    with pytest.raises(ValueError, match="'normal': unknown parameter 'sigma'; it takes std, mean"):
        init.initialize({"name": "normal", "sigma": 1}, (2, 2))
    with pytest.raises(ValueError, match="'he_normal': unknown parameter 'std'; it takes no"):
        nn.Linear(3, 2, init={"name": "he_normal", "std": 1.0})
    with pytest.raises(ValueError, match="2-D weight"):
        init.he_normal((3,))
    with pytest.raises(TypeError, match="Generator"):
        init.he_normal((3, 2), rng="seed")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: init.constant((2, 2), 0.5), "constant: rng expected a numpy.random.Generator"),
        (lambda: init.zeros((2, 2), "float64"), "zeros: rng expected a numpy.random.Generator"),
    ],
)
def test_the_initializers_that_draw_nothing_check_their_rng_too(call, message):
    # constant((2, 2), 0.5) returned zeros, the 0.5 taken as the rng and ignored
    with pytest.raises(TypeError, match=message):
        call()
    assert init.constant((2,), np.random.default_rng(0), value=0.5).tolist() == [0.5, 0.5]
    assert init.zeros((2,), 3, "float64").dtype == np.float64


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ({"name": "normal", "std": float("nan")}, ValueError, "normal: std expected a finite"),
        ({"name": "normal", "std": -0.1}, ValueError, r"std expected a finite number >= 0"),
        ({"name": "normal", "mean": float("inf")}, ValueError, "normal: mean expected a fin"),
        ({"name": "normal", "std": "0.1"}, TypeError, "std expected a real number >= 0, got str"),
        ({"name": "constant", "value": float("nan")}, ValueError, "constant: value expected"),
        ({"name": "uniform", "low": float("-inf")}, ValueError, "uniform: low expected a fin"),
        ({"name": "uniform", "high": None}, TypeError, "uniform: high expected a real number"),
        ({"name": "xavier_normal", "gain": float("nan")}, ValueError, "gain expected a finite"),
        ({"name": "xavier_uniform", "gain": True}, TypeError, "gain expected a real number"),
        # finite parameters whose values a float32 cannot hold (they became inf)
        ({"name": "constant", "value": 1e300}, ValueError, r"value=1e\+300 gives values beyond"),
        (
            {"name": "normal", "std": 1e300},
            ValueError,
            "std=1e.300 gives values beyond the float32",
        ),
        ({"name": "uniform", "low": -1e308, "high": 1e308}, ValueError, "beyond the float32 range"),
    ],
)
def test_bad_parameter_values_raise_before_drawing(spec, error, message):
    # NaN used to give NaN weights, a string a ValueError that hid the TypeError's reason
    rng = np.random.default_rng(0)
    with pytest.raises(error, match=message):
        init.initialize(spec, (3, 2), rng)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state


@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
@pytest.mark.parametrize("name", ["he_normal", "xavier_uniform", "lecun_normal"])
def test_fan_based_initializers_need_positive_fans(name, shape):
    # a zero fan divided by zero (a negative one is not a shape: see below)
    with pytest.raises(
        ValueError, match=r"fan-based initializer: n_(in|out) expected an integer >= 1"
    ):
        init.get_initializer(name)(shape, rng=0)


@pytest.mark.parametrize(
    ("shape", "error"),
    [((-1, 2), ValueError), ((2, -3), ValueError), (-2, ValueError), ((2.0, 3), TypeError)]
    + [((True, 2), TypeError), ("ab", TypeError), (None, TypeError), ({2: 3}, TypeError)],
)
@pytest.mark.parametrize("name", sorted({fn.__name__ for fn in init.INITIALIZERS.values()}))
def test_a_shape_that_is_not_one_is_refused_naming_the_initializer(name, shape, error):
    # NumPy said only "negative dimensions are not allowed", or "'float' object cannot be
    # interpreted as an integer", naming neither the initializer nor the shape
    rng = np.random.default_rng(0)
    expected = f"{name}: shape expected a tuple of non-negative integers, got "
    with pytest.raises(error, match=f"^{re.escape(expected)}"):
        init.get_initializer(name)(shape, rng)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state


def test_shapes_numpy_takes_are_still_taken():
    assert init.zeros(3).shape == (3,)
    assert init.zeros([2, np.int64(3)]).shape == (2, 3)
    assert init.constant((0, 4), value=1.0).shape == (0, 4)
    assert init.normal((), 0).shape == ()
    assert init.he_normal([np.int32(4), 3], 0).shape == (4, 3)
    with pytest.raises(ValueError, match=r"2-D weight of shape \(n_in, n_out\), got shape \(3,\)"):
        init.he_normal(3, 0)


def test_linear_bias_must_be_a_bool():
    with pytest.raises(TypeError, match="Linear: bias expected True or False, got 'false'"):
        nn.Linear(3, 2, bias="false")
    assert nn.Linear(3, 2, bias=np.False_).bias is None


def test_numpy_scalars_in_a_spec_become_python_numbers():
    layer = nn.Linear(3, 2, init={"name": "normal", "std": np.float64(0.5)})
    assert type(layer.get_config()["init"]["std"]) is float


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
def test_integer_dtypes_are_refused(name):
    # a cast would truncate the draws, mostly to 0
    owner = init.get_initializer(name).__name__  # glorot_normal is xavier_normal
    with pytest.raises(TypeError, match=f"^{owner}: dtype expected float32 or float64, got int64$"):
        init.get_initializer(name)((3, 2), rng=0, dtype="int64")


@pytest.mark.parametrize("spec", ["he_normal", "xavier_uniform", {"name": "normal"}, "uniform"])
def test_a_refused_dtype_leaves_the_generator_as_it_was(spec):
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="dtype expected float32 or float64, got int32"):
        init.initialize(spec, (30, 20), rng, "int32")
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state


def test_biases_start_at_zero():
    assert not np.any(nn.Linear(5, 4, init="he_normal", rng=0).bias.data)


# -- the notes' claims ---------------------------------------------------------------------
def _train_sigmoid_net(weight_init: str, steps: int = 50):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3))
    y = (x.sum(axis=1, keepdims=True) > 0).astype(np.float64)
    net = nn.MLP([3, 5, 1], activation="sigmoid", init=weight_init, seed=1, dtype="float64")
    for _ in range(steps):
        net.zero_grad()
        losses.bce_with_logits(net(x), y).backward()
        with cr.no_grad():
            for p in net.parameters():
                p.data -= 0.5 * p.grad
    return net.layers[0].weight.data, net.layers[2].weight.data


def test_zero_initialization_keeps_hidden_units_identical_after_training():
    w1, w2 = _train_sigmoid_net("zeros")
    assert np.any(w2 != 0)  # training did move the weights...
    # ...but every hidden unit (a column of W1, a row of W2) is the same as the others
    # (up to the last bit: BLAS may round the columns of one product differently).
    np.testing.assert_allclose(w1, np.repeat(w1[:, :1], 5, axis=1), rtol=1e-12)
    np.testing.assert_allclose(w2, np.repeat(w2[:1], 5, axis=0), rtol=1e-12)
    w1_random, _ = _train_sigmoid_net("xavier_normal")
    assert np.ptp(w1_random, axis=1).min() > 1e-3  # random initialization breaks the symmetry


def _relu_activation_variances(weight_init, depth: int = 20, width: int = 256) -> list[float]:
    x = np.random.default_rng(0).standard_normal((512, width))
    variances = [float(x.var())]
    for i in range(depth):
        layer = nn.Linear(width, width, init=weight_init, rng=i, dtype="float64")
        x = cr.relu(layer(x)).data
        variances.append(float(x.var()))
    return variances


def test_unit_normal_weights_explode_or_vanish_in_a_deep_relu_net():
    exploding = _relu_activation_variances({"name": "normal", "std": 1.0})
    assert exploding[-1] > 1e30 * exploding[0]
    vanishing = _relu_activation_variances({"name": "normal", "std": 0.01})
    assert vanishing[-1] < 1e-30 * vanishing[0]


def test_he_initialization_keeps_each_layers_variance_within_a_factor_of_two():
    variances = _relu_activation_variances("he_normal")
    hidden = variances[1:]  # layer 1 on: relu outputs, comparable with one another
    ratios = np.array(hidden[1:]) / np.array(hidden[:-1])
    assert np.all((ratios > 0.5) & (ratios < 2.0)), ratios
    assert 0.1 < hidden[-1] / hidden[0] < 10


@pytest.mark.parametrize("name", ["xavier_normal", "xavier_uniform"])
@pytest.mark.parametrize(("dtype", "gain"), [("float32", 1e39), ("float64", 1e308)])
def test_a_gain_that_overflows_the_dtype_is_refused_before_drawing(name, dtype, gain):
    # the weights used to come back with inf entries (and a RuntimeWarning)
    rng = np.random.default_rng(0)
    expected = re.escape(f"{name}: gain={gain:g} gives values beyond the {dtype} range")
    if (name, dtype) == ("xavier_uniform", "float64"):  # its values fit, their width 2a not
        expected = re.escape(f"{name}: gain={gain:g} gives the interval [") + (
            r".*\), whose width overflows float64, in which NumPy draws; expected a width"
        )
    with pytest.raises(ValueError, match=f"^{expected}"):
        init.initialize({"name": name, "gain": gain}, (4, 3), rng, dtype)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state
    # a large gain whose values fit is drawn
    assert np.isfinite(init.initialize({"name": name, "gain": 1e30}, (4, 3), 0, dtype)).all()


@pytest.mark.parametrize(
    "build",
    [
        lambda dtype: nn.Linear(3, 2, dtype=dtype),
        lambda dtype: nn.BatchNorm1d(3, dtype=dtype),
        lambda dtype: nn.MLP([3, 2], dtype=dtype),
    ],
    ids=["Linear", "BatchNorm1d", "MLP"],
)
def test_layers_refuse_a_dtype_that_is_not_floating_naming_themselves(build):
    owner = build("float64").__class__.__name__
    with pytest.raises(
        TypeError, match=rf"^{owner}: dtype expected float32 or float64, got int32$"
    ):
        build("int32")
    with pytest.raises(
        ValueError, match=rf"^{owner}: dtype expected float32 or float64, got 'float16'$"
    ):
        build("float16")


F32_MAX = float(np.finfo(np.float32).max)


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (-2e38, 2e38),  # refused: the width 4e38 was compared with float32's largest number
        (-F32_MAX, F32_MAX),
        (float(np.nextafter(np.float32(F32_MAX), np.float32(0))), F32_MAX),
        (-F32_MAX, -F32_MAX * (1 - 2**-40)),  # float64 draws within a float32 spacing of -max
    ],
)
def test_a_uniform_whose_values_fit_float32_is_drawn_finite_and_within_range(low, high):
    with np.errstate(all="raise"):  # no overflow in the draw or the cast to float32
        a = init.uniform((10_000,), 0, "float32", low=low, high=high)
    assert np.isfinite(a).all()
    assert np.float32(low) <= a.min() and a.max() <= np.float32(high)


@pytest.mark.parametrize("gain", [2e38, F32_MAX])
def test_an_xavier_uniform_gain_whose_limit_fits_float32_is_drawn(gain):
    # shape (3, 3): a = gain; the width 2a was compared with float32's largest number
    with np.errstate(all="raise"):
        a = init.xavier_uniform((3, 3), 0, "float32", gain=gain)
    assert np.isfinite(a).all() and np.abs(a).max() <= np.float32(gain)


def test_a_uniform_wider_than_float64_is_refused_before_drawing():
    # values within float64, a width beyond it: NumPy's OverflowError, or inf weights
    rng = np.random.default_rng(0)
    expected = re.escape(
        "uniform: low=-1e+308, high=1e+308 gives the interval [-1e+308, 1e+308), whose width "
        "overflows float64, in which NumPy draws; expected a width high - low of at most "
        "1.798e+308"
    )
    with pytest.raises(ValueError, match=f"^{expected}$"):
        init.uniform((3,), rng, "float64", low=-1e308, high=1e308)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state


@pytest.mark.parametrize(
    ("shape", "error", "says"),
    [
        (3, ValueError, r"need a 2-D weight .* got shape \(3,\)"),
        (None, TypeError, "fans: shape expected a tuple of non-negative integers, got NoneType"),
        ((3, 2.0), TypeError, r"fans: shape expected .* got tuple \(3, 2.0\)"),
    ],
)
def test_fans_refuses_what_is_no_shape_as_the_initializers_do(shape, error, says):
    # "object of type 'int' has no len()" from a bare len(shape)
    with pytest.raises(error, match=says):
        init.fans(shape)
    assert init.fans([3, 2]) == (3, 2)
