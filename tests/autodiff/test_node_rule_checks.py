"""What a gradient rule given to the public ``node()`` returns is checked when it runs."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import node


def leaf(values, dtype="float64"):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_a_rule_returning_too_few_gradients_is_a_value_error_and_stores_none():
    # b's gradient was silently dropped: b.grad None, an optimizer never moved it
    a, b = leaf([1.0, 1.0]), leaf([2.0, 2.0])
    out = node(a.data * b.data, (a, b), lambda g: (g * b.data,), "mul2").sum()
    with pytest.raises(
        ValueError,
        match=r"^op 'mul2': its gradient rule returned 1 gradients, expected 2 \(one per parent",
    ):
        out.backward()
    assert a.grad is None and b.grad is None  # nothing stored, as when any rule raises


def test_a_rule_returning_no_tuple_is_a_type_error():
    z = leaf([1.0, 2.0])
    out = node(2 * z.data, (z,), lambda g: 2 * g, "bare").sum()
    with pytest.raises(TypeError, match=r"^op 'bare': its gradient rule returned ndarray, "):
        out.backward()


def test_a_gradient_of_another_shape_is_a_value_error_naming_the_parent():
    # s's (4,) gradient was stored for a (1,) parent; a (4, 1) one broadcast to (4, 4)
    x, s = leaf([1.0, 2.0, 3.0, 4.0]), leaf([2.0])
    out = node(x.data * s.data, (x, s), lambda g: (g * s.data, g * x.data), "scale")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "op 'scale': the gradient of parent 1 expected shape (1,) (the parent's), got (4,)"
        ),
    ):
        (out + s).sum().backward()
    assert x.grad is None and s.grad is None


def test_gradcheck_of_a_rule_of_another_shape_names_it_instead_of_numpys_index_error():
    def col(z):
        return node(2 * z.data, (z,), lambda g: (2 * g[:, None],), "col")

    with pytest.raises(ValueError, match=r"'col': the gradient of parent 0 expected shape \(4,\)"):
        cr.gradcheck(col, leaf(np.arange(4.0)))


def test_a_gradient_of_another_dtype_is_a_type_error():
    # a float64 gradient was stored for a float32 parent
    p = leaf([1.0, 1.0], "float32")
    out = node(p.data * 2, (p,), lambda g: (g.astype(np.float64) * 2,), "dbl").sum()
    with pytest.raises(
        TypeError,
        match=r"^op 'dbl': the gradient of parent 0 expected dtype float32 \(the parent's\), "
        r"got float64",
    ):
        out.backward()


def test_a_gradient_that_is_no_array_is_a_type_error():
    z = leaf([1.0, 2.0])
    out = node(2 * z.data, (z,), lambda g: [float(g[0])], "py").sum()
    with pytest.raises(
        TypeError,
        match=re.escape("op 'py': the gradient of parent 0 expected a NumPy array of shape (2,) "),
    ):
        out.backward()


def test_right_rules_pass_as_before():
    # a NumPy scalar for a 0-d parent, None, a list, and anything for a parent that takes
    # no gradient (an integer tensor) are what the engine takes
    z, k = leaf(3.0, "float32"), cr.tensor(np.array([1, 2]))
    node(2 * z.data, (z,), lambda g: (g * 2.0,), "twice").backward()
    assert z.grad == 2.0 and z.grad.dtype == np.float32
    w = leaf([1.0, 2.0])
    y = node(w.data * k.data, (w, k, z), lambda g: [g * k.data, g * w.data, None], "wk")
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    assert z.grad == 2.0  # the rule gave z no gradient


def test_a_library_primitives_rule_is_not_wrapped():
    # the check is the price of node() only: apply's rules run as their kernels made them
    x = leaf([1.0, 2.0])
    assert (x * 2)._vjp.__qualname__.startswith("_mul_kernel")
    assert node(x.data, (x,), lambda g: (g,), "id")._vjp.__qualname__.startswith("_checked_rule")
