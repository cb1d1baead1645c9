"""A registered entry keeps its kind: assignments are checked, deletions refused."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (None, "NoneType"),
        (np.zeros((2, 3), np.float32), "ndarray"),
        ("the output of an op", r"a non-leaf Tensor \(the output of an op\)"),
        (cr.tensor(np.zeros((2, 3), np.float32)), "a Tensor with requires_grad=False"),
    ],
)
def test_a_parameter_is_replaced_only_by_a_leaf_tensor(value, got):
    layer = nn.Linear(2, 3, rng=0)
    if isinstance(value, str):
        value = layer.weight * 2
    weight = layer.weight
    with pytest.raises(
        TypeError,
        match=rf"^Linear: parameter 'weight' expected a leaf cr.Tensor with requires_grad=True, "
        rf"got {got}$",
    ):
        layer.weight = value
    assert layer.weight is weight and layer.parameters() == [weight, layer.bias]
    new = cr.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    layer.weight = new
    assert layer.parameters() == [new, layer.bias]


def test_a_bias_set_to_none_is_refused_and_the_layer_still_works():
    layer = nn.Linear(2, 3, rng=0)
    with pytest.raises(TypeError, match="parameter 'bias' expected .* got NoneType"):
        layer.bias = None
    assert layer.num_parameters() == 9 and "9 parameters" in repr(layer)


class Wrapper(nn.Module):
    """A module with a child of its own (an MLP refuses any new ``layers``)."""

    def __init__(self):
        super().__init__()
        self.register_module("body", nn.Linear(2, 1, rng=0))


@pytest.mark.parametrize(
    ("module", "name", "value", "message"),
    [
        (
            lambda: nn.BatchNorm1d(2),
            "running_var",
            [1.0, 1.0],
            "BatchNorm1d: buffer 'running_var' expected an ndarray, got list",
        ),
        (
            lambda: nn.Dropout(0.5, rng=0),
            "rng",
            0,
            "Dropout: generator 'rng' expected a numpy.random.Generator, got int",
        ),
        (Wrapper, "body", None, "Wrapper: module 'body' expected a Module, got NoneType"),
    ],
)
def test_a_buffer_generator_or_child_is_replaced_only_by_its_kind(module, name, value, message):
    module = module()
    before = getattr(module, name)
    with pytest.raises(TypeError, match=f"^{message}$"):
        setattr(module, name, value)
    assert getattr(module, name) is before
    module.state_dict()


@pytest.mark.parametrize(
    ("module", "name", "kind"),
    [
        (lambda: nn.Linear(2, 3, rng=0), "weight", "parameter"),
        (lambda: nn.BatchNorm1d(2), "running_mean", "buffer"),
        (Wrapper, "body", "module"),
    ],
)
def test_deleting_a_registered_entry_is_refused(module, name, kind):
    module = module()
    with pytest.raises(TypeError, match=f"cannot delete the registered {kind} {name!r}"):
        delattr(module, name)
    assert name in {n.split(".")[0] for n in module.state_dict()}
    module.other = 1
    del module.other
    assert not hasattr(module, "other")


@pytest.mark.parametrize("name", sorted(nn.MLP.FIXED))
def test_an_mlp_refuses_new_layers_or_constructor_arguments(name):
    """mlp.sizes = [...] changed get_config but not the layers (and mlp.layers = ... the
    layers but not get_config): the model no longer matched the config it saves."""
    mlp = nn.MLP([2, 3, 1], seed=0)
    before, config = getattr(mlp, name), mlp.get_config()
    new = nn.Sequential(nn.Linear(2, 1, rng=0)) if name == "layers" else before
    for verb, change in [("assign", lambda: setattr(mlp, name, new)),
                         ("delete", lambda: delattr(mlp, name))]:  # fmt: skip
        with pytest.raises(AttributeError, match=rf"^MLP: cannot {verb} '{name}', which the "):
            change()
        assert getattr(mlp, name) is before and mlp.get_config() == config
    mlp.note = "other attributes stay free"
    assert mlp.note == "other attributes stay free"


def test_a_subclass_that_skips_super_init_is_told_at_its_first_registration():
    class NoSuper(nn.Module):
        def __init__(self):
            self.register_module("fc", nn.Linear(2, 1, rng=0))

    with pytest.raises(
        TypeError,
        match=r"^NoSuper: register_module\('fc'\) before Module.__init__ ran; expected "
        r"NoSuper.__init__ to call super\(\).__init__\(\) first$",
    ):
        NoSuper()


def test_a_sequential_layer_is_not_replaced_by_assignment():
    first = nn.Linear(2, 3, rng=0)
    net = nn.Sequential(first, nn.ReLU())
    with pytest.raises(TypeError, match=r"^Sequential: layer '0' cannot be replaced by assignment"):
        setattr(net, "0", nn.Linear(2, 5, rng=0))
    assert net[0] is first and getattr(net, "0") is first
    assert net(cr.tensor(np.ones((1, 2), np.float32))).shape == (1, 3)
    assert {k: v.shape for k, v in net.state_dict().items()} == {"0.weight": (2, 3), "0.bias": (3,)}


def test_invalid_state_checks_its_argument_as_load_state_dict_does():
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.BatchNorm1d(2))
    state = net.state_dict()
    with pytest.raises(TypeError, match=r"^Sequential.invalid_state: expected a mapping .* list$"):
        net.invalid_state([])
    with pytest.raises(
        ValueError, match=r"^Sequential.invalid_state: missing keys \['0.weight', '0.bias'"
    ):
        net.invalid_state({})
    with pytest.raises(ValueError, match=r"mis-shaped keys \['1.running_var \(expected \(2,\)"):
        net.invalid_state({**state, "1.running_var": np.array(-1.0)})
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        net.invalid_state({**state, "extra": np.zeros(1)})
    assert net.invalid_state({**state, "1.running_var": -np.ones(2)}) == [
        "1.running_var (expected variances >= 0, got 2 negative among 2 values, the lowest -1)"
    ]


def test_invalid_state_judges_read_only_values_it_does_not_write():
    layer = nn.Linear(2, 2, rng=0)
    layer.weight.data.flags.writeable = False
    assert layer.invalid_state() == [] and layer.invalid_state(layer.state_dict()) == []
