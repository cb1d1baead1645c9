"""The compiled rules (numba, the ``fast`` extra) give the NumPy rules' values."""

import contextlib
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.backend import engine_kernels
from chainrule.autodiff.mode import MODE
from chainrule.autodiff.ops_nn import FUSED_ACTIVATIONS

pytest.importorskip("numba")


def _rules(numpy_only: bool):
    return cr.numpy_rules() if numpy_only else contextlib.nullcontext()


def _run(x, w, b, g, numpy_only: bool, activation: str = "relu"):
    ts = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    with _rules(numpy_only):
        out = cr.linear(*ts, activation)
    out.backward(g)
    return [out.data] + [t.grad for t in ts]


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed-upstream"])
def test_compiled_linear_activation_equals_the_numpy_rule(activation, dtype, layout):
    rng = np.random.default_rng(11)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((33, 7), (7, 19), (19,)))
    x[0, :] = 0.0  # a row whose pre-activation is exactly b: kinks and zeros
    b[:3] = 0.0
    x[1, :] *= 30  # saturated sigmoid and tanh units
    g = rng.standard_normal((19, 33)).astype(dtype).T if layout != "contiguous" else None
    g = rng.standard_normal((33, 19)).astype(dtype) if g is None else g
    compiled = _run(x, w, b, g, numpy_only=False, activation=activation)
    reference = _run(x, w, b, g, numpy_only=True, activation=activation)
    for got, want in zip(compiled, reference, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_the_compiled_pass_has_a_code_for_every_fused_activation():
    # linear's compiled VJP looks its activation up in ACTIVATION_CODES
    assert set(engine_kernels().ACTIVATION_CODES) == set(FUSED_ACTIVATIONS)


def test_compiled_relu_propagates_nan_like_numpy():
    x = np.array([[np.nan, 1.0], [1.0, -2.0]], np.float32)
    w = np.eye(2, dtype=np.float32)
    b = np.zeros(2, np.float32)
    g = np.ones((2, 2), np.float32)
    g[1, 1] = np.inf
    compiled = _run(x, w, b, g, numpy_only=False)
    with np.errstate(invalid="ignore"):  # inf * 0 in the NumPy rule's mask product
        reference = _run(x, w, b, g, numpy_only=True)
    assert np.isnan(compiled[0][0, 0])
    for got, want in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(got, want)  # NaN == NaN here


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_sigmoid_layer_is_bit_identical_at_extreme_inputs(dtype):
    # exp(-z) overflows (z = -1e4, -inf) and underflows (z = 1e4, inf); NaN stays NaN; no
    # warning either way
    x = np.array([[-1e4, 1e4, np.nan, -np.inf, np.inf, 0.0, -88.5, 88.5, -745.5]], dtype).T
    w = np.ones((1, 2), dtype)
    b = np.array([0.0, -1e-3], dtype)
    outputs = []
    for numpy_only in (False, True):
        with warnings.catch_warnings(), _rules(numpy_only):
            warnings.simplefilter("error")
            outputs.append(cr.linear(x, w, b, "sigmoid").data)
    compiled, reference = outputs
    assert compiled.tobytes() == reference.tobytes()
    assert compiled[0, 0] == 0 and compiled[1, 0] == 1 and np.isnan(compiled[2, 0])


def test_numpy_rules_is_a_nesting_switch():
    assert MODE.compiled
    with cr.numpy_rules():
        assert not MODE.compiled
        with cr.numpy_rules():
            assert not MODE.compiled
        assert not MODE.compiled
    assert MODE.compiled


def _cross_entropy(z, labels, reduction, g, numpy_only: bool):
    t = cr.tensor(z, requires_grad=True)
    with _rules(numpy_only), np.errstate(invalid="ignore"):  # inf - inf in the NumPy shift
        loss = cr.losses.cross_entropy(t, labels, reduction=reduction)
    loss.backward(g)
    return loss.data, t.grad


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8"])
def test_compiled_cross_entropy_equals_the_numpy_rule(reduction, dtype, label_dtype):
    rng = np.random.default_rng(12)
    m, k = 37, 10
    z = (rng.standard_normal((m, k)) * rng.choice([0.1, 1.0, 30.0, 300.0], (m, 1))).astype(dtype)
    z[0] = 0.0  # a row of ties
    z[1, :3] = z[1].max()  # tied maxima
    labels = rng.integers(0, k, m).astype(label_dtype)
    g = rng.standard_normal(m).astype(dtype) if reduction == "none" else None
    compiled = _cross_entropy(z, labels, reduction, g, numpy_only=False)
    reference = _cross_entropy(z, labels, reduction, g, numpy_only=True)
    for got, want in zip(compiled, reference, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (3, 200)])
