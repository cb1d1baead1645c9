"""trace_backward: a tensor made inside the function is a constant only when made of a
number; one made of an array refuses the trace whatever its size, and so does a tensor's
value read with ``numpy()``."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import TraceError

TABLE = np.array([1.0, 3.0])  # a weight per class


@pytest.mark.parametrize(
    "weigh",
    [
        lambda x, y: cr.tensor(TABLE[y.data]),  # a weight per example, of a batch of one
        lambda x, y: cr.tensor(x.data[:1]),
        lambda x, y: cr.tensor(np.asarray(x.data.sum())),  # 0-d
        lambda x, y: TABLE[y.data],  # an array operand of an op
        lambda x, y: cr.tensor([2.0], dtype="float64"),  # a list
    ],
    ids=["table-row", "slice", "0-d", "operand", "list"],
)
def test_a_one_element_tensor_made_of_an_array_inside_is_refused_at_the_first_call(weigh):
    # it was a constant, compared only by the second call: with labels 0, 0, 1 the first two
    # calls agreed and the third replayed the weight 1.0 where eager gives 3.0
    w = cr.tensor(np.ones(1), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x, y: (x * w * weigh(x, y)).sum())
    with pytest.raises(TraceError, match="made from an array inside the function"):
        step(np.array([2.0]), np.array([0]))
    assert w.grad is None and not step._plans


@pytest.mark.parametrize(
    "scale",
    [
        lambda x: x * 2.0,
        lambda x: 0.5 * x + 1,
        lambda x: x / np.float64(4.0),  # a NumPy number
        lambda x: x * cr.tensor(3.0, dtype="float64"),  # a tensor made of a number
        lambda x: cr.where(x > 1.0, x, 1.0),
    ],
    ids=["mul", "affine", "numpy-number", "tensor-of-number", "where"],
)
def test_numbers_made_into_tensors_inside_stay_replayed_constants(scale):
    w = cr.tensor(np.full(3, 2.0), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: scale(x * w).sum())
    for x in (np.arange(3.0), np.ones(3), np.array([5.0, -6.0, 7.0])):
        w.grad = None
        got = step(x).item()
        traced_grad = w.grad
        w.grad = None
        eager = scale(cr.tensor(x) * w).sum()
        eager.backward()
        assert got == eager.item()
        np.testing.assert_array_equal(traced_grad, w.grad)
    assert next(iter(step._plans.values())).confirmed  # the third call was replayed


def test_numpy_refuses_the_trace_as_item_does():
    # the first two calls took the small branch and confirmed the plan; the third replayed
    # it: 17.0 where eager gives 34.0
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        loss = (x * w).sum()
        return loss * 2.0 if loss.numpy() > 10 else loss

    step = cr.trace_backward(fn)
    with pytest.raises(TraceError, match=r"value read in Python \(numpy\)"):
        step(np.array([1.0, 1.0]))
    assert w.grad is None and not step._plans
    assert cr.tensor([1.0, 2.0]).numpy().tolist() == [1.0, 2.0]  # outside a trace, as before


def test_data_stays_the_escape_hatch_for_reading_values_inside():
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []

    def fn(x):
        loss = (x * w).sum()
        seen.append(loss.data.item())  # a log line: read, not fed back
        return loss

    step = cr.trace_backward(fn)
    for x in ([1.0, 1.0], [1.0, 2.0], [3.0, 4.0]):
        assert step(np.array(x)).item() == (np.array(x) * w.data).sum()
    assert seen == [3.0, 5.0]  # read by the two recording calls only
