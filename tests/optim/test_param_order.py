"""Parameters come in a fixed order: the optimizers number, save and load them by it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

OPTIMIZERS = [optim.SGD, optim.Momentum, optim.RMSprop, optim.Adam, optim.AdamW]


def _tensors():
    return [cr.tensor(np.ones((2, 2), np.float32), requires_grad=True) for _ in range(3)]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("container", [set, frozenset])
def test_a_set_of_parameters_is_refused(cls, container):
    # numbered them in an order that changes between processes: a resumed run could give
    # one parameter's Adam moments to another of the same shape
    name = cls.__name__
    with pytest.raises(
        TypeError,
        match=rf"^{name}: params expected .*, got a {container.__name__} of length 3, whose "
        r"order is arbitrary \(it changes between processes\); pass a list or tuple$",
    ):
        cls(container(_tensors()))


def test_a_0d_array_of_parameters_is_a_typed_error_naming_params():
    # raised NumPy's bare "iteration over a 0-d array"
    with pytest.raises(TypeError, match=r"^SGD: params expected .*, got ndarray array\(0.5\)"):
        optim.SGD(np.array(0.5))


def test_ordered_forms_keep_their_order():
    a, b, c = _tensors()
    named = {"c": c, "a": a, "b": b}
    assert optim.Adam(named).param_names == ("c", "a", "b")
    assert optim.Adam(named.items()).param_names == ("c", "a", "b")
    assert optim.Adam(p for p in (b, a)).params == (b, a)
    assert optim.SGD((c, a)).params == (c, a)


@pytest.mark.parametrize("params", [{("w", None)}, np.array(1.0)], ids=["set", "0-d"])
def test_the_penalties_read_params_as_the_optimizers_do(params):
    # a set summed its terms in an order of the process; a 0-d array gave NumPy's error
    with pytest.raises(TypeError, match=r"^penalized_parameters: params expected .*; pass a list"):
        cr.regularization.penalized_parameters(params)


@pytest.mark.parametrize(
    ("boundaries", "got"),
    [({10, 20}, "a set of length 2, whose order is arbitrary"), (np.array(10), "ndarray")],
)
def test_piecewise_constant_boundaries_are_an_ordered_list(boundaries, got):
    # a set was read in whatever order it iterates; a 0-d array gave NumPy's error
    with pytest.raises(TypeError, match=rf"^PiecewiseConstant: boundaries expected .*got {got}"):
        optim.PiecewiseConstant(boundaries=boundaries, values=[1.0, 0.1, 0.01])
