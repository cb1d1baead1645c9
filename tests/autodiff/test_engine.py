"""The backward pass: order, accumulation, release, retention and failure modes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import toposort


def leaf(values, dtype="float64"):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_fan_in_gradients_accumulate():
    x = leaf(3.0)
    y = x * x + x  # x reaches y by three paths
    y.backward()
    assert x.grad == pytest.approx(2 * 3.0 + 1)


def test_shared_subexpression_is_differentiated_once_per_path():
    x = leaf([1.0, 2.0])
    h = cr.tanh(x)
    y = (h * h).sum() + h.sum()
    y.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, (2 * t + 1) * (1 - t**2))


def test_chain_of_100k_ops_backpropagates_iteratively():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_second_backward_through_released_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    first = x.grad.copy()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad, first)  # nothing was double counted


def test_a_backward_whose_rule_raises_releases_nothing():
    calls = []

    def flaky_kernel(x):
        def vjp(g):
            calls.append(1)
            if len(calls) == 1:
                raise MemoryError("the first attempt ran out of memory")
            return (g * 3.0,)

        return x * 3.0, vjp

    x = leaf([1.0, 2.0])
    loss = (cr.autodiff.apply("flaky", flaky_kernel, (x * x,)) * 2.0).sum()
    with pytest.raises(MemoryError, match="first attempt"):
        loss.backward()
    assert x.grad is None and loss._parents  # the nodes walked before it are intact
    loss.backward()  # a retry backpropagates through the whole graph
    np.testing.assert_array_equal(x.grad, [12.0, 24.0])
    assert loss._parents is None and loss._vjp is None  # released once it succeeded


def test_retain_graph_gives_bit_identical_gradients():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((5, 3)))
    x = cr.tensor(rng.standard_normal((4, 5)))
    loss = cr.log_softmax(cr.tanh(x @ w)).sum()
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    w.grad = None
    loss.backward()
    assert np.array_equal(first, w.grad)


@pytest.mark.parametrize("flag", ["False", 1, None, np.array([True, False])])
def test_retain_graph_must_be_a_bool_checked_before_any_work(flag):
    # "False" kept the graph (truthy); an array raised NumPy's error after every rule ran
    x = leaf([1.0, 2.0])
    y = (x * 2).sum()
    with pytest.raises(
        TypeError, match=r"^backward\(\): retain_graph expected True or False, got "
    ):
        y.backward(retain_graph=flag)
    assert x.grad is None
    y.backward(retain_graph=np.True_)
    y.backward()  # kept by np.True_, released now
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_non_scalar_backward_needs_a_seed():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="seed gradient"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


def test_seed_of_wrong_shape_is_rejected():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"seed gradient of shape \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_constant_raises():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        cr.tensor(1.0).backward()


def test_inputs_without_requires_grad_get_no_gradient():
    x = cr.tensor(np.ones((2, 3)))
    w = leaf(np.ones((3, 1)))
    (x @ w).sum().backward()
    assert x.grad is None
    assert w.grad.shape == (3, 1)


def test_no_grad_records_nothing():
    x = leaf([1.0])
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 3
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad
    assert cr.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    y = (x.detach() * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_toposort_is_deterministic_and_puts_parents_first():
    a, b = leaf(1.0), leaf(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = toposort(e)
    assert order == toposort(e)
    position = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n._parents if n._parents else ():
            if p.requires_grad:
                assert position[id(p)] < position[id(n)]


def test_graph_is_released_after_backward():
    x = leaf(np.ones(3))
    y = cr.exp(x)
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="released"):
        (y * 1.0).sum().backward()


def test_leaf_grad_is_writable_even_when_rule_returns_broadcast_view():
    x = leaf(2.0)
    y = cr.tensor(np.ones((3, 3)))
    (x * y).sum().backward()
    assert x.grad == 9.0
    b = leaf(np.zeros(3))
    cr.tensor(np.ones((4, 3))).__add__(b).sum().backward()
    b.grad *= 2  # user code may scale gradients in place
    np.testing.assert_array_equal(b.grad, [8.0, 8.0, 8.0])


@pytest.mark.parametrize("backward", ["eager", "traced"])
def test_two_leaves_added_get_arrays_of_their_own(backward):
    # add hands g to both operands; stored as both .grads, an in-place change of one (a
    # clip with out=) changed the other
    a, b = leaf(np.zeros((2, 3))), leaf(np.zeros((2, 3)))

    def loss(x):
        return ((a + b) * x).sum()

    step = cr.trace_backward(loss) if backward == "traced" else lambda x: loss(x).backward()
    for _ in range(3):
        a.grad = b.grad = None
        step(cr.tensor(np.arange(6.0).reshape(2, 3)))
        assert not np.shares_memory(a.grad, b.grad)
        np.testing.assert_array_equal(a.grad, b.grad)


@pytest.mark.parametrize("backward", ["eager", "traced"])
def test_a_0d_leafs_grad_is_an_array_of_its_own(backward):
    # NumPy hands back scalars for 0-d results; an optimizer writes into .grad's array.
    x = leaf(2.0, "float32")
    y = cr.tensor(np.ones(3, np.float32))

    def loss(y):
        return (x * y).mean()

    step = cr.trace_backward(loss) if backward == "traced" else lambda y: loss(y).backward()
    for calls in range(1, 4):  # recorded, traced, replayed: each adds to the grad
        step(y)
        assert type(x.grad) is np.ndarray
        assert (x.grad.shape, x.grad.dtype, x.grad.flags.writeable) == ((), np.float32, True)
        assert x.grad == calls


def test_two_runs_give_bit_identical_gradients():
    def run():
        rng = np.random.default_rng(42)
        w1 = leaf(rng.standard_normal((10, 8)))
        w2 = leaf(rng.standard_normal((8, 3)))
        x = cr.tensor(rng.standard_normal((16, 10)))
        h = cr.relu(x @ w1)
        (cr.log_softmax(h @ w2) * h.sum(axis=1, keepdims=True)).mean().backward()
        return w1.grad, w2.grad

    (a1, a2), (b1, b2) = run(), run()
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2)


def test_custom_primitive_through_node():
    def cube(x):
        data = x.data
        return cr.autodiff.node(data**3, (x,), lambda g: (3 * data**2 * g,), "cube")

    x = leaf([1.0, -2.0])
    assert cr.gradcheck(cube, x)


def test_a_seed_the_caller_reuses_never_becomes_a_leafs_grad():
    x = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x + 1.0
    seed, rows = np.zeros(3), []
    for i in range(3):
        seed[:] = 0
        seed[i] = 1
        x.grad = None
        y.backward(seed, retain_graph=True)
        rows.append(x.grad)
    np.testing.assert_array_equal(np.array(rows), np.eye(3))


def test_a_primitive_registered_twice_is_refused_and_the_first_kept():
    from chainrule.autodiff import PRIMITIVES, primitive

    before = dict(PRIMITIVES)

    def add(a, b):
        return a

    def abs_(a):  # the trailing underscore of a name taken by a builtin is dropped
        return a

    for fn, name in ((add, "add"), (abs_, "abs")):
        with pytest.raises(ValueError, match=rf"^primitive '{name}' is registered twice$"):
            primitive(fn)
    assert before == PRIMITIVES  # the first registrations kept
