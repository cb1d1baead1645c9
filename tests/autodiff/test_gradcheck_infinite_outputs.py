"""gradcheck beside outputs that are a constant infinity (a masked logit): equal outputs
of the two nudged evaluations add 0 to the difference, not inf - inf = NaN."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import node

INF = np.array([[np.inf, -np.inf]])


def square_beside_infinities(k):
    """``[x**2, inf, -inf]`` along axis 1, whose rule for ``x**2`` returns ``k`` times the
    right gradient."""

    def f(x):
        sq = node(x.data**2, (x,), lambda g: (g * 2 * x.data * k,), "square")
        return cr.concatenate([sq, cr.tensor(INF)], axis=1)

    return f


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_a_right_gradient_beside_constant_infinities_passes(mode):
    # it FAILED with a relative error of NaN, and a RuntimeWarning from inf - inf
    x = np.array([[0.3, -1.2, 0.8]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cr.gradcheck(square_beside_infinities(1.0), x, mode=mode)
    assert result.verdict == "PASSED", result


@pytest.mark.parametrize("mode", ["full", "direction"])
@pytest.mark.parametrize("k", [1.5, 0.0, -1.0])
def test_a_wrong_gradient_beside_constant_infinities_still_fails(mode, k):
    x = np.array([[0.3, -1.2, 0.8]])
    result = cr.gradcheck(square_beside_infinities(k), x, mode=mode)
    assert result.verdict == "FAILED", result
    assert np.isfinite(result.inputs[0].rel_error)


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_a_masked_log_softmax_is_inconclusive_not_failed(mode):
    # it FAILED with a relative error of NaN. The masked output is -inf whatever the
    # inputs, so no nudge moves it; backprop's values carry its share (u there times
    # d(x_1 - lse)/dx), which no estimate can see: every nudge is unresolved
    mask = cr.tensor(np.array([[0.0, -np.inf, 0.0]]))
    x = np.array([[0.3, -1.2, 0.8]])
    result = cr.gradcheck(lambda x: cr.log_softmax(x + mask, axis=1), x, mode=mode)
    assert result.verdict == "INCONCLUSIVE", result
    assert result.inputs[0].unresolved == 3
