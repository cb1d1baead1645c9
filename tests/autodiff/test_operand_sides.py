"""An operand is read the same on either side of a binary op: another library's array-like
(``array.array``, a torch tensor) and a list beside an array, first or second."""

import array

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.ops_math import add


@pytest.mark.parametrize("op", [cr.maximum, cr.minimum])
def test_an_array_like_first_operand_of_maximum_and_minimum_is_read_as_an_array(op):
    # cr.maximum(array.array('f', ...), c) was AttributeError: module 'array' has no
    # attribute 'maximum' (the array module was taken from the raw operand)
    c = cr.tensor([0.0, 3.0])
    a = array.array("f", [1.0, 2.0])
    out = op(a, c)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, op(c, a).data)


@pytest.mark.parametrize("op", [cr.maximum, cr.minimum])
def test_a_torch_first_operand_of_maximum_and_minimum_is_read_as_an_array(op):
    torch = pytest.importorskip("torch")
    c = cr.tensor([0.0, 3.0])
    t = torch.tensor([1.0, 2.0])
    np.testing.assert_array_equal(op(t, c).data, op(c, t).data)


def test_an_array_like_bool_condition_of_where_is_a_mask():
    torch = pytest.importorskip("torch")
    c = cr.tensor([5.0, 6.0], requires_grad=True)
    out = cr.where(torch.tensor([True, False]), c, 1.0)
    np.testing.assert_array_equal(out.data, [5.0, 1.0])
    out.sum().backward()
    np.testing.assert_array_equal(c.grad, [1.0, 0.0])


def test_a_foreign_condition_mask_is_copied():
    torch = pytest.importorskip("torch")
    mask = torch.tensor([True, False])
    c = cr.tensor([5.0, 6.0], requires_grad=True)
    out = cr.where(mask, c, 1.0)
    mask[1] = True  # the caller's buffer changes after the op: the gradient does not
    out.sum().backward()
    np.testing.assert_array_equal(c.grad, [1.0, 0.0])


def test_an_array_like_condition_of_another_dtype_is_the_typed_error():
    # array.array('b') was AttributeError: module 'array' has no attribute 'asarray'
    c = cr.tensor([5.0, 6.0])
    with pytest.raises(TypeError, match=r"^where: condition expected a boolean mask .*int8"):
        cr.where(array.array("b", [1, 0]), c, 1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda arr: cr.maximum([0.5, 3.0], arr),
        lambda arr: cr.minimum([0.5, 3.0], arr),
        lambda arr: cr.where(np.array([True, False]), [0.5, 3.0], arr),
        lambda arr: add([0.5, 3.0], arr),
        lambda arr: cr.matmul([0.5, 3.0], np.diag(arr)),
    ],
    ids=["maximum", "minimum", "where", "add", "matmul"],
)
def test_a_list_takes_a_float64_arrays_dtype_on_the_left_as_on_the_right(call):
    # cr.maximum([0.5, 3.0], arr64) was "operands have dtypes float32 and float64"
    out = call(np.array([1.0, 2.0]))
    assert out.dtype == np.float64


def test_a_list_beside_a_python_number_stays_float32():
    assert add([0.5, 3.0], 1.0).dtype == np.float32
    assert add(1.0, [0.5, 3.0]).dtype == np.float32
    assert add([0.5], [3.0]).dtype == np.float32


def test_a_list_of_floats_beside_an_integer_array_is_refused_on_either_side():
    ints = np.array([1, 2])
    for call in (lambda: add([0.5, 3.0], ints), lambda: add(ints, [0.5, 3.0])):
        with pytest.raises(TypeError, match=r"^add: operands have dtypes"):
            call()
