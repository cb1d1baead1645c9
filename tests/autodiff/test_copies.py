"""Copies and pickles of a tensor: a leaf of the same values, numbered in its own process.

A pickle kept the creation number of the process that saved it, and a copy the
original's. In a fresh process the numbers start again, so the ops applied to a loaded
tensor were numbered before it: backward reached it before its gradient (``grad`` stayed
None, silently) and a trace took it for a tensor made inside the function.
"""

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.tensor import _sequence

COPIES = {
    "pickle": lambda t: pickle.loads(pickle.dumps(t)),
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


def _saved_by_a_longer_process(how):
    """A leaf copied by ``how`` after its creation number was set where a process that
    had made many more tensors would have left it (ahead of this one's counter)."""
    w = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, dtype="float64")
    w.grad = np.full(3, 0.5)
    w._seq = next(_sequence) + 10**9
    return COPIES[how](w)


@pytest.mark.parametrize("how", list(COPIES))
def test_a_copied_leaf_keeps_its_values_and_takes_its_gradient(how):
    w = _saved_by_a_longer_process(how)
    assert w.is_leaf and w.requires_grad and w.dtype == np.float64
    np.testing.assert_array_equal(w.data, [1.0, 2.0, 3.0])
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.5, 3.5, 3.5])  # 0.5 copied, 3 accumulated


@pytest.mark.parametrize("how", list(COPIES))
def test_a_copied_leaf_is_a_tensor_from_outside_for_a_trace(how):
    w = _saved_by_a_longer_process(how)
    w.grad = None
    step = cr.trace_backward(lambda x: (x * w).sum())
    for x in ([1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]):
        step(np.array(x))
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 4.0])


def test_a_shallow_copy_shares_the_arrays_and_a_deep_one_copies_them():
    w = cr.tensor(np.ones(2), requires_grad=True)
    shallow, deep = copy.copy(w), copy.deepcopy(w)
    assert shallow.data is w.data and deep.data is not w.data
    assert shallow is not w and shallow._seq > w._seq


@pytest.mark.parametrize("how", list(COPIES))
def test_a_tensor_with_a_graph_is_refused_and_its_detached_values_are_copied(how):
    w = cr.tensor(np.ones(2), requires_grad=True)
    y = w * 2.0
    with pytest.raises(TypeError, match=r"^Tensor: copy or pickle expected a leaf tensor, got "):
        COPIES[how](y)
    y.sum().backward()  # a released graph is no leaf either
    with pytest.raises(TypeError, match=r"the output of op 'mul' with a graph"):
        COPIES[how](y)
    assert COPIES[how](y.detach()).data.tolist() == [2.0, 2.0]
    with cr.no_grad():  # an op's output without a graph is a leaf
        assert COPIES[how](w * 3.0).data.tolist() == [3.0, 3.0]


_CHILD = """
import pickle, sys
import chainrule as cr
net, opt, x, y = pickle.loads(sys.stdin.buffer.read())
losses, missing = [], []
for _ in range(3):
    opt.zero_grad()
    loss = cr.losses.bce_with_logits(net(cr.tensor(x)), y)
    loss.backward()
    losses.append(loss.item())
    missing.append(sum(p.grad is None for p in net.parameters()))
    opt.step()
sys.stdout.buffer.write(pickle.dumps((losses, missing, [p.data for p in net.parameters()])))
"""


def _continue(net, opt, x, y):
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = cr.losses.bce_with_logits(net(cr.tensor(x)), y)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses, [p.data for p in net.parameters()]


def test_a_model_and_optimizer_pickled_train_on_in_a_fresh_process():
    # there 3 of the 4 parameters got no gradient: the loaded tensors' numbers were ahead
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4))
    y = (x.sum(axis=1, keepdims=True) > 0).astype(np.float64)
    net = cr.nn.MLP([4, 8, 1], activation="tanh", seed=0, dtype="float64")
    opt = cr.optim.Adam(net.parameters(), lr=0.05)
    _continue(net, opt, x, y)
    blob = pickle.dumps((net, opt, x, y))
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], input=blob, capture_output=True, check=True, timeout=300
    )
    losses, missing, params = pickle.loads(child.stdout)
    assert missing == [0, 0, 0]
    expected_losses, expected_params = _continue(*pickle.loads(blob))
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)
    for p, q in zip(params, expected_params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12)
