"""Results that are subnormal numbers (not 0, not overflow) are no FP error.

The library's rules let exp, a reciprocal or a product underflow into the subnormal
range where the math is finite: under a caller's ``np.errstate(all="raise")`` (the
README's way to hunt NaNs) such a value raised ``FloatingPointError``, and under
``under="warn"`` gave a bare ``RuntimeWarning``.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses as L

F32, F64 = np.float32, np.float64
#: one logit far below the others: its softmax, a subnormal, in each dtype
SPREAD = {"float32": [[3.2, 0.1, -92.0]], "float64": [[3.2, 0.1, -740.0]]}


def _xent(target, **kw):
    return lambda z: L.cross_entropy(z, target, **kw)


def _linear_tanh(x):  # no bias: the NumPy rule's VJP, also with numba
    return cr.linear(x, np.eye(1, dtype=x.dtype), None, "tanh")


def _linear_sigmoid(x):
    return cr.linear(x, np.eye(2, dtype=x.dtype), np.zeros(2, x.dtype), "sigmoid")


CASES = {
    "sigmoid": (cr.sigmoid, {"float32": [-88.0], "float64": [-709.0]}),
    "linear+sigmoid": (_linear_sigmoid, {"float32": [[-88.0, 1.0]], "float64": [[-709.0, 1.0]]}),
    "softmax": (cr.softmax, SPREAD),
    "log_softmax": (cr.log_softmax, SPREAD),
    "cross_entropy-labels": (_xent(np.array([0])), SPREAD),
    "cross_entropy-labels-smoothed": (_xent(np.array([0]), label_smoothing=0.1), SPREAD),
    "cross_entropy-rows": (
        lambda z: L.cross_entropy(z, np.array([[1.0, 0.0, 0.0]], z.dtype)),
        SPREAD,
    ),
    "exp": (cr.exp, {"float32": [-95.0], "float64": [-740.0]}),
    "tanh": (cr.tanh, {"float32": [1e-20], "float64": [1e-160]}),
    "linear+tanh": (_linear_tanh, {"float32": [[1e-20]], "float64": [[1e-160]]}),
    "bce": (
        lambda a: L.bce(a, np.full(a.shape, 0.3, a.dtype)),
        {"float32": [[4e-39]], "float64": [[4e-309]]},
    ),
    "bce_with_logits": (
        lambda z: L.bce_with_logits(z, np.zeros(z.shape, z.dtype)),
        {"float32": [[-86.5]] * 4, "float64": [[-707.5]] * 4},
    ),
}


@pytest.mark.parametrize("numpy_only", [False, True], ids=["default", "numpy_rules"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_subnormal_result_raises_nothing_under_errstate_raise(case, dtype, numpy_only):
    fn, inputs = CASES[case]
    x = cr.tensor(np.array(inputs[dtype], dtype), requires_grad=True)
    rules = cr.numpy_rules() if numpy_only else cr.enable_grad()
    with np.errstate(all="raise"), rules:
        out = fn(x)
        out.backward(np.full(out.shape, 0.3, out.dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize(("dtype", "z"), [("float32", -88.0), ("float64", -709.0)])
def test_sigmoid_keeps_its_subnormal_value(dtype, z):
    # the value the docstring promises: 1 / (1 + exp(-z)) rounded, not 0
    with np.errstate(all="raise"):
        out = cr.sigmoid(cr.tensor(np.array([z], dtype))).data
    exact = 1 / (1 + np.exp(-np.longdouble(z)))
    assert 0 < out[0] < np.finfo(dtype).tiny
    np.testing.assert_allclose(out, exact.astype(dtype), rtol=1e-3)
