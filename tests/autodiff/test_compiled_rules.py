"""The compiled rules (numba, the ``fast`` extra) give the NumPy rules' values."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.mode import MODE

pytest.importorskip("numba")


def _run(x, w, b, g, numpy_only: bool):
    ts = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    if numpy_only:
        with cr.numpy_rules():
            out = cr.linear(*ts, "relu")
    else:
        out = cr.linear(*ts, "relu")
    out.backward(g)
    return [out.data] + [t.grad for t in ts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed-upstream"])
def test_compiled_relu_linear_equals_the_numpy_rule(dtype, layout):
    rng = np.random.default_rng(11)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((33, 7), (7, 19), (19,)))
    x[0, :] = 0.0  # a row whose pre-activation is exactly b: kinks and zeros
    b[:3] = 0.0
    g = rng.standard_normal((19, 33)).astype(dtype).T if layout != "contiguous" else None
    g = rng.standard_normal((33, 19)).astype(dtype) if g is None else g
    compiled = _run(x, w, b, g, numpy_only=False)
    reference = _run(x, w, b, g, numpy_only=True)
    for got, want in zip(compiled, reference, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


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


def test_numpy_rules_is_a_nesting_switch():
    assert MODE.compiled
    with cr.numpy_rules():
        assert not MODE.compiled
        with cr.numpy_rules():
            assert not MODE.compiled
        assert not MODE.compiled
    assert MODE.compiled
