"""Label smoothing with integer labels where the log-probabilities' sum overflows.

The smoothing term ``s * mean_j(-log p_j)`` took the mean as NumPy does, summing first:
float32 logits [1e38, -1e38, -1e38, -1e38] have finite log-probabilities whose sum is
beyond float32, so the loss was inf (with a bare overflow warning), where the same
smoothed target given as a probability row gives the finite 1.5e37.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses as L


@pytest.mark.parametrize("numpy_only", [False, True], ids=["default", "numpy_rules"])
@pytest.mark.parametrize(("dtype", "big"), [("float32", 1e38), ("float64", 5e307)])
def test_a_smoothed_loss_whose_log_probabilities_sum_beyond_the_dtype_is_finite(
    dtype, big, numpy_only
):
    z = np.array([[big, -big, -big, -big], [0.5, 0.0, -1.0, 2.0]], dtype)
    labels = np.array([0, 3])
    rows = np.full((2, 4), 0.1 / 4, dtype)
    rows[[0, 1], labels] += 0.9
    rules = cr.numpy_rules() if numpy_only else cr.enable_grad()
    with np.errstate(all="raise"), rules:
        loss = L.cross_entropy(cr.tensor(z), labels, label_smoothing=0.1, reduction="none")
        as_rows = L.cross_entropy(cr.tensor(z), rows, reduction="none")
    # s * mean_j(-log p_j), -log p_0 = 0 and -log p_j = 2 big: 0.1 * 6 big / 4
    exact = 0.1 * 6 * np.longdouble(big) / 4
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data[0], exact.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_allclose(loss.data, as_rows.data, rtol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_smoothed_loss_within_range_is_the_mean_as_before(dtype):
    z = np.random.default_rng(3).standard_normal((16, 7)).astype(dtype) * 30
    labels = np.arange(16) % 7
    loss = L.cross_entropy(cr.tensor(z), labels, label_smoothing=0.2, reduction="none").data
    logp = cr.log_softmax(cr.tensor(z)).data
    expected = -logp[np.arange(16), labels] * np.asarray(0.8, dtype)
    expected -= 0.2 * logp.mean(axis=1)
    assert loss.tobytes() == expected.tobytes()
