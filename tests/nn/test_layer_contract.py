"""One contract for every layer: shape, parameter count, config and state round trips,
bit-identical rebuilds, and a float64 gradient check of the input and every parameter."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

F64 = "float64"

# name -> (factory, input shape, output shape, number of parameters)
LAYERS = {
    "linear": (lambda: nn.Linear(5, 3, rng=0, dtype=F64), (4, 5), (4, 3), 18),
    "linear_nobias": (lambda: nn.Linear(5, 3, bias=False, rng=1, dtype=F64), (4, 5), (4, 3), 15),
    "sigmoid": (nn.Sigmoid, (4, 5), (4, 5), 0),
    "tanh": (nn.Tanh, (4, 5), (4, 5), 0),
    "relu": (nn.ReLU, (4, 5), (4, 5), 0),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), (4, 5), (4, 5), 0),
    "softmax": (nn.Softmax, (4, 5), (4, 5), 0),
    "log_softmax": (nn.LogSoftmax, (4, 5), (4, 5), 0),
    "identity": (nn.Identity, (4, 5), (4, 5), 0),
    "dropout": (lambda: nn.Dropout(0.6, rng=3), (4, 5), (4, 5), 0),
    "batchnorm": (lambda: nn.BatchNorm1d(5, dtype=F64), (6, 5), (6, 5), 10),
    "sequential": (
        lambda: nn.Sequential(
            nn.Linear(5, 4, rng=0, dtype=F64), nn.Tanh(), nn.Linear(4, 2, rng=1, dtype=F64)
        ),
        (3, 5),
        (3, 2),
        5 * 4 + 4 + 4 * 2 + 2,
    ),
    "mlp": (
        lambda: nn.MLP([5, 4, 3], activation="tanh", dropout=0.8, batch_norm=True, dtype=F64),
        (6, 5),
        (6, 3),
        5 * 4 + 2 * 4 + 4 * 3 + 3,
    ),
    "mlp_softmax": (
        lambda: nn.MLP([5, 4, 3], activation="sigmoid", output="softmax", seed=7, dtype=F64),
        (2, 5),
        (2, 3),
        5 * 4 + 4 + 4 * 3 + 3,
    ),
}


def _input(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _perturb(layer: nn.Module) -> None:
    """Move every parameter and buffer off its initial value (so round trips mean something)."""
    rng = np.random.default_rng(42)
    state = {
        k: v + rng.uniform(0.1, 0.5, v.shape).astype(v.dtype) for k, v in layer.state_dict().items()
    }
    layer.load_state_dict(state)


@pytest.fixture(params=sorted(LAYERS))
def case(request):
    return LAYERS[request.param]


def test_output_shape_and_parameter_count(case):
    factory, in_shape, out_shape, count = case
    layer = factory()
    out = layer(cr.tensor(_input(in_shape)))
    assert out.shape == out_shape
    assert out.dtype == np.float64
    assert layer.num_parameters() == count
    assert sum(p.size for p in layer.parameters()) == count


def test_config_is_json_and_rebuilds_bit_identical_outputs(case):
    factory, in_shape, _, _ = case
    layer = factory()
    _perturb(layer)
    config = json.loads(json.dumps(layer.get_config()))
    clone = nn.from_config(config)
    assert clone.get_config() == layer.get_config()
    clone.load_state_dict(layer.state_dict())
    x = _input(in_shape)
    for mode in ("eval", "train"):
        getattr(layer, mode)()
        getattr(clone, mode)()
        # Dropout masks: a checkpoint restores the generators' states.
        for (_, g), (_, h) in zip(layer.named_generators(), clone.named_generators(), strict=True):
            h.bit_generator.state = g.bit_generator.state
        np.testing.assert_array_equal(clone(x).data, layer(x).data)


def test_state_dict_round_trip(case):
    factory, _, _, _ = case
    source, target = factory(), factory()
    _perturb(source)
    state = source.state_dict()
    target.load_state_dict(state)
    restored = target.state_dict()
    assert list(restored) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(restored[name], value)
        assert restored[name].dtype == value.dtype


def test_gradcheck_input_and_parameters(case):
    factory, in_shape, _, _ = case
    layer = factory()
    _perturb(layer)
    x = cr.tensor(_input(in_shape, seed=1), requires_grad=True)
    states = [g.bit_generator.state for _, g in layer.named_generators()]

    def f(x, *params):
        # A fixed mask: every evaluation starts the dropout generators from the same state.
        for (_, g), state in zip(layer.named_generators(), states, strict=True):
            g.bit_generator.state = state
        return layer(x)

    result = cr.gradcheck(f, x, *layer.parameters())
    assert result, str(result)


@pytest.mark.parametrize(
    ("layer", "x"),
    [
        (lambda: nn.Linear(2, 3, rng=0), [[1.0, 2.0]]),
        (lambda: nn.BatchNorm1d(2), [[1.0, 2.0], [3.0, 5.0]]),
        (nn.Tanh, [[1.0, -2.0]]),
    ],
    ids=["linear", "batchnorm", "tanh"],
)
def test_layers_take_nested_lists_like_the_ops_do(layer, x):
    expected = layer()(cr.tensor(np.array(x, np.float32))).data
    np.testing.assert_array_equal(layer()(x).data, expected)


@pytest.mark.parametrize(
    ("layer", "x"),
    [
        (lambda: nn.Linear(2, 3, rng=0, dtype="float64"), [[0.1, 2.0]]),
        (lambda: nn.BatchNorm1d(2, dtype="float64"), [[0.1, 2.0], [3.0, 5.0]]),
        (lambda: nn.MLP([2, 3, 2], seed=0, dtype="float64"), [[0.1, 2.0]]),
        (lambda: lambda x: cr.linear(x, cr.tensor(np.ones((2, 3)))), [[0.1, 2.0]]),
    ],
    ids=["linear", "batchnorm", "mlp", "op"],
)
def test_a_list_takes_a_float64_layers_dtype(layer, x):
    # a list became float32 and was refused: "input is float32 but W is float64"
    out = layer()(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.data, layer()(np.array(x)).data)