def test_compiled_cross_entropy_equals_the_numpy_rule_at_odd_shapes(shape):
    rng = np.random.default_rng(13)
    z = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, shape[1], shape[0])
    compiled = _cross_entropy(z, labels, "mean", None, numpy_only=False)
    reference = _cross_entropy(z, labels, "mean", None, numpy_only=True)
    for got, want in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "layout", ["row-broadcast", "column-broadcast", "fortran", "reversed", "strided"]
)
def test_compiled_cross_entropy_equals_the_numpy_rule_at_every_layout(dtype, layout):
    # logits broadcast along the batch (stride 0) summed each row in another order:
    # a loss of 6659.05 against the NumPy rule's 6659.0503 (float32)
    rng = np.random.default_rng(3)
    m, k = 400, 60
    base = (rng.standard_normal((2 * m, 2 * k)) * 5).astype(dtype)
    z = {
        "row-broadcast": np.broadcast_to(base[:1, :k], (m, k)),
        "column-broadcast": np.broadcast_to(base[:m, :1], (m, k)),
        "fortran": np.asfortranarray(base[:m, :k]),
        "reversed": base[:m, :k][::-1, ::-1],
        "strided": base[::2, ::2],
    }[layout]
    labels = rng.integers(0, k, m)
    compiled = _cross_entropy(z, labels, "sum", None, numpy_only=False)
    reference = _cross_entropy(z, labels, "sum", None, numpy_only=True)
    for got, want in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(got, want)


def test_compiled_cross_entropy_propagates_nan_and_inf_like_numpy():
    z = np.array([[np.nan, 0.0, 1.0], [2.0, np.inf, 0.0], [1.0, 2.0, -np.inf]], np.float32)
    labels = np.array([1, 0, 2])
    compiled = _cross_entropy(z, labels, "none", np.ones(3, np.float32), numpy_only=False)
    reference = _cross_entropy(z, labels, "none", np.ones(3, np.float32), numpy_only=True)
    assert np.isnan(compiled[0][:2]).all() and compiled[0][2] == np.inf
    for got, want in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(got, want)  # NaN == NaN here


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("m", [9, 100, 1000])
def test_a_one_unit_linear_layer_gives_the_numpy_rules_bias_gradient(activation, m):
    # NumPy sums an (m, 1) gradient's column pairwise, the compiled pass row after row
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((m, 3), (3, 1), (1,)))
    g = rng.standard_normal((m, 1)).astype(np.float32)
    compiled = _run(x, w, b, g, numpy_only=False, activation=activation)
    reference = _run(x, w, b, g, numpy_only=True, activation=activation)
    for got, want in zip(compiled, reference, strict=True):
        assert got.tobytes() == want.tobytes()


def test_compiled_cross_entropy_gives_a_certain_rows_loss_the_numpy_rules_zero():
    logits = np.array([[20.0, 0.0, -5.0]], np.float32)
    losses = []
    for numpy_only in (False, True):
        with _rules(numpy_only):
            losses.append(cr.losses.cross_entropy(cr.tensor(logits), [0], reduction="none"))
    assert losses[0].data.tobytes() == losses[1].data.tobytes()  # -0.0 both, not +0.0


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_integer_linear_relu_wraps_like_the_numpy_rule(dtype):
    # z + b overflows the dtype: the NumPy rule wraps, then takes the maximum with 0; the
    # compiled pass (floating data only) would add in int64 and store a negative value
    info = np.iinfo(dtype)
    x = np.ones((2, 2), dtype)
    w = np.array([[info.max // 2 + 1, info.min // 2], [0, 0]], dtype)
    b = np.array([info.max // 2 + 1, info.min // 2 - 1], dtype)
    outputs = []
    for numpy_only in (False, True):
        with _rules(numpy_only):
            outputs.append(cr.linear(x, w, b, "relu").data)
    compiled, reference = outputs
    assert compiled.dtype == reference.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(compiled, reference)
    assert (compiled >= 0).all(), compiled
