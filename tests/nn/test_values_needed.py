"""``values_needed``: the count of parameter and buffer values a layer config builds, read
from the config alone, agrees with what the constructor allocates, for every registered
layer."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.registry import layers_needed, values_needed

# registered type name -> layers of that type, built in several ways
BUILT = {
    "Linear": [
        lambda: nn.Linear(5, 3, rng=0),
        lambda: nn.Linear(5, 3, bias=False, rng=0),
        lambda: nn.Linear(1, 1, rng=0, dtype="float64"),
    ],
    "Sigmoid": [nn.Sigmoid],
    "Tanh": [nn.Tanh],
    "ReLU": [nn.ReLU],
    "LeakyReLU": [lambda: nn.LeakyReLU(0.2)],
    "Softmax": [nn.Softmax, lambda: nn.Softmax(axis=0)],
    "LogSoftmax": [nn.LogSoftmax],
    "Identity": [nn.Identity],
    "Dropout": [lambda: nn.Dropout(0.7, rng=0), lambda: nn.Dropout(1.0, rng=0)],
    "BatchNorm1d": [lambda: nn.BatchNorm1d(1), lambda: nn.BatchNorm1d(7, dtype="float64")],
    "Sequential": [
        nn.Sequential,
        lambda: nn.Sequential(nn.Linear(4, 6, rng=0), nn.BatchNorm1d(6), nn.ReLU()),
        lambda: nn.Sequential(
            nn.Sequential(nn.Linear(4, 6, bias=False, rng=0), nn.Dropout(0.5, rng=1)),
            nn.Tanh(),
            nn.Sequential(nn.Sequential(nn.Linear(6, 2, rng=2)), nn.BatchNorm1d(2)),
        ),
    ],
    "MLP": [
        lambda: nn.MLP([4, 3], seed=0),
        lambda: nn.MLP([4, 8, 6, 3], activation="tanh", output="softmax", seed=0),
        lambda: nn.MLP([4, 8, 6, 3], dropout=[0.5, 0.9], batch_norm=True, seed=0),
        lambda: nn.MLP([4, 5, 1], output="sigmoid", batch_norm=True, dtype="float64"),
    ],
}

CASES = [
    pytest.param(make, id=f"{name}-{i}")
    for name, makers in BUILT.items()
    for i, make in enumerate(makers)
]


def test_every_registered_layer_has_cases():
    assert sorted(BUILT) == sorted(nn.LAYERS)


@pytest.mark.parametrize("make", CASES)
def test_the_count_from_the_config_is_what_the_constructor_allocates(make):
    layer = make()
    config = layer.get_config()
    built = sum(value.size for value in layer.state_dict().values())
    assert values_needed(config) == built
    assert type(layer).values_needed(config) == built
    assert sum(value.size for value in nn.from_config(config).state_dict().values()) == built


def test_a_module_that_does_not_say_gives_none():
    assert nn.Module.values_needed({"type": "Module"}) is None


def test_sizes_are_counted_without_allocating():
    # 10**12 weights: building them would not fit in memory
    config = nn.Linear(2, 3, rng=0).get_config() | {"in_features": 10**6, "out_features": 10**6}
    assert values_needed(config) == 10**12 + 10**6
    mlp = {"type": "MLP", "sizes": [10**6, 10**6, 2], "batch_norm": True}
    assert values_needed(mlp) == 10**12 + 4 * 10**6 + 2 * 10**6 + 2
    assert values_needed({"type": "Sequential", "layers": [config, mlp]}) == (
        values_needed(config) + values_needed(mlp)
    )


def test_numpy_integer_sizes_are_counted_as_the_constructors_take_them():
    config = {"type": "Linear", "in_features": np.int64(5), "out_features": np.int32(3)}
    assert values_needed(config) == 18 == nn.from_config(config).num_parameters()
    mlp = {"type": "MLP", "sizes": (np.int64(4), 3), "batch_norm": np.bool_(False)}
    assert values_needed(mlp) == 15


@pytest.mark.parametrize(
    "config",
    [
        None,
        "Linear",
        [{"type": "Linear", "in_features": 2, "out_features": 3}],
        {},
        {"type": "os.system"},
        {"type": ["Linear"]},
        {"type": "Module"},
        {"type": "Linear", "in_features": 2},
        {"type": "Linear", "in_features": 0, "out_features": 3},
        {"type": "Linear", "in_features": 2.0, "out_features": 3},
        {"type": "Linear", "in_features": True, "out_features": 3},
        {"type": "BatchNorm1d"},
        {"type": "BatchNorm1d", "num_features": -4},
        {"type": "Sequential"},
        {"type": "Sequential", "layers": {"0": {"type": "ReLU"}}},
        {"type": "Sequential", "layers": [{"type": "ReLU"}, {"type": "Linear"}]},
        {"type": "Sequential", "layers": [{"type": "Sequential", "layers": ["ReLU"]}]},
        {"type": "MLP"},
        {"type": "MLP", "sizes": [4]},
        {"type": "MLP", "sizes": [4, "8", 3]},
        {"type": "MLP", "sizes": "43"},
        {"type": "MLP", "sizes": [4, 8, 3], "batch_norm": "yes"},
    ],
)
def test_a_config_without_countable_sizes_gives_none_and_is_refused_by_from_config(config):
    assert values_needed(config) is None
    with pytest.raises((ValueError, TypeError)):
        nn.from_config(config)


HUGE = {"type": "Linear", "in_features": 10**6, "out_features": 10**6}  # 4 TB of float32

#: Layer configs that from_config refuses, and values_needed cannot count.
MALFORMED = {
    "not-a-dict": "ReLU",
    "unknown-type": {"type": "Conv2d"},
    "linear-missing-size": {"type": "Linear", "in_features": 2},
    "linear-str-size": {"type": "Linear", "in_features": "2", "out_features": 3},
    "batch-norm-negative": {"type": "BatchNorm1d", "num_features": -1},
    "mlp-one-size": {"type": "MLP", "sizes": [4]},
    "nested": {"type": "Sequential", "layers": [{"type": "ReLU"}, {"type": "Linear"}]},
}


@pytest.mark.parametrize("layer", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_sequential_refuses_a_malformed_layer_before_building_the_ones_before_it(
    no_huge_linear, layer
):
    # it built its layers in order: the huge Linear was allocated before the malformed
    # layer after it was refused (its None count skipped io.load's size check)
    config = {"type": "Sequential", "layers": [{"type": "ReLU"}, HUGE, layer]}
    assert values_needed(config) is None
    with pytest.raises((ValueError, TypeError)):
        nn.from_config(config, rng=0)


class _Scale(nn.Module):
    """A layer a user registers, whose class does not count its values (no state)."""

    def forward(self, x):
        return x * 2.0

    def get_config(self):
        return {"type": "_Scale"}


def test_a_registered_layer_that_does_not_count_is_built_in_its_turn(monkeypatch):
    monkeypatch.setitem(nn.LAYERS, "_Scale", _Scale)
    config = nn.Sequential(nn.Linear(2, 3, rng=0), _Scale()).get_config()
    assert values_needed(config) is None
    net = nn.from_config(config, rng=0)
    assert [type(layer) for layer in net] == [nn.Linear, _Scale]
    reference = nn.from_config(config["layers"][0], rng=0)  # the first draws of seed 0
    np.testing.assert_array_equal(net[0].weight.data, reference.weight.data)


def test_a_nested_sequential_holding_a_layer_that_does_not_count_is_built_once(monkeypatch):
    built = []

    class Counted(_Scale):
        def __init__(self):
            super().__init__()
            built.append(self)

        def get_config(self):
            return {"type": "Counted"}

    monkeypatch.setitem(nn.LAYERS, "Counted", Counted)
    inner = {"type": "Sequential", "layers": [{"type": "Counted"}, {"type": "ReLU"}]}
    config = {"type": "Sequential", "layers": [{"type": "ReLU"}, inner]}
    assert values_needed(config) is None  # uncountable, yet well formed: checked, not built
    net = nn.from_config(config, rng=0)
    assert built == [net[1][0]]


@pytest.mark.parametrize("make", CASES)
def test_the_layer_count_from_the_config_is_what_the_constructor_builds(make):
    layer = make()
    config = layer.get_config()
    built = len(list(layer.named_modules()))
    assert layers_needed(config) == built == type(layer).layers_needed(config)
    assert len(list(nn.from_config(config).named_modules())) == built


def test_layers_are_counted_without_building():
    n = 10**5
    mlp = {"type": "MLP", "sizes": [1] * n, "dropout": 0.5, "batch_norm": np.bool_(True)}
    assert layers_needed(mlp) == 2 + (n - 1) + (n - 2) * 3
    relus = {"type": "Sequential", "layers": [{"type": "ReLU"}] * n}
    assert layers_needed({"type": "Sequential", "layers": [relus, mlp]}) == (
        1 + 1 + n + layers_needed(mlp)
    )


@pytest.mark.parametrize(
    "config",
    [
        None,
        {"type": "os.system"},
        {"type": "Sequential"},
        {"type": "Sequential", "layers": [{"type": "ReLU"}, {"type": "Conv2d"}]},
        {"type": "MLP"},
        {"type": "MLP", "sizes": [4]},
        {"type": "MLP", "sizes": "43"},
    ],
)
def test_a_config_whose_layers_cannot_be_counted_gives_none_and_is_refused(config):
    assert layers_needed(config) is None
    with pytest.raises((ValueError, TypeError)):
        nn.from_config(config)
