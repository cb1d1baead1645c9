"""Arguments the primitives cannot use: typed errors naming the primitive and what it
expected, raised before any work, where Python or NumPy gave their own bare messages."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autodiff import ops_shape


@pytest.mark.parametrize(
    ("alpha", "error", "got"),
    [
        (True, TypeError, "got bool True"),
        (float("nan"), ValueError, "got nan"),
        (float("inf"), ValueError, "got inf"),
        (-1.0, ValueError, "got -1.0"),
        (1.0, ValueError, "got 1.0"),
    ],
)
def test_leaky_relu_checks_its_slope_as_the_layer_does(alpha, error, got):
    # NaN and inf gave NaN/inf outputs and gradients, True was taken as 1.0
    x = cr.tensor(np.array([-1.0, 2.0], np.float32), requires_grad=True)
    with pytest.raises(
        error, match=rf"^leaky_relu: alpha expected a (real|finite) number in \[0, 1\), {got}$"
    ):
        cr.leaky_relu(x, alpha)
    with pytest.raises(error, match=rf"^LeakyReLU: alpha expected .*{got}$"):
        nn.LeakyReLU(alpha)


@pytest.mark.parametrize("alpha", [0, 0.2, np.float32(0.2), np.float64(0.2)])
def test_leaky_relu_takes_slopes_in_0_1_python_or_numpy(alpha):
    x = cr.tensor(np.array([-1.0, 2.0], np.float32), requires_grad=True)
    out = cr.leaky_relu(x, alpha)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == np.float32
    np.testing.assert_array_equal(out.data, [-np.float32(alpha), 2.0])
    np.testing.assert_array_equal(x.grad, [np.float32(alpha), 1.0])


@pytest.mark.parametrize("join", [cr.stack, cr.concatenate])
@pytest.mark.parametrize(
    ("tensors", "got"),
    [
        (5, "int 5"),
        (None, "NoneType None"),
        (np.array(3.0), "ndarray"),
        (cr.tensor(2.0), "Tensor"),
        ({cr.tensor(1.0), cr.tensor(2.0)}, ""),  # joined in the order of their hashes
    ],
)
def test_joining_what_is_no_sequence_names_the_join(join, tensors, got):
    # Python's "'int' object is not iterable", NumPy's "iteration over a 0-d array"
    name = join.__name__
    says = f"expected a sequence of tensors, got {got}" if got else "tensors expected .* a set"
    with pytest.raises(TypeError, match=rf"^{name}: {says}"):
        join(tensors)
    t = cr.tensor(np.ones(2, np.float32))
    assert join(x for x in (t, t)).shape == ((2, 2) if name == "stack" else (4,))


def test_linear_names_its_activations_for_one_that_is_no_string():
    # "unhashable type: 'list'" from the lookup
    x, w = cr.tensor(np.ones((2, 3), np.float32)), cr.tensor(np.ones((3, 2), np.float32))
    for activation in (["relu"], {"relu": 1}, 1):
        with pytest.raises(
            TypeError,
            match=r"^linear: expected activation None or one of relu, sigmoid, tanh, got "
            rf"{type(activation).__name__} ",
        ):
            cr.linear(x, w, activation=activation)


@pytest.mark.parametrize(
    ("condition", "got"),
    [(None, "NoneType"), (object(), "object"), ([1.0, 0.0], "dtype float64"), ("ab", "dtype <U2")],
)
def test_where_names_its_condition_for_any_non_boolean_one(condition, got):
    # None gave the Tensor's "unknown dtype dtype('O')", naming neither where nor condition
    x = cr.tensor(np.ones(2, np.float32))
    with pytest.raises(
        TypeError, match=rf"^where: condition expected a boolean mask .*, got {got}$"
    ):
        cr.where(condition, x, x)


@pytest.mark.parametrize("axes", [(True, 0), (1, False), (np.True_, 0)])
def test_transpose_refuses_bools_as_axes_as_sum_does(axes):
    # True was taken as the axis 1: x.transpose(True, 0) was x.T, where x.sum(axis=True)
    # is refused
    x = cr.tensor(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"^transpose: expected axes as integers, got .* bool"):
        x.transpose(*axes)
    with pytest.raises(TypeError, match=r"^transpose: expected axes as integers"):
        ops_shape.transpose(x, (i for i in axes))  # a generator, read once
    with pytest.raises(TypeError, match="^sum: expected an integer axis, got True"):
        x.sum(axis=True)
