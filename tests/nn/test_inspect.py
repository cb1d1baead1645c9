"""What a model's layers tell about it: output layer, input and output widths."""

from __future__ import annotations

import pytest

from chainrule import nn


class _MySigmoid(nn.Sigmoid):
    pass


class _MySoftmax(nn.Softmax):
    pass


class _MyLogSoftmax(nn.LogSoftmax):
    pass


@pytest.mark.parametrize(
    ("last", "kind"),
    [
        (nn.Sigmoid(), "sigmoid"),
        (nn.Softmax(), "softmax"),
        (nn.LogSoftmax(), "log_softmax"),
        (nn.Identity(), "linear"),
        (nn.ReLU(), "linear"),
        # a subclass counts as its layer (the class name was matched: these were "linear")
        (_MySigmoid(), "sigmoid"),
        (_MySoftmax(), "softmax"),
        (_MyLogSoftmax(), "log_softmax"),
    ],
)
def test_the_output_layer_is_the_kind_of_the_last_layer(last, kind):
    model = nn.Sequential(nn.Linear(3, 2, rng=0), last)
    assert nn.output_layer(model) == kind
    assert nn.ends_in_probabilities(model) is (kind in ("sigmoid", "softmax"))


@pytest.mark.parametrize(
    "tail",
    [[nn.Identity()], [nn.Dropout(0.5, rng=0)], [nn.Dropout(1.0), nn.Identity()]],
    ids=["identity", "dropout", "both"],
)
@pytest.mark.parametrize("last", [nn.Softmax(), nn.Sigmoid(), nn.LogSoftmax(), nn.ReLU()])
def test_trailing_layers_that_pass_values_on_are_skipped(last, tail):
    # Sequential(Linear, Softmax, Identity) was a linear output: predict applied a second
    # softmax to its probabilities
    bare = nn.Sequential(nn.Linear(3, 2, rng=0), last)
    model = nn.Sequential(nn.Linear(3, 2, rng=0), last, *tail)
    assert nn.output_layer(model) == nn.output_layer(bare)
    assert nn.ends_in_probabilities(model) is nn.ends_in_probabilities(bare)
    assert nn.output_layer(nn.Sequential(nn.Linear(3, 2, rng=0), *tail)) == "linear"


def test_a_linear_last_layer_and_an_mlp_output():
    assert nn.output_layer(nn.Linear(3, 2, rng=0)) == "linear"
    for output in ("sigmoid", "softmax", "log_softmax"):
        assert nn.output_layer(nn.MLP([3, 4, 2], output=output, seed=0)) == output
    assert nn.output_layer(nn.MLP([3, 4, 2], seed=0)) == "linear"


def test_widths_come_from_the_first_and_last_layers_that_set_them():
    model = nn.Sequential(
        nn.BatchNorm1d(5), nn.Linear(5, 4, rng=0), nn.ReLU(), nn.Linear(4, 3, rng=1), nn.Softmax()
    )
    assert nn.input_width(model) == 5
    assert nn.output_width(model) == 3
    mlp = nn.MLP([7, 6, 1], output="sigmoid", seed=0)
    assert (nn.input_width(mlp), nn.output_width(mlp)) == (7, 1)


@pytest.mark.parametrize(
    "helper",
    [
        nn.inspect.modules,
        nn.output_layer,
        nn.ends_in_probabilities,
        nn.input_width,
        nn.output_width,
    ],
)
@pytest.mark.parametrize(
    ("model", "got"),
    [
        (None, "NoneType None"),
        (nn.Linear, "type <class 'chainrule.nn.linear.Linear'>"),
        ("model.safetensors", "str 'model.safetensors'"),
    ],
)
def test_a_model_that_is_no_module_is_refused(helper, model, got):
    # they answered for anything: output_layer(None) == "linear", input_width(None) is None
    expected = (
        f"{helper.__name__}: model expected a chainrule.nn.Module (or a callable wrapping "
        f"one), got {got}"
    )
    with pytest.raises(TypeError) as info:
        helper(model)
    assert str(info.value) == expected


def test_a_plain_callable_has_no_layers_to_read():
    def plain(x):  # a callable wrapping a network, without named_modules
        return x

    assert nn.inspect.modules(plain) == []
    assert nn.output_layer(plain) == "linear" and not nn.ends_in_probabilities(plain)
    assert nn.input_width(plain) is None and nn.output_width(plain) is None


def test_a_model_without_layers_to_read():
    activation_only = nn.Sequential(nn.ReLU())
    assert nn.input_width(activation_only) is None
    assert nn.output_width(activation_only) is None


def test_a_layer_used_twice_is_read_where_it_runs_last():
    # named_modules lists a shared layer once, under its first place: a model ending in a
    # reused Sigmoid read as ending in a Linear, and fit thresholded its outputs as logits
    act = nn.Sigmoid()
    model = nn.Sequential(nn.Linear(2, 4, rng=0), act, nn.Linear(4, 1, rng=1), act)
    assert nn.output_layer(model) == "sigmoid" and nn.ends_in_probabilities(model)
    a, b = nn.Linear(3, 4, rng=0), nn.Linear(4, 3, rng=1)
    assert nn.output_width(nn.Sequential(a, nn.ReLU(), b, nn.ReLU(), a)) == 4


def test_a_module_holding_its_ancestor_is_walked_once():
    class Box(nn.Module):
        pass

    outer, inner = Box(), Box()
    outer.register_module("first", nn.Linear(2, 2, rng=0))
    outer.register_module("inner", inner)
    inner.register_module("up", outer)
    assert [type(m).__name__ for m in nn.inspect.modules(outer)] == ["Box", "Linear", "Box"]
