"""Table-driven gradient check of every registered primitive, in float64.

Each case is (id, function of tensors, input arrays). Inputs cover scalars, size-1 axes,
broadcasting pairs and edge values (zeros, large magnitudes, negatives), kept away from
the kinks of non-smooth ops where finite differences are meaningless.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule.autodiff import PRIMITIVES, ops

RNG = np.random.default_rng(1234)


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape)


def away_from_zero(*shape, lo=0.5, hi=2.0):
    return rand(*shape, lo=lo, hi=hi) * RNG.choice([-1.0, 1.0], size=shape)


def edge(*shape):
    """Zeros, negatives and large magnitudes mixed with ordinary values."""
    x = rand(*shape)
    flat = x.reshape(-1)
    specials = np.array([0.0, -1.5, 1e3, -1e3, 0.0])
    flat[: min(flat.size, specials.size)] = specials[: flat.size]
    return x


def grid(*shape):
    """Distinct values of alternating sign, 0.5 <= |x| <= 2, not drawn from RNG (so that
    a case that uses them leaves the values of the drawn cases as they were)."""
    size = int(np.prod(shape))
    return (np.linspace(0.5, 2.0, size) * np.resize([-1.0, 1.0], size)).reshape(shape)


MASK = RNG.random((3, 4)) > 0.5
LABELS = np.array([0, 2, 1, 2])
# tensor indices (the gather path, with the index as the op's parent), with repeats
REPEATS = cr.tensor(np.array([0, 0, 2]))
ROWS, COLUMNS = cr.tensor(np.array([0, 2, 0, 1])), cr.tensor(np.array([1, 3, 1, 0]))
RUNNING_MEAN, RUNNING_VAR = np.array([0.5, -1.0, 0.0]), np.array([0.25, 2.0, 1.0])

# x W + b far from relu's kink on both sides: positive inputs, a column of positive
# weights (Z > 1) and one of negative weights (Z < -1).
RELU_SIDES = [
    rand(5, 3, lo=0.5, hi=2.0),
    np.stack([rand(3, lo=0.5, hi=2.0), rand(3, lo=-2.0, hi=-0.5)], axis=1),
    np.array([0.3, -0.3]),
]

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((4,), (1, 4)),
    ((3, 4), (4,)),
    ((), (3,)),
    ((2, 1, 3), (4, 1)),
]


def binary_cases(fn, make_b=rand, make_a=edge):
    return [
        (f"{sa}x{sb}", lambda a, b: fn(a, b), [make_a(*sa), make_b(*sb)])
        for sa, sb in BROADCAST_PAIRS
    ]


def in_dtype_of(x, array):
    """A closed-over float array in the dtype of the input ``x`` (the float32 check)."""
    return array.astype(x.dtype)


def under_numpy_rules(fn):
    # the NumPy rule even where numba is installed (the VJP follows the forward's choice)
    def f(*args):
        with cr.numpy_rules():
            return fn(*args)

    return f


def numpy_linear(activation):
    return under_numpy_rules(lambda x, w, b: ops.linear(x, w, b, activation))


CASES = {
    "add": binary_cases(ops.add),
    "sub": binary_cases(ops.sub),
    "mul": binary_cases(ops.mul),
    "div": binary_cases(ops.div, make_b=away_from_zero),
    "pow": [
        ("tensor-exponent", ops.pow, [rand(3, 4, lo=0.5, hi=2.0), rand(3, 4)]),
        ("broadcast", ops.pow, [rand(2, 3, lo=0.5, hi=2.0), rand(3)]),
        ("constant-cube", lambda a: a**3, [edge(3, 4) / 100]),
        ("constant-half", lambda a: a**0.5, [rand(5, lo=0.1, hi=3.0)]),
        ("numpy-exponent", lambda a: a ** np.float64(3), [grid(3, 4)]),
        ("(n,)x(1,n)", ops.pow, [np.abs(grid(4)), grid(1, 4)]),
        ("0-d-exponent", ops.pow, [np.abs(grid(3, 4)), grid()]),
        ("0-d-base", ops.pow, [np.abs(grid()), grid(3)]),
        # d/da a^0 = 0, also at a = 0 (not 0 * 0^-1 = NaN)
        ("zero-exponent", lambda a: a**0, [np.array([0.0, 1.5, -2.0])]),
    ],
    "matmul": [
        ("2d@2d", ops.matmul, [rand(3, 4), rand(4, 5)]),
        ("1d@2d", ops.matmul, [rand(4), rand(4, 5)]),
        ("2d@1d", ops.matmul, [rand(3, 4), rand(4)]),
        ("1d@1d", ops.matmul, [rand(4), rand(4)]),
        ("3d@2d", ops.matmul, [rand(2, 3, 4), rand(4, 5)]),
        ("3d@3d", ops.matmul, [rand(2, 3, 4), rand(2, 4, 5)]),
        ("size1", ops.matmul, [rand(1, 1), rand(1, 3)]),
        # the left operand broadcast over the batch: its gradient sums over the batch
        ("2d@3d", ops.matmul, [grid(3, 4), grid(2, 4, 5)]),
        ("1d@3d", ops.matmul, [grid(4), grid(2, 4, 5)]),
        ("size1-batch", ops.matmul, [grid(2, 1, 3, 4), grid(5, 4, 2)]),
    ],
    "neg": [("edge", ops.neg, [edge(3, 4)]), ("scalar", ops.neg, [rand()])],
    "exp": [
        ("moderate", ops.exp, [rand(3, 4)]),
        ("large", ops.exp, [np.array([0.0, -20.0, 20.0, -700.0])]),
        ("scalar", ops.exp, [rand()]),
    ],
    "log": [
        ("positive", ops.log, [rand(3, 4, lo=0.1, hi=5.0)]),
        ("wide", ops.log, [np.array([1e-2, 1.0, 1e3, 1e6])]),
    ],
    "sqrt": [
        ("positive", ops.sqrt, [rand(3, 4, lo=0.1, hi=5.0)]),
        ("large", ops.sqrt, [np.array([1e6, 4.0])]),
    ],
    "abs": [
        ("away-from-kink", ops.abs, [away_from_zero(3, 4)]),
        ("large", ops.abs, [np.array([-1e3, 1e3])]),
    ],
    "maximum": [
        *binary_cases(ops.maximum, make_a=rand),
        ("numpy-scalar", lambda a: ops.maximum(a, np.float64(0.0)), [grid(3, 4)]),
    ],
    "minimum": binary_cases(ops.minimum, make_a=rand),
    "clip": [
        ("both", lambda a: ops.clip(a, -0.5, 0.5), [np.array([-2.0, -0.3, 0.0, 0.2, 1.7, 1e3])]),
        ("lower", lambda a: ops.clip(a, 0.25, None), [np.array([[-1.0, 0.5], [2.0, 0.1]])]),
        (
            "numpy-bounds",
            lambda a: ops.clip(a, np.float64(-0.5), np.float32(0.5)),
            [np.array([-2.0, -0.3, 0.2, 1.7])],
        ),
    ],
    "where": [
        ("same", lambda a, b: ops.where(MASK, a, b), [rand(3, 4), rand(3, 4)]),
        (
            "broadcast",
            lambda a, b: ops.where(np.array([True, False, True]), a, b),
            [rand(2, 3), rand(3)],
        ),
        ("numpy-scalar", lambda a: ops.where(MASK, a, np.float64(0.5)), [grid(3, 4)]),
    ],
    "astype": [("same-dtype", lambda a: ops.astype(a, a.dtype) * a, [rand(3)])],
    "sum": [
        ("all", lambda a: ops.sum(a), [edge(3, 4)]),
        ("axis0", lambda a: ops.sum(a, 0), [rand(3, 4)]),
        ("axes-keepdims", lambda a: ops.sum(a, (0, 2), True), [rand(2, 3, 4)]),
        ("neg-axis", lambda a: ops.sum(a, -1), [rand(2, 1, 4)]),
        ("scalar", lambda a: ops.sum(a), [rand()]),
        ("numpy-axis", lambda a: ops.sum(a, np.int64(0)), [grid(3, 4)]),
    ],
    "mean": [
        ("all", lambda a: ops.mean(a), [edge(3, 4)]),
        ("axis1-keepdims", lambda a: ops.mean(a, 1, True), [rand(3, 4)]),
        ("axes", lambda a: ops.mean(a, (0, 2)), [rand(2, 3, 4)]),
        ("numpy-axes", lambda a: ops.mean(a, (np.int64(0), np.int32(-1))), [grid(2, 3, 4)]),
    ],
    "max": [
        ("all", lambda a: ops.max(a), [rand(3, 4)]),
        ("axis0", lambda a: ops.max(a, 0), [rand(3, 4)]),
        ("axis-keepdims", lambda a: ops.max(a, -1, True), [rand(2, 3, 4)]),
        ("numpy-axis", lambda a: ops.max(a, np.int64(1)), [grid(3, 4)]),
    ],
    "reshape": [
        ("flatten", lambda a: ops.reshape(a, (-1,)), [rand(2, 3, 4)]),
        ("to-size1", lambda a: ops.reshape(a, (3, 1, 4)), [rand(3, 4)]),
    ],
    "transpose": [
        ("reverse", lambda a: ops.transpose(a), [rand(3, 4)]),
        ("permute", lambda a: ops.transpose(a, (1, 2, 0)), [rand(2, 3, 4)]),
        ("negative-axes", lambda a: ops.transpose(a, (0, -1, 1)), [rand(2, 3, 4)]),
        ("numpy-axes", lambda a: ops.transpose(a, np.array([2, 0, 1])), [grid(2, 3, 4)]),
    ],
    "broadcast_to": [
        ("prepend", lambda a: ops.broadcast_to(a, (2, 3)), [rand(3)]),
        ("stretch", lambda a: ops.broadcast_to(a, (4, 3)), [rand(1, 3)]),
        ("scalar", lambda a: ops.broadcast_to(a, (2, 2)), [rand()]),
    ],
    "getitem": [
        ("slice", lambda a: a[1:, ::2], [rand(3, 4)]),
        ("int", lambda a: a[1], [rand(3, 4)]),
        ("gather-repeats", lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])], [rand(3, 4)]),
        ("rows-repeated", lambda a: a[np.array([2, 2, 0])], [rand(3, 4)]),
        ("mask", lambda a: a[np.array([True, False, True])], [rand(3, 4)]),
        ("tensor-repeats", lambda a: a[REPEATS], [grid(3, 4)]),
        ("tensor-pairs-repeated", lambda a: a[ROWS, COLUMNS], [grid(3, 4)]),
        ("tensor-columns-repeated", lambda a: a[:, REPEATS], [grid(2, 3)]),
    ],
    "concatenate": [
        ("axis0", lambda a, b: ops.concatenate([a, b], 0), [rand(2, 3), rand(4, 3)]),
        ("axis1", lambda a, b: ops.concatenate([a, b, a], 1), [rand(2, 3), rand(2, 1)]),
        (
            "numpy-axis",
            lambda a, b: ops.concatenate([a, b], np.int64(-1)),
            [grid(2, 3), grid(2, 1)],
        ),
    ],
    "stack": [
        ("axis0", lambda a, b: ops.stack([a, b]), [rand(2, 3), rand(2, 3)]),
        ("axis-last", lambda a, b: ops.stack([a, b, a], -1), [rand(3), rand(3)]),
        ("numpy-axis", lambda a, b: ops.stack([a, b], np.int64(1)), [grid(2, 3), grid(2, 3)]),
    ],
    "tanh": [
        ("edge", ops.tanh, [np.array([0.0, -1.5, 3.0, -6.0, 0.7])]),
        ("matrix", ops.tanh, [rand(3, 4)]),
        ("0-d", ops.tanh, [np.array(0.7)]),  # a ufunc on 0-d gives a scalar, not an array
        ("of-a-sum", lambda a: ops.tanh(a.sum()), [grid(3)]),
    ],
    "sigmoid": [
        ("edge", ops.sigmoid, [np.array([0.0, -1.5, 3.0, -8.0, 8.0])]),
        ("matrix", ops.sigmoid, [rand(3, 4)]),
        ("0-d", ops.sigmoid, [np.array(-0.4)]),
        ("of-an-entry", lambda a: ops.sigmoid(a[1]), [grid(3)]),
    ],
    "relu": [("away-from-kink", ops.relu, [away_from_zero(3, 4)])],
    "leaky_relu": [
        ("default", ops.leaky_relu, [away_from_zero(3, 4)]),
        ("alpha", lambda a: ops.leaky_relu(a, 0.2), [away_from_zero(5)]),
        ("numpy-alpha", lambda a: ops.leaky_relu(a, np.float64(0.2)), [grid(5)]),
    ],
    "log_softmax": [
        ("last", ops.log_softmax, [rand(3, 4)]),
        ("axis0", lambda a: ops.log_softmax(a, 0), [rand(3, 4)]),
        ("large-offset", ops.log_softmax, [rand(2, 5) + 1e3]),
        ("single-class", ops.log_softmax, [rand(3, 1)]),
        ("numpy-axis", lambda a: ops.log_softmax(a, np.int64(0)), [grid(3, 4)]),
    ],
    "softmax": [
        ("last", ops.softmax, [rand(3, 4)]),
        ("axis0", lambda a: ops.softmax(a, 0), [rand(3, 4)]),
        ("large-offset", ops.softmax, [rand(2, 5) - 1e3]),
        ("numpy-axis", lambda a: ops.softmax(a, np.int64(-2)), [grid(3, 4)]),
    ],
    "linear": [
        ("bias", ops.linear, [rand(5, 3), rand(3, 2), rand(2)]),
        ("no-bias", ops.linear, [rand(5, 3), rand(3, 2)]),
        ("vector-input", ops.linear, [rand(3), rand(3, 2), rand(2)]),
        ("batch-of-one", ops.linear, [rand(1, 3), rand(3, 1), rand(1)]),
        ("relu-both-sides", lambda x, w, b: ops.linear(x, w, b, "relu"), RELU_SIDES),
        ("relu-no-bias", lambda x, w: ops.linear(x, w, None, "relu"), RELU_SIDES[:2]),
        ("relu-numpy-rules", numpy_linear("relu"), RELU_SIDES),
        (
            "sigmoid",
            lambda x, w, b: ops.linear(x, w, b, "sigmoid"),
            [rand(5, 3), rand(3, 2), rand(2)],
        ),
        (
            "sigmoid-tails",
            lambda x, w: ops.linear(x, w, None, "sigmoid"),
            [rand(4, 3) * 5, rand(3, 2)],
        ),
        ("sigmoid-numpy-rules", numpy_linear("sigmoid"), [rand(5, 3), rand(3, 2), rand(2)]),
        ("tanh", lambda x, w, b: ops.linear(x, w, b, "tanh"), [rand(5, 3), rand(3, 2), rand(2)]),
        ("tanh-numpy-rules", numpy_linear("tanh"), [rand(5, 3), rand(3, 2), rand(2)]),
        (
            "tanh-vector",
            lambda x, w, b: ops.linear(x, w, b, "tanh"),
            [rand(3), rand(3, 2), rand(2)],
        ),
        # the rows of a batch of any rank: dW and db sum over both leading axes
        ("3d-input", ops.linear, [rand(2, 3, 4), rand(4, 5), rand(5)]),
        (
            "tanh-3d-input",
            lambda x, w, b: ops.linear(x, w, b, "tanh"),
            [rand(2, 3, 4), rand(4, 5), rand(5)],
        ),
    ],
    "softmax_cross_entropy": [
        ("labels", lambda z: F.softmax_cross_entropy(z, LABELS), [rand(4, 3)]),
        (
            "labels-numpy-rules",
            under_numpy_rules(lambda z: F.softmax_cross_entropy(z, LABELS)),
            [rand(4, 3)],
        ),
        ("labels-none", lambda z: F.softmax_cross_entropy(z, LABELS, "none"), [rand(4, 3)]),
        (
            "labels-smoothing-sum",
            lambda z: F.softmax_cross_entropy(z, LABELS, "sum", label_smoothing=0.1),
            [rand(4, 3)],
        ),
        ("large-offset", lambda z: F.softmax_cross_entropy(z, LABELS), [rand(4, 3) + 1e3]),
        ("rows", F.softmax_cross_entropy, [rand(4, 3), rand(4, 3, lo=0.1, hi=1.0)]),
        (
            "rows-smoothing-none",
            lambda z, q: F.softmax_cross_entropy(z, q, "none", label_smoothing=0.2),
            [rand(4, 3), rand(4, 3, lo=0.1, hi=1.0)],
        ),
    ],
    "negative_log_likelihood": [
        ("labels", lambda lp: F.negative_log_likelihood(lp, LABELS), [rand(4, 3)]),
        ("labels-none", lambda lp: F.negative_log_likelihood(lp, LABELS, "none"), [rand(4, 3)]),
        (
            "rows-sum",
            lambda lp, q: F.negative_log_likelihood(lp, q, "sum"),
            [rand(4, 3), rand(4, 3, lo=0.1, hi=1.0)],
        ),
    ],
    "bce_with_logits": [
        ("mean", F.bce_with_logits, [edge(4, 3), rand(4, 3, lo=0.1, hi=0.9)]),
        (
            "vector-none",
            lambda z, y: F.bce_with_logits(z, y, "none"),
            [rand(5), rand(5, lo=0.1, hi=0.9)],
        ),
        (
            "3d-sum",
            lambda z, y: F.bce_with_logits(z, y, "sum"),
            [rand(2, 3, 2), rand(2, 3, 2, lo=0.1, hi=0.9)],
        ),
    ],
    "binary_cross_entropy": [
        ("mean", F.binary_cross_entropy, [rand(4, 3, lo=0.1, hi=0.9), rand(4, 3, lo=0.1, hi=0.9)]),
        (
            "vector-none",
            lambda a, y: F.binary_cross_entropy(a, y, "none"),
            [rand(5, lo=0.1, hi=0.9), rand(5, lo=0.1, hi=0.9)],
        ),
    ],
    "batch_norm": [
        ("training", F.batch_norm, [rand(5, 3), rand(3), rand(3)]),
        (
            "evaluation",
            lambda x, g, b: F.batch_norm(
                x, g, b, in_dtype_of(x, RUNNING_MEAN), in_dtype_of(x, RUNNING_VAR), False
            ),
            [rand(5, 3), rand(3), rand(3)],
        ),
    ],
    # a generator seeded the same at every call: the same mask in every evaluation
    "dropout": [("keep-half", lambda x: F.dropout(x, 0.5, np.random.default_rng(0)), [rand(4, 5)])],
}

PARAMS = [
    pytest.param(name, fn, arrays, id=f"{name}-{label}")
    for name, cases in CASES.items()
    for label, fn, arrays in cases
]


def test_every_registered_primitive_has_cases():
    assert set(CASES) == set(PRIMITIVES)


def test_every_registered_primitive_states_its_math():
    # add, sub, mul, div, exp, log and sqrt had no docstring
    assert [name for name, fn in PRIMITIVES.items() if not fn.__doc__] == []


@pytest.mark.parametrize(("name", "fn", "arrays"), PARAMS)
def test_primitive_gradient(name, fn, arrays):
    inputs = [cr.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    result = cr.gradcheck(fn, *inputs, seed=7)
    assert result.passed, f"{name}:\n{result}"
    for rep in result.inputs:
        assert rep.rel_error < 1e-7


MODERATE = [p for p in PARAMS if all(np.max(np.abs(a), initial=0) <= 10 for a in p.values[2])]


@pytest.mark.parametrize(("name", "fn", "arrays"), MODERATE)
def test_primitive_gradient_direction_mode(name, fn, arrays):
    # Direction mode sums the whole objective, so its roundoff grows with |f|: it is
    # checked on moderate inputs (large ones are covered by the full mode above).
    inputs = [cr.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert cr.gradcheck(fn, *inputs, mode="direction", seed=3), name


@pytest.mark.parametrize(("name", "fn", "arrays"), PARAMS)
def test_primitive_keeps_float32(name, fn, arrays):
    inputs = [cr.tensor(np.array(a, dtype=np.float32), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in inputs:
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


def test_pow_gradients_at_a_zero_base_or_exponent_are_the_constant_pieces_zeros():
    """0^b (b >= 0) and a^0 are constant: their slopes are 0, not 0 * log 0 or 0 * inf."""
    a = cr.tensor(np.array([0.0, 2.0, np.inf, 0.0]), requires_grad=True)
    b = cr.tensor(np.array([2.0, 2.0, 0.0, 0.0]), requires_grad=True)
    with np.errstate(all="raise"):  # no 0 * inf or log 0 computed, even where masked
        ops.pow(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 4.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 4.0 * np.log(2.0), np.inf, 0.0])


@pytest.mark.parametrize(("source", "target"), [("float32", "float64"), ("float64", "float32")])
def test_astype_across_dtypes_casts_the_gradient_back(source, target):
    a = cr.tensor(np.array([1.0, -2.0, 0.5], source), requires_grad=True)
    weights = np.array([2.0, 3.0, -4.0], target)
    (ops.astype(a, target) * weights).sum().backward()
    assert a.grad.dtype == np.dtype(source)
    np.testing.assert_array_equal(a.grad, [2.0, 3.0, -4.0])


def test_tied_maxima_share_the_gradient_equally():
    x = cr.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), requires_grad=True)
    ops.max(x, 1).backward(np.array([1.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [2.0, 2.0, 0.0]])
    y = cr.tensor(np.array([[5.0, -1.0], [0.0, 5.0]]), requires_grad=True)
    ops.max(y).backward()
    np.testing.assert_array_equal(y.grad, [[0.5, 0.0], [0.0, 0.5]])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 1)])
def test_a_nan_is_the_maximum_of_its_slice_and_takes_its_gradient(axis, keepdims):
    # the rule compared x == max, false for NaN everywhere in a NaN slice, and divided by
    # that count of 0: NaN gradients for the whole slice and an "invalid value" warning
    nan = np.nan
    x = cr.tensor(np.array([[1.0, nan, 3.0], [1.0, 2.0, 3.0], [nan, 5.0, nan]]), True)
    with np.errstate(all="raise"):
        out = ops.max(x, axis, keepdims)
        np.testing.assert_array_equal(out.data, np.max(x.data, axis, keepdims=keepdims))
        out.backward(np.full(out.shape, 4.0))
    if axis == 1:  # one NaN takes it all, a row without NaN as before, two NaNs share it
        expected = [[0.0, 4.0, 0.0], [0.0, 0.0, 4.0], [2.0, 0.0, 2.0]]
    else:  # the whole tensor: its three NaNs share it
        expected = np.where(np.isnan(x.data), 4.0 / 3, 0.0)
    np.testing.assert_array_equal(x.grad, expected)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_a_nan_output_of_maximum_or_minimum_sends_its_gradient_to_the_nan_operand(op):
    # maximum(nan, 1) sent it to the 1 and maximum(1, nan) to the NaN: the order decided
    nan = np.nan
    fn = getattr(ops, op)
    for first_is_nan in (True, False):
        a = cr.tensor(np.array([nan, 2.0, nan, 2.0]), requires_grad=True)
        b = cr.tensor(np.array([1.0, nan, nan, 2.0]), requires_grad=True)
        x, y = (a, b) if first_is_nan else (b, a)
        fn(x, y).backward(np.array([1.0, 2.0, 3.0, 4.0]))
        # NaN in a, NaN in b, both NaN (a tie: the first operand), a tie without NaN
        first, second = (a.grad, b.grad) if first_is_nan else (b.grad, a.grad)
        np.testing.assert_array_equal(a.grad[:2], [1.0, 0.0])
        np.testing.assert_array_equal(b.grad[:2], [0.0, 2.0])
        np.testing.assert_array_equal(first[2:], [3.0, 4.0])
        np.testing.assert_array_equal(second[2:], [0.0, 0.0])


def test_a_nan_in_a_broadcast_operand_of_maximum_takes_every_gradient_it_produced():
    a = cr.tensor(np.array([np.nan, 0.0]), requires_grad=True)
    b = cr.tensor(np.array([[1.0], [-1.0]]), requires_grad=True)
    ops.maximum(a, b).backward(np.ones((2, 2)))
    np.testing.assert_array_equal(a.grad, [2.0, 1.0])
    np.testing.assert_array_equal(b.grad, [[1.0], [0.0]])
