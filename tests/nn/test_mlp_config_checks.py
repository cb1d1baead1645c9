"""What MLP and the layers refuse in their arguments and configs, before building: sizes
that are not a list or tuple (a set reordered the layers, a tensor escaped io.load's size
bounds), ``dtype=None`` (NumPy reads it as float64), a config of another ``"type"``, and
unknown activation and output names (with the closest valid name)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import layers_needed, values_needed


@pytest.fixture
def no_linear(monkeypatch):
    """Fail the test when any Linear is built."""

    @functools.wraps(nn.Linear.__init__)  # the signature from_config binds a config against
    def refuse(self, *args, **kwargs):
        raise AssertionError("a Linear was built")

    monkeypatch.setattr(nn.Linear, "__init__", refuse)


NOT_A_LIST = {
    "ndarray": np.array([3, 4, 2]),
    "set": {784, 30, 10},
    "dict": {3: "a", 4: "b", 2: "c"},
    "range": range(3, 1, -1),
    "generator": (n for n in [3, 4, 2]),
}


@pytest.mark.parametrize("sizes", NOT_A_LIST.values(), ids=NOT_A_LIST.keys())
def test_mlp_refuses_sizes_that_are_not_a_list_or_tuple_before_building(no_linear, sizes):
    # a set was built in its iteration order ({784, 30, 10} as [784, 10, 30]), an array
    # built in full though values_needed could not count it
    with pytest.raises(
        TypeError,
        match=rf"^MLP: expected sizes as a list of at least two positive ints \(or a tuple\), "
        rf"got {type(sizes).__name__} ",
    ):
        nn.MLP(sizes)


def test_a_tuple_of_sizes_builds_as_the_list_does():
    assert nn.MLP((3, 4, 2), seed=0).get_config() == nn.MLP([3, 4, 2], seed=0).get_config()


@pytest.mark.parametrize("sizes", [np.array([3, 4, 2]), {3, 4, 2}, range(3, 1, -1)])
def test_an_mlp_config_that_cannot_be_counted_is_refused_before_building(no_linear, sizes):
    # the Module.values_needed contract: None means from_config refuses before allocating
    config = {"type": "MLP", "sizes": sizes}
    assert values_needed(config) is None and layers_needed(config) is None
    with pytest.raises(TypeError, match=r"^MLP: expected sizes as a list .*\(or a tuple\)"):
        nn.from_config(config)
    with pytest.raises(TypeError, match=r"^MLP: expected sizes as a list .*\(or a tuple\)"):
        nn.from_config({"type": "Sequential", "layers": [{"type": "ReLU"}, config]})


def test_the_config_of_every_mlp_built_is_counted():
    for sizes in ([3, 4, 2], (np.int64(3), 4, np.int32(2))):
        for batch_norm in (False, True, np.bool_(True)):
            config = {"type": "MLP", "sizes": sizes, "batch_norm": batch_norm, "dropout": 0.5}
            model = nn.from_config(config)
            assert values_needed(config) == sum(v.size for v in model.state_dict().values())
            assert layers_needed(config) == len(list(model.named_modules()))


DTYPE_OWNERS = {
    "MLP": lambda: nn.MLP([3, 4, 2], dtype=None),
    "Linear": lambda: nn.Linear(3, 2, rng=0, dtype=None),
    "BatchNorm1d": lambda: nn.BatchNorm1d(3, dtype=None),
    "normal": lambda: cr.init.normal((2, 2), rng=0, dtype=None),
    "zeros": lambda: cr.init.zeros((2, 2), dtype=None),
    "he_normal": lambda: cr.init.he_normal((2, 2), rng=0, dtype=None),
}


@pytest.mark.parametrize("build", DTYPE_OWNERS.values(), ids=DTYPE_OWNERS.keys())
def test_dtype_none_is_refused_not_read_as_float64(build, request):
    # np.dtype(None) is float64: the layers were float64, against their float32 default
    owner = request.node.callspec.id
    with pytest.raises(
        ValueError, match=rf"^{owner}: dtype expected float32 or float64, got None$"
    ):
        build()


def test_a_tensor_still_infers_its_dtype_from_dtype_none():
    assert cr.tensor([1.0], dtype=None).dtype == np.float32
    assert cr.tensor(np.zeros(2), dtype=None).dtype == np.float64


def test_astype_none_is_refused_not_read_as_float64():
    with pytest.raises(ValueError, match=r"^unknown dtype None: expected one of float32"):
        cr.tensor([1.0]).astype(None)


CONFIGS_OF_ANOTHER_TYPE = [
    (nn.Softmax, {"type": "LogSoftmax", "axis": -1}),
    (nn.ReLU, {"type": "Sigmoid"}),
    (nn.LeakyReLU, {"type": "ReLU"}),
    (nn.Linear, {"type": "Dropout", "in_features": 2, "out_features": 3}),
    (nn.MLP, {"type": "Sequential", "sizes": [3, 2]}),
    (nn.Sequential, {"type": "MLP", "layers": []}),
    (nn.ReLU, {"type": ["ReLU"]}),
]


@pytest.mark.parametrize(
    ("cls", "config"), CONFIGS_OF_ANOTHER_TYPE, ids=[c.__name__ for c, _ in CONFIGS_OF_ANOTHER_TYPE]
)
def test_from_config_refuses_a_config_of_another_type(cls, config):
    # Softmax.from_config built a Softmax of a LogSoftmax's config
    name = cls.__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}\.from_config: expected a config of type '{name}', got type "
        rf"{config['type']!r}".replace("[", r"\["),
    ):
        cls.from_config(config)


def test_from_config_builds_a_config_of_its_own_type():
    assert type(nn.LogSoftmax.from_config({"type": "LogSoftmax", "axis": 0})) is nn.LogSoftmax
    assert nn.Sequential.from_config({"type": "Sequential", "layers": []}).get_config() == {
        "type": "Sequential",
        "layers": [],
    }


def test_unknown_mlp_activation_and_output_name_mlp_and_the_closest_name():
    with pytest.raises(
        ValueError,
        match=r"^MLP: unknown activation 'rleu'; expected one of sigmoid, .*; "
        r"did you mean 'relu'\?$",
    ):
        nn.MLP([3, 4, 2], activation="rleu")
    with pytest.raises(
        ValueError,
        match=r"^MLP: unknown output 'sigmod'; expected one of .*; did you mean 'sigmoid'\?$",
    ):
        nn.MLP([3, 4, 2], output="sigmod")


def test_get_activation_suggests_the_closest_name():
    with pytest.raises(
        ValueError,
        match=r"^get_activation: unknown activation 'tahn'; expected one of .*; "
        r"did you mean 'tanh'\?$",
    ):
        nn.get_activation("tahn")
