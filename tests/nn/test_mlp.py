"""Linear, the activation layers and the MLP builder: structure, seeds, speed contract."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn
from chainrule.autodiff import toposort
from chainrule.autodiff.ops_nn import FUSED_ACTIVATIONS


def _types(net: nn.MLP) -> list[str]:
    return [type(layer).__name__ for layer in net.layers]


def test_linear_computes_x_w_plus_b_with_zero_bias():
    layer = nn.Linear(3, 2, init="he_normal", rng=0)
    assert layer.weight.shape == (3, 2) and layer.weight.dtype == np.float32
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data, rtol=1e-6)


def test_linear_rejects_a_wrong_feature_count():
    with pytest.raises(
        ValueError, match=r"Linear\(784 -> 30\) expected input with 784 features, got 100"
    ):
        nn.Linear(784, 30)(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="in_features expected an integer >= 1, got 0"):
        nn.Linear(0, 3)


def test_layer_sizes_and_axes_are_integers_of_any_kind():
    assert nn.Linear(np.int64(4), np.int32(3)).get_config()["in_features"] == 4
    assert type(nn.BatchNorm1d(np.int64(4)).num_features) is int
    with pytest.raises(TypeError, match="num_features expected an integer >= 1, got float"):
        nn.BatchNorm1d(4.0)
    with pytest.raises(TypeError, match=r"Softmax: axis expected an integer, got float -0.5"):
        nn.Softmax(axis=-0.5)  # int() made it 0: a softmax over the batch
    with pytest.raises(TypeError, match="LogSoftmax: axis expected an integer, got str"):
        nn.LogSoftmax(axis="1")


def test_activation_layers_by_name():
    assert type(nn.get_activation("tanh")) is nn.Tanh
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*sigmoid.*relu.*leaky_relu"):
        nn.get_activation("swish")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 3, 1], activation="swish")
    leaky = nn.from_config(nn.LeakyReLU(0.2).get_config())
    np.testing.assert_allclose(leaky(np.array([-1.0, 2.0])).data, [-0.2, 2.0])


def test_nielsens_network():
    net = nn.MLP([784, 30, 10], activation="sigmoid", output="sigmoid")
    assert _types(net) == ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    assert net.num_parameters() == 784 * 30 + 30 + 30 * 10 + 10
    assert (net.in_features, net.out_features) == (784, 10)
    out = net(np.zeros((2, 784), np.float32))
    assert out.shape == (2, 10) and np.all((out.data > 0) & (out.data < 1))


def test_nielsens_network_learns_with_the_quadratic_cost():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    net = nn.MLP([6, 8, 2], activation="sigmoid", output="sigmoid", seed=0)
    costs = []
    for _ in range(300):
        net.zero_grad()
        cost = losses.quadratic(net(x), y)
        cost.backward()
        with cr.no_grad():
            for p in net.parameters():
                p.data -= 3.0 * p.grad
        costs.append(cost.item())
    assert costs[-1] < 0.25 * costs[0]


def test_layer_order_with_batch_norm_and_dropout():
    net = nn.MLP(
        [4, 8, 6, 3], activation="tanh", output="softmax", dropout=[0.5, 1.0], batch_norm=True
    )
    assert _types(net) == [
        "Linear", "BatchNorm1d", "Tanh", "Dropout",
        "Linear", "BatchNorm1d", "Tanh",
        "Linear", "Softmax",
    ]  # fmt: skip
    assert net.layers[0].bias is None and net.layers[7].bias is not None


def test_default_initializer_follows_the_activation():
    assert nn.MLP([3, 4, 2]).get_config()["init"] == "he_normal"
    assert nn.MLP([3, 4, 2], activation="leaky_relu").get_config()["init"] == "he_normal"
    assert nn.MLP([3, 4, 2], activation="tanh").get_config()["init"] == "xavier_normal"
    assert nn.MLP([3, 4, 2], activation="sigmoid").get_config()["init"] == "xavier_normal"
    assert nn.MLP([3, 4, 2], init="lecun_normal").layers[0].get_config()["init"] == "lecun_normal"


def test_one_seed_gives_bit_identical_models_and_masks():
    x = np.ones((16, 5), np.float32)
    a = nn.MLP([5, 7, 7, 2], dropout=0.5, seed=3)
    b = nn.MLP([5, 7, 7, 2], dropout=0.5, seed=3)
    c = nn.MLP([5, 7, 7, 2], dropout=0.5, seed=4)
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[name], value)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(c.state_dict()["layers.0.weight"], a.state_dict()["layers.0.weight"])


def test_dropout_does_not_change_the_initial_weights():
    plain = nn.MLP([5, 7, 2], seed=3).state_dict()
    dropped = nn.MLP([5, 7, 2], dropout=0.5, seed=3).state_dict()
    np.testing.assert_array_equal(plain["layers.0.weight"], dropped["layers.0.weight"])
    np.testing.assert_array_equal(plain["layers.2.weight"], dropped["layers.3.weight"])


def test_hidden_layers_cost_one_graph_node_each():
    net = nn.MLP([4, 8, 8, 3], seed=0)
    out = net(np.ones((2, 4), np.float32))
    n_params = len(net.parameters())
    # 2 linear+relu nodes and the output linear, plus the parameters (the input needs no
    # gradient)
    nodes = toposort(out)
    assert len(nodes) == n_params + 3
    assert [n._op for n in nodes if n._vjp] == ["linear+relu", "linear+relu", "linear"]


def test_float32_model_stays_float32_in_forward_and_backward():
    net = nn.MLP([4, 8, 3], dropout=0.8, batch_norm=True, seed=0)
    out = net(np.ones((5, 4), np.float32))
    losses.cross_entropy(out, np.array([0, 1, 2, 0, 1])).backward()
    assert out.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    assert all(b.dtype == np.float32 for _, b in net.named_buffers())


def test_bad_mlp_arguments_raise():
    with pytest.raises(ValueError, match="two positive int sizes"):
        nn.MLP([784])
    for sizes in (5, "784"):  # 5 was "'int' object is not iterable"
        with pytest.raises(TypeError, match=r"^MLP: expected sizes as a list of at least two"):
            nn.MLP(sizes)
    # ['float32'] was "unhashable type: 'list'"
    with pytest.raises(
        ValueError, match=r"^MLP: dtype expected float32 or float64, got \['float32'\]"
    ):
        nn.MLP([3, 2], dtype=["float32"])
    with pytest.raises(ValueError, match=r"unknown output 'relu'.*sigmoid"):
        nn.MLP([3, 2], output="relu")
    with pytest.raises(ValueError, match=r"one keep_prob per hidden layer \(2\), got 1"):
        nn.MLP([3, 4, 4, 2], dropout=[0.5])
    with pytest.raises(ValueError, match=r"dropout expected a finite number in \(0, 1\]"):
        nn.MLP([3, 4, 2], dropout=0.0)
    with pytest.raises(TypeError, match=r"dropout expected a real number in \(0, 1\], got bool"):
        nn.MLP([3, 4, 2], dropout=True)
    with pytest.raises(ValueError, match="unknown initializer 'orthogonal'"):
        nn.MLP([3, 4, 2], init="orthogonal")
    with pytest.raises(ValueError, match=r"expected an init dict with a 'name' key, got \{'std'"):
        nn.MLP([3, 4, 2], init={"std": 0.1})
    with pytest.raises(TypeError, match=r"expected activation to be a name, got \['relu'\]"):
        nn.MLP([3, 4, 2], activation=["relu"])
    with pytest.raises(TypeError, match="batch_norm expected True or False, got 'no'"):
        nn.MLP([3, 4, 2], batch_norm="no")
    with pytest.raises(TypeError, match=r"dropout expected a real number in \(0, 1\], got str"):
        nn.MLP([3, 2], dropout="half")  # no hidden layer to drop from, but still checked
    with pytest.raises(ValueError, match="seed expected an integer >= 0, got -1"):
        nn.MLP([3, 4, 2], seed=-1)
    with pytest.raises(TypeError, match="seed expected an integer >= 0, got float 1.0"):
        nn.MLP([3, 4, 2], seed=1.0)


def test_config_is_json_data_whatever_numeric_types_it_was_given():
    # a seed from rng.integers is a NumPy int, which json.dumps refuses
    net = nn.MLP(
        [3, 4, 4, 2],
        dropout=(np.float32(0.5), 1),
        init={"name": "normal", "std": np.float32(0.25)},
        seed=np.int64(3),
    )
    config = json.loads(json.dumps(net.get_config()))
    assert (config["seed"], config["dropout"], config["init"]["std"]) == (3, [0.5, 1.0], 0.25)
    rebuilt = nn.from_config(config).state_dict()
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, rebuilt[name], err_msg=name)


def test_an_init_parameter_of_another_real_type_is_kept_as_a_float():
    # a Fraction stayed in the config: the model trained, and its first save failed
    for layer in (
        nn.MLP([3, 4, 2], init={"name": "normal", "std": Fraction(1, 2)}, seed=0),
        nn.Linear(3, 2, init={"name": "constant", "value": Fraction(1, 10)}),
    ):
        spec = layer.get_config()["init"]
        assert json.loads(json.dumps(spec)) == spec
        assert type(spec[next(k for k in spec if k != "name")]) is float


@pytest.mark.parametrize(
    ("alpha", "error", "got"),
    [(1.0, ValueError, "finite number in \\[0, 1\\), got 1.0"), ("0.1", TypeError, "got str")],
)
def test_leaky_relu_slope_is_checked(alpha, error, got):
    with pytest.raises(error, match=rf"^LeakyReLU: alpha expected a .*{got}"):
        nn.LeakyReLU(alpha)


def test_sequential_fuses_exactly_linear_then_relu_sigmoid_or_tanh():
    class MyLinear(nn.Linear):
        pass

    layers = [
        nn.Linear(3, 4, rng=0),
        nn.Sigmoid(),
        nn.Linear(4, 4, rng=1),
        nn.Dropout(0.5, np.random.default_rng(0)),
        nn.Linear(4, 4, rng=2),
        nn.Tanh(),
        MyLinear(4, 4, rng=3),
        nn.ReLU(),
        nn.Linear(4, 2, rng=4),
        nn.LeakyReLU(),
    ]
    net = nn.Sequential(*layers)
    out = net(np.ones((2, 3), np.float32))
    ops = [n._op for n in toposort(out) if n._vjp]
    assert ops == [
        "linear+sigmoid",
        "linear",
        "dropout",
        "linear+tanh",
        "linear",
        "relu",
        "linear",
        "leaky_relu",
    ]
    assert len(net.get_config()["layers"]) == len(layers)  # the layers stay as built
    assert list(net.state_dict()) == [
        f"{i}.{p}" for i in (0, 2, 4, 6, 8) for p in ("weight", "bias")
    ]


@pytest.mark.parametrize("activation", list(FUSED_ACTIVATIONS))
def test_sequential_fuses_every_activation_linear_can_apply(activation):
    net = nn.Sequential(nn.Linear(3, 2, rng=0), nn.get_activation(activation))
    out = net(np.ones((2, 3), np.float32))
    assert [n._op for n in toposort(out) if n._vjp] == [f"linear+{activation}"]


def test_sequential_calls_each_layers_current_forward():
    # a forward set on an instance after construction (a user's tracing wrapper, a hook
    # recording activations) runs the pair unfused: the wrapper of the activation, which
    # the fused node skipped, and a one-argument wrapper of the Linear, called with two
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    net = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU())
    expected = net(x).data
    calls = []
    linear, relu = net[0].forward, net[1].forward

    def traced_linear(z):
        calls.append("linear")
        return linear(z)

    def traced_relu(z):
        calls.append("relu")
        return relu(z)

    net[0].forward = traced_linear
    out = net(x)
    assert calls == ["linear"]
    np.testing.assert_array_equal(out.data, expected)
    assert [n._op for n in toposort(out) if n._vjp] == ["linear", "relu"]
    net[1].forward = traced_relu
    calls.clear()
    np.testing.assert_array_equal(net(x).data, expected)
    assert calls == ["linear", "relu"]
    del net[0].forward  # only the activation's wrapper left: still honoured
    calls.clear()
    np.testing.assert_array_equal(net(x).data, expected)
    assert calls == ["relu"]
    del net[1].forward  # none left: fused again
    assert [n._op for n in toposort(net(x)) if n._vjp] == ["linear+relu"]
    assert all(p.grad is None for p in net.parameters())


def test_append_adds_the_next_layer_to_everything_a_sequential_does():
    x = np.ones((2, 3), np.float32)
    net = nn.Sequential(nn.Linear(3, 3, rng=1))
    last = nn.Linear(3, 5, rng=2)
    assert net.append(nn.ReLU()) is net
    net.append(last)
    out = net(x)
    assert out.shape == (2, 5)
    assert [n._op for n in toposort(out) if n._vjp] == ["linear+relu", "linear"]
    assert len(net) == 3 and list(net)[2] is last and net[2] is last
    assert [c["type"] for c in net.get_config()["layers"]] == ["Linear", "ReLU", "Linear"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    rebuilt = nn.from_config(net.get_config())
    rebuilt.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(rebuilt(x).data, out.data)


def test_a_sequential_takes_layers_only_through_append():
    net = nn.Sequential(nn.Linear(3, 3, rng=1))
    with pytest.raises(ValueError, match=r"^Sequential.register_module: .*append"):
        net.register_module("1", nn.ReLU())
    with pytest.raises(TypeError, match="^Sequential.append: expected a Module, got int 5$"):
        net.append(5)
    assert len(net) == 1 and list(net.state_dict()) == ["0.weight", "0.bias"]


def test_the_layers_of_an_mlp_refuse_append():
    # MLP's config rebuilds its layers: one appended would be lost by save and load
    net = nn.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"^Sequential.append: .*MLP.*nn.Sequential\(\*"):
        net.layers.append(nn.Softmax())
    assert len(net.layers) == 3
    assert len(nn.Sequential(*net.layers).append(nn.Softmax())) == 4


def test_a_slice_of_a_sequential_is_a_sequential_of_the_same_layers():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    net = nn.MLP([3, 5, 2], seed=0).layers
    body = net[:-1]
    assert isinstance(body, nn.Sequential) and len(body) == 2
    assert body[0] is net[0] and body[1] is net[1]
    np.testing.assert_array_equal(body(x).data, net[1](net[0](x)).data)
    np.testing.assert_array_equal(net[-1](body(x)).data, net(x).data)
    assert len(net[5:]) == 0
    net.eval()
    assert not net[:1].training


@pytest.mark.parametrize(
    ("index", "error", "says"),
    [
        ("0", TypeError, "Sequential: index expected an int or a slice, got str '0'"),
        (1.0, TypeError, "Sequential: index expected an int or a slice, got float 1.0"),
        (True, TypeError, "Sequential: index expected an int or a slice, got bool True"),
        (3, IndexError, "Sequential: index 3 is out of range for 3 layers"),
        (-4, IndexError, "Sequential: index -4 is out of range for 3 layers"),
    ],
)
def test_a_bad_sequential_index_is_refused_naming_sequential(index, error, says):
    net = nn.MLP([3, 5, 2], seed=0).layers
    with pytest.raises(error, match=f"^{re.escape(says)}$"):
        net[index]
    assert net[np.int64(-1)] is net[2]


def test_mlp_checks_keep_prob_against_its_dtype_when_built():
    with pytest.raises(ValueError, match=r"^MLP: keep_prob expected a number >= 2\*\*-24"):
        nn.MLP([3, 4, 2], dropout=1e-8)
    with pytest.raises(ValueError, match=r"^MLP: keep_prob expected a number >= 2\*\*-53"):
        nn.MLP([3, 4, 2], dropout=[1e-20], dtype="float64")
    assert nn.MLP([3, 4, 2], dropout=1e-8, dtype="float64").dropout == 1e-8


@pytest.mark.parametrize("options", [{"dropout": 0.5}, {"batch_norm": True}])
def test_an_mlp_without_a_hidden_layer_refuses_dropout_and_batch_norm(options):
    with pytest.raises(ValueError, match=r"^MLP: sizes \[3, 2\] have no hidden layer"):
        nn.MLP([3, 2], **options)
    for adds_nothing in (None, 1.0, []):  # as in an MLP with hidden layers: no layer
        assert len(nn.MLP([3, 2], dropout=adds_nothing).layers) == 1
