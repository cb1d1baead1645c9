"""The documented default of ``cr.leaky_relu(a, alpha=0.01)``: its slope for a <= 0."""

import numpy as np

import chainrule as cr

X = np.array([-3.0, -0.5, -1e-3, 0.0, 0.25, 2.0])


def test_leaky_relu_leaks_with_slope_0_01_by_default():
    a = cr.tensor(X, requires_grad=True)
    out = cr.leaky_relu(a)
    np.testing.assert_array_equal(out.data, np.where(X > 0, X, 0.01 * X))
    np.testing.assert_array_equal(out.data, cr.leaky_relu(cr.tensor(X), 0.01).data)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, np.where(X > 0, 1.0, 0.01))
