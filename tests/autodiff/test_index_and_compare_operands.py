"""A list of index tensors (which NumPy and PyTorch read differently), and a comparison's
list, None or text operand, are refused in chainrule's words, as ``add`` refuses its own."""

import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.trace import TraceError


def _x():
    return cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)


@pytest.mark.parametrize(
    "index",
    [
        lambda i: [i, i],
        lambda i: [[0, 1], i],
        lambda i: [[i], [i]],
        lambda i: [(i, 0)],
        lambda i: (slice(None), [i, i]),
    ],
    ids=["two tensors", "list and tensor", "nested", "tuple in a list", "in a tuple"],
)
def test_a_list_of_index_tensors_is_refused_naming_both_readings(index):
    # x[[i, i]] was a bare IndexError ("only integers, slices ... are valid indices");
    # NumPy reads a list of arrays as one index array, PyTorch a list of tensors as a tuple
    x, i = _x(), cr.tensor(np.array([0, 2]))
    with pytest.raises(TypeError, match=r"^getitem: expected index tensors alone or in a tuple"):
        x[index(i)]


def test_lists_of_ints_and_what_they_say_stay_as_before():
    x, i = _x(), cr.tensor(np.array([0, 2]))
    np.testing.assert_array_equal(x[[0, 2]].data, x.data[[0, 2]])
    np.testing.assert_array_equal(x[cr.stack([i, i])].data, x.data[np.stack([i.data] * 2)])
    np.testing.assert_array_equal(x[i, i].data, x.data[i.data, i.data])
    with pytest.raises(IndexError):  # NumPy's own refusal of what is no index at all
        x[[0.5]]


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
def test_a_list_of_a_shape_that_does_not_broadcast_names_the_comparison(compare):
    # x < [1.0, 2.0] was NumPy's bare "operands could not be broadcast together", where
    # x + [1.0, 2.0] says "add: shapes (3, 4) and (2,) cannot be broadcast together"
    with pytest.raises(
        ValueError,
        match=rf"^{compare.__name__}: shapes \(3, 4\) and \(2,\) cannot be broadcast together$",
    ):
        compare(_x(), [1.0, 2.0])


@pytest.mark.parametrize(
    ("other", "received"),
    [(None, "NoneType None"), ("a", "str 'a'"), ([None, 1.0, 2.0, 3.0], "list")],
    ids=["None", "str", "list with None"],
)
def test_a_comparison_with_what_is_no_number_is_a_type_error_naming_it(other, received):
    # x < None was Python's "'<' not supported between 'float' and 'NoneType'", x < 'a'
    # NumPy's UFuncTypeError
    with pytest.raises(
        TypeError, match=rf"^lt: expected a tensor, an array or numbers, got {received}"
    ) as caught:
        operator.lt(_x(), other)
    assert type(caught.value) is TypeError


def test_comparisons_with_numbers_lists_and_arrays_are_as_before():
    x = _x()
    np.testing.assert_array_equal((x < 5).data, x.data < 5)
    np.testing.assert_array_equal((x >= [0.0, 5.0, 6.0, 20.0]).data, x.data >= [0, 5, 6, 20])
    np.testing.assert_array_equal((x > np.ones((3, 1))).data, x.data > 1)


def test_a_ragged_list_in_a_comparison_is_a_value_error_naming_it():
    # NumPy's bare "setting an array element with a sequence ... inhomogeneous shape"
    with pytest.raises(ValueError, match=r"^gt: expected a rectangular array, got a ragged list"):
        operator.gt(_x(), [[1.0], [2.0, 3.0]])


def test_a_torch_tensor_is_compared_as_its_array():
    # torch refused NumPy's reflected comparison in its own words
    torch = pytest.importorskip("torch")
    x = _x()
    other = torch.full((4,), 5.0, dtype=torch.float64)
    np.testing.assert_array_equal((x < other).data, x.data < 5)
    with pytest.raises(ValueError, match=r"^lt: shapes \(3, 4\) and \(2,\) cannot be broadcast"):
        operator.lt(x, torch.ones(2))


def test_a_trace_still_refuses_a_comparison_with_an_array_in_its_own_words():
    # the typed error of what is no number must not replace the trace's refusal, which is
    # a TypeError too
    w = cr.tensor(np.ones(3), requires_grad=True)
    step = cr.trace_backward(lambda x: cr.where(x < np.zeros(3), w, 0.0).sum())
    with pytest.raises(TraceError, match=r"_compare_kernel was given an array"):
        step(np.ones(3))
