"""A leaf whose ``grad`` cannot take its gradient (a stale one of another shape or dtype,
or not an array) is refused before any gradient is stored or the graph released: the
pass added the other leaves' gradients, released the graph, then failed with NumPy's
broadcast error, and running it again said the graph was released."""

import numpy as np
import pytest

import chainrule as cr


def _graph():
    a = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    b = cr.tensor(np.ones((2, 3)), requires_grad=True, dtype="float64")
    a.grad = np.full(3, 10.0)
    return a, b, (a * b).sum()


@pytest.mark.parametrize(
    ("stale", "error", "got"),
    [
        (np.zeros(2), ValueError, r"got shape \(2,\) and dtype float64"),
        (np.zeros((2, 3), np.float32), ValueError, r"got shape \(2, 3\) and dtype float32"),
        (np.zeros((2, 3), np.int64), ValueError, r"got shape \(2, 3\) and dtype int64"),
        ([[0.0] * 3] * 2, TypeError, "got list"),
        (cr.tensor(np.zeros((2, 3))), TypeError, "got Tensor"),
    ],
)
def test_a_bad_grad_changes_nothing_and_the_pass_can_run_again(stale, error, got):
    a, b, loss = _graph()
    b.grad = stale
    with pytest.raises(error, match=r"leaf tensor of shape \(2, 3\) and dtype float64.*" + got):
        loss.backward()
    np.testing.assert_array_equal(a.grad, np.full(3, 10.0))  # not accumulated
    assert b.grad is stale
    b.grad = None
    loss.backward()  # the graph was not released
    np.testing.assert_array_equal(a.grad, np.full(3, 12.0))
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))


def test_grads_the_pass_leaves_and_numpy_scalars_of_0d_leaves_are_taken():
    s = cr.tensor(2.0, requires_grad=True, dtype="float64")
    s.grad = np.float64(1.0)  # what 0-d arithmetic gives
    (s * 3.0).backward()
    (s * 3.0).backward()
    assert s.grad == 7.0
    assert type(s.grad) is np.ndarray


def test_a_grad_of_an_ndarray_subclass_is_taken(tmp_path):
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    w.grad = np.memmap(tmp_path / "grad", dtype=np.float64, mode="w+", shape=(3,))
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])


def test_a_replay_checks_every_grad_before_storing_any():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    v = cr.tensor(np.ones((2, 3)), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: (x * w * v).sum())
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(3):  # two recordings, then a replay
        step(x)
    assert next(iter(step._plans.values())).confirmed
    w.grad, v.grad = np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match=r"leaf tensor of shape \(2, 3\).*got shape \(2,\)"):
        step(x)
    np.testing.assert_array_equal(w.grad, np.zeros(3))
    v.grad = None
    step(x)  # replayed
    np.testing.assert_array_equal(w.grad, 2 * x)
    np.testing.assert_array_equal(v.grad, np.tile(x, (2, 1)))
