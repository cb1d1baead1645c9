"""Module mechanics: names and order, buffers, modes, state dicts, configs, repr."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _net() -> nn.MLP:
    return nn.MLP([4, 6, 5, 3], dropout=0.5, batch_norm=True, seed=0)


def test_named_parameters_are_dotted_and_in_definition_order():
    net = nn.MLP([4, 6, 3], seed=0)
    names = [name for name, _ in net.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    params = net.parameters()
    assert [p.shape for p in params] == [(4, 6), (6,), (6, 3), (3,)]
    assert all(p.requires_grad for p in params)


def test_buffers_are_kept_apart_from_parameters():
    net = _net()
    buffers = dict(net.named_buffers())
    assert list(buffers) == [
        "layers.1.running_mean",
        "layers.1.running_var",
        "layers.5.running_mean",
        "layers.5.running_var",
    ]
    param_names = {name for name, _ in net.named_parameters()}
    assert param_names.isdisjoint(buffers)
    assert "layers.1.gamma" in param_names and "layers.1.beta" in param_names
    assert set(net.state_dict()) == param_names | set(buffers)


def test_named_generators_lists_the_dropout_generators():
    names = [name for name, g in _net().named_generators()]
    assert names == ["layers.3.rng", "layers.7.rng"]


def test_train_and_eval_set_the_mode_recursively():
    net = _net()
    assert net.eval() is net
    assert all(not m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())


def test_state_dict_holds_copies():
    net = nn.Linear(3, 2, rng=0)
    state = net.state_dict()
    state["weight"][...] = 7.0
    assert not np.any(net.weight.data == 7.0)


def test_load_state_dict_copies_in_place_and_keeps_dtypes():
    net = nn.Linear(3, 2, rng=0)
    weight = net.weight
    state = {"weight": np.full((3, 2), 0.25), "bias": [1.0, 2.0]}  # float64 and a list
    net.load_state_dict(state)
    assert net.weight is weight
    assert weight.dtype == np.float32
    np.testing.assert_array_equal(weight.data, np.full((3, 2), 0.25, np.float32))
    np.testing.assert_array_equal(net.bias.data, [1.0, 2.0])


def assert_nothing_copied(net, before):
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_lists_missing_unexpected_and_misshaped_keys():
    net = nn.MLP([4, 6, 3], seed=0)
    state = net.state_dict()
    before = net.state_dict()
    del state["layers.0.bias"]
    state["layers.9.weight"] = np.zeros(3)
    state["layers.2.weight"] = np.zeros((3, 6))
    state["layers.0.weight"] = np.ones((4, 6))
    with pytest.raises(ValueError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing keys ['layers.0.bias']" in message
    assert "unexpected keys ['layers.9.weight']" in message
    assert "layers.2.weight (expected (6, 3), got (3, 6))" in message
    assert_nothing_copied(net, before)


def test_load_state_dict_checks_every_dtype_before_copying():
    net = nn.MLP([4, 6, 3], seed=0)
    before = net.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["layers.2.bias"] = state["layers.2.bias"].astype(np.complex64)  # the last key
    state["layers.0.weight"] = state["layers.0.weight"].astype(str)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "layers.2.bias (expected a dtype that casts to float32, got complex64)" in message
    assert "layers.0.weight (expected a dtype that casts to float32, got <U" in message
    assert_nothing_copied(net, before)


def test_load_state_dict_refuses_values_a_cast_would_overflow_before_copying():
    net = nn.MLP([4, 6, 3], seed=0)
    before = net.state_dict()
    state = {k: v.astype(np.float64) + 1 for k, v in before.items()}
    state["layers.2.bias"][1] = 1e300  # finite in float64, inf in float32
    state["layers.0.bias"][0] = np.inf  # already inf: no overflow, but refused as inf
    with pytest.raises(ValueError, match=r"overflowing keys \['layers.2.bias \(finite [^]]*\]$"):
        net.load_state_dict(state)
    assert_nothing_copied(net, before)
    state["layers.2.bias"][1] = 3.0
    with pytest.raises(ValueError, match=r"invalid keys \['layers.0.bias \(expected finite"):
        net.load_state_dict(state)
    state["layers.0.bias"][0] = 2.0
    net.load_state_dict(state)
    assert net.state_dict()["layers.2.bias"].dtype == np.float32


def test_load_state_dict_reads_every_value_before_writing_any():
    """Values may be the module's own tensors or views of them: swapping two weights, or
    a bias read from a weight that an earlier key overwrites."""
    net = nn.MLP([4, 4, 4], seed=0)
    first, second = net.layers[0], net.layers[2]
    w0, w2, b0 = first.weight.data.copy(), second.weight.data.copy(), first.bias.data.copy()
    net.load_state_dict(
        {
            "layers.0.weight": second.weight,  # the Tensor itself
            "layers.0.bias": first.bias.data,
            "layers.2.weight": first.weight.data,  # its array
            "layers.2.bias": first.weight.data[:, 0],  # a view of the weight written first
        }
    )
    np.testing.assert_array_equal(first.weight.data, w2)
    np.testing.assert_array_equal(second.weight.data, w0)
    np.testing.assert_array_equal(first.bias.data, b0)
    np.testing.assert_array_equal(second.bias.data, w0[:, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("key", "as_value"),
    [
        ("layers.0.weight", np.asarray),
        ("layers.3.bias", lambda a: a.astype(np.float64)),
        ("layers.1.beta", lambda a: a.tolist()),
        ("layers.1.running_mean", np.asarray),
    ],
    ids=["weight", "float64-bias", "list-beta", "running-mean"],
)
def test_load_state_dict_refuses_nan_and_inf_naming_the_key_before_copying(key, as_value, bad):
    # a NaN weight loaded silently, and the model then predicted NaN
    net = nn.MLP([3, 4, 2], batch_norm=True, seed=0)
    before = net.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state[key].flat[0] = bad
    state[key] = as_value(state[key])
    kind = "NaN" if np.isnan(bad) else "inf"
    size = before[key].size
    says = f"invalid keys ['{key} (expected finite values, got 1 {kind} among {size} values)']"
    with pytest.raises(ValueError, match=f"^load_state_dict into MLP: {re.escape(says)}$"):
        net.load_state_dict(state)
    assert_nothing_copied(net, before)


def test_load_state_dict_lists_every_refused_key_once():
    net = nn.MLP([3, 4, 2], batch_norm=True, seed=0)
    before = net.state_dict()
    state = net.state_dict()
    state["layers.0.weight"][0, :2] = [np.nan, np.inf]
    state["layers.1.running_var"][:] = -np.inf  # negative too: said once, as non-finite
    with pytest.raises(ValueError) as info:
        net.load_state_dict(state)
    assert str(info.value) == (
        "load_state_dict into MLP: invalid keys ['layers.0.weight (expected finite values, "
        "got 1 NaN and 1 inf among 12 values)', 'layers.1.running_var (expected finite "
        "values, got 4 inf among 4 values)']"
    )
    assert_nothing_copied(net, before)


class _Positive(nn.Module):
    """A layer whose weight must be positive, judged by its own state_problems."""

    def __init__(self):
        super().__init__()
        self.register_parameter("weight", cr.tensor(np.ones(2), requires_grad=True))

    def state_problems(self, state):
        problems = super().state_problems(state)
        if "weight" not in problems and (state["weight"] <= 0).any():
            problems["weight"] = "expected values > 0"
        return problems


def test_each_module_judges_its_own_entries_under_their_keys():
    net = nn.Sequential(nn.Linear(2, 2, rng=0), _Positive())
    assert net.invalid_state() == []
    state = net.state_dict()
    state["1.weight"] = np.array([1.0, 0.0])
    assert net.invalid_state(state) == ["1.weight (expected values > 0)"]
    with pytest.raises(
        ValueError, match=re.escape("invalid keys ['1.weight (expected values > 0)']")
    ):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net[1].weight.data, [1.0, 1.0])
    net[1].weight.data[0] = np.nan  # the module's own values, by default
    assert net.invalid_state() == ["1.weight (expected finite values, got 1 NaN among 2 values)"]


def test_a_shared_layer_is_judged_once_under_its_first_key():
    bn = nn.BatchNorm1d(2)
    net = nn.Sequential(bn, nn.ReLU(), bn)
    state = net.state_dict()
    assert list(state) == ["0.gamma", "0.beta", "0.running_mean", "0.running_var"]
    state["0.running_var"] = np.array([1.0, -2.0])
    assert net.invalid_state(state) == [
        "0.running_var (expected variances >= 0, got 1 negative among 2 values, the lowest -2)"
    ]


def test_load_state_dict_swaps_buffers():
    bn = nn.BatchNorm1d(3)
    bn.load_state_dict({**bn.state_dict(), "running_mean": [1.0, 2.0, 3.0]})
    state = dict(bn.named_parameters()) | {
        "running_mean": bn.running_var,
        "running_var": bn.running_mean,
    }
    bn.load_state_dict(state)
    np.testing.assert_array_equal(bn.running_mean, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(bn.running_var, [1.0, 2.0, 3.0])


def test_from_config_rejects_unknown_types_listing_valid_ones():
    with pytest.raises(ValueError, match=r"unknown layer type 'Conv2d'.*Linear.*MLP"):
        nn.from_config({"type": "Conv2d"})
    with pytest.raises(ValueError, match="'type' key"):
        nn.from_config(["Linear"])


def test_from_config_rejects_bad_keys():
    with pytest.raises(ValueError, match=r"bad Linear config.*valid keys"):
        nn.from_config({"type": "Linear", "in_features": 3, "out_features": 2, "colour": 1})
    with pytest.raises(ValueError, match="bad Linear config"):
        nn.from_config({"type": "Linear", "in_features": 3})


def test_named_modules_gives_dotted_names_under_a_prefix():
    net = nn.MLP([3, 4, 2])
    names = [name for name, _ in net.named_modules()]
    assert names == ["", "layers", "layers.0", "layers.1", "layers.2"]
    assert dict(net.named_modules())["layers.0"] is net.layers[0]
    assert [name for name, _ in net.named_modules(prefix="net")][:3] == [
        "net",
        "net.layers",
        "net.layers.0",
    ]
    assert [name for name, _ in net.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]


@pytest.mark.parametrize("prefix", [None, 0, b"net"])
def test_named_modules_refuses_a_prefix_that_is_not_a_str(prefix):
    # None named the model None and its children without a prefix; b"net" gave "b'net'.layers"
    expected = rf"MLP.named_modules: prefix expected a str, got {type(prefix).__name__}"
    with pytest.raises(TypeError, match=expected):
        nn.MLP([3, 4, 2]).named_modules(prefix=prefix)


def test_from_config_seed_makes_random_layers_reproducible():
    config = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).get_config()
    a, b = nn.from_config(config, rng=5), nn.from_config(config, rng=5)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(nn.from_config(config, rng=6)[0].weight.data, a[0].weight.data)


@pytest.mark.parametrize("seed", [5, np.int64(5), np.uint8(5)])
def test_from_config_draws_every_layer_from_one_generator_for_any_int_seed(seed):
    config = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Dropout(0.5)).get_config()
    config["layers"].insert(1, nn.Linear(4, 4).get_config())
    net = nn.from_config(config, rng=seed)
    assert not np.array_equal(net[0].weight.data, net[1].weight.data)
    x = np.ones((8, 4), np.float32)
    assert not np.array_equal(net[2](x).data, net[3](x).data)
    reference = nn.from_config(config, rng=5)
    np.testing.assert_array_equal(net[1].weight.data, reference[1].weight.data)


@pytest.mark.parametrize(
    ("rng", "error", "match"),
    [
        (True, TypeError, "rng expected a numpy.random.Generator, an int seed or None, got bool"),
        (-1, ValueError, "from_config: rng expected a seed >= 0, got -1"),
        ("0", TypeError, "from_config: rng expected .* got str '0'"),
    ],
)
@pytest.mark.parametrize(
    "module",
    [nn.Sequential(nn.Linear(2, 2)), nn.MLP([2, 3, 2]), nn.ReLU(), nn.BatchNorm1d(2)],
    ids=["Sequential", "MLP", "ReLU", "BatchNorm1d"],
)
def test_from_config_refuses_a_bad_rng_by_name(rng, error, match, module):
    # a module that draws nothing (MLP draws from its config's seed) ignored any rng
    with pytest.raises(error, match=match):
        nn.from_config(module.get_config(), rng=rng)
    assert type(nn.from_config(module.get_config(), rng=np.random.default_rng(0))) is type(module)


def test_rebuilt_mlp_with_dropout_and_batch_norm_trains_identically():
    net = _net()
    clone = nn.from_config(json.loads(json.dumps(net.get_config())))
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    net(x)  # move the running statistics and the dropout generators
    clone.load_state_dict(net.state_dict())
    for (_, g), (_, h) in zip(net.named_generators(), clone.named_generators(), strict=True):
        h.bit_generator.state = g.bit_generator.state
    np.testing.assert_array_equal(clone(x).data, net(x).data)
    np.testing.assert_array_equal(clone.eval()(x).data, net.eval()(x).data)


def test_repr_shows_architecture_and_parameter_counts():
    text = repr(nn.MLP([784, 30, 10], activation="sigmoid", output="sigmoid"))
    assert text.splitlines()[0].endswith("# 23,860 parameters")
    assert "(0): Linear(784 -> 30, init='xavier_normal')  # 23,550 parameters" in text
    assert "(1): Sigmoid()" in text
    assert "(3): Sigmoid()" in text


def test_zero_grad_clears_gradients():
    net = nn.MLP([3, 4, 2], seed=0)
    net(np.ones((2, 3), np.float32)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_register_checks_kinds():
    module = nn.Module()
    with pytest.raises(TypeError, match="requires_grad=True"):
        module.register_parameter("w", cr.tensor([1.0]))
    leaf = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(
        TypeError,
        match=r"^Module: parameter 'w' expected a leaf cr.Tensor with requires_grad=True, "
        r"got a non-leaf Tensor \(the output of an op\)$",
    ):
        module.register_parameter("w", leaf * 0.1)  # its grad would stay None
    assert module.parameters() == []
    with pytest.raises(TypeError, match="ndarray"):
        module.register_buffer("b", [1.0])
    module.register_buffer("b", np.zeros(2))
    with pytest.raises(ValueError, match="registered twice"):
        module.register_buffer("b", np.zeros(2))
    with pytest.raises(NotImplementedError):
        module(np.zeros(2))


@pytest.mark.parametrize(
    "register",
    [
        lambda m: m.register_buffer("weight", np.zeros(2)),
        lambda m: m.register_module("weight", nn.ReLU()),
        lambda m: m.register_generator("weight", np.random.default_rng(0)),
        lambda m: m.register_buffer("in_features", np.zeros(1)),  # an instance attribute
    ],
)
def test_a_name_taken_by_another_kind_or_an_attribute_is_refused(register):
    layer = nn.Linear(2, 3, rng=0)
    with pytest.raises(ValueError, match="registered twice|not an attribute"):
        register(layer)
    assert isinstance(layer.weight, cr.Tensor) and layer.in_features == 2
    assert list(layer.state_dict()) == ["weight", "bias"]


def test_a_layer_used_twice_is_trained_counted_and_listed_once():
    shared = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert net.num_parameters() == 6  # was 12
    assert list(net.state_dict()) == ["0.weight", "0.bias"]
    assert net.shared_entries() == ["2 (= 0)"]
    opt = cr.optim.SGD(net.named_parameters(), lr=0.1)  # refused the tensors "given twice"
    before = shared.weight.data.copy()
    net(cr.tensor(np.array([[1.0, -1.0]] * 3, np.float32))).sum().backward()
    opt.step()
    assert not np.array_equal(shared.weight.data, before)


def test_a_model_that_shares_a_layer_is_refused_by_save(tmp_path):
    shared = nn.Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match=r"shares layers or tensors \(2 \(= 0\)\)"):
        cr.io.save(nn.Sequential(shared, nn.ReLU(), shared), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "error"),
    [("a.b", ValueError), ("", ValueError), ("training", ValueError), ("forward", ValueError),
     ("_private", ValueError), (3, TypeError)],
)  # fmt: skip
def test_names_that_would_collide_are_refused(name, error):
    with pytest.raises(error, match=f"got {'int ' if error is TypeError else ''}{name!r}"):
        nn.Module().register_parameter(name, cr.tensor(np.ones(2), requires_grad=True))


def test_train_mode_must_be_a_bool():
    net = nn.MLP([2, 3, 2], dropout=0.5, seed=0)
    with pytest.raises(TypeError, match="train: mode expected True or False, got 'False'"):
        net.train("False")
    assert all(m.training for _, m in net.named_modules())
    net.train(np.bool_(False))
    assert not any(m.training for _, m in net.named_modules())


def test_load_state_dict_needs_a_mapping_of_arrays():
    net = nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match="expected a mapping .* got list"):
        net.load_state_dict(list(net.state_dict().items()))
    with pytest.raises(ValueError, match="key 'weight' is not an array"):
        net.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": [0.0, 0.0]})


def test_a_config_with_an_rng_is_refused():
    with pytest.raises(ValueError, match="a config holds no generator"):
        nn.from_config({"type": "Linear", "in_features": 2, "out_features": 3, "rng": 5})


def test_dropout_layers_drawing_from_one_generator_still_save(tmp_path):
    rng = np.random.default_rng(0)
    net = nn.Sequential(
        nn.Linear(3, 4, rng=rng), nn.Dropout(0.5, rng=rng), nn.Linear(4, 4, rng=rng),
        nn.Dropout(0.5, rng=rng), nn.Linear(4, 2, rng=rng),
    )  # fmt: skip
    assert net.shared_entries() == []  # a model file holds no generators
    cr.io.save(net, tmp_path / "m.safetensors")
    rebuilt = nn.Sequential.from_config(net.get_config(), rng=0)  # one rng for all layers
    cr.io.save(rebuilt, tmp_path / "n.safetensors")
    drop = nn.Dropout(0.5, rng=1)  # a layer without state, used twice
    assert (
        nn.Sequential(nn.Linear(3, 3, rng=0), drop, nn.Linear(3, 3, rng=1), drop).shared_entries()
        == []
    )


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: nn.Linear(2, 2, rng=True), "Linear: rng expected"),
        (lambda: nn.Dropout(0.5, rng=1.5), "Dropout: rng expected"),
        (lambda: cr.init.he_normal((2, 2), rng="0"), "he_normal: rng expected"),
        (lambda: cr.data.make_moons(10, seed=None), "make_moons: seed expected"),
        (lambda: cr.data.train_dev_test_split(np.ones(9), np.ones(9), seed=2.0), "seed expected"),
    ],
)
def test_a_bad_generator_or_seed_is_refused_naming_its_owner(call, says):
    # the message named neither the function nor the argument
    with pytest.raises(TypeError, match=says):
        call()


def test_load_state_dict_refuses_read_only_targets_before_copying():
    # a weight replaced by a read-only array (np.load(..., mmap_mode="r"), np.frombuffer):
    # the keys before it used to be overwritten before np.copyto failed on it
    net = nn.MLP([3, 4, 2], seed=0)
    frozen = net.layers[2].weight.data.copy()
    frozen.setflags(write=False)
    net.layers[2].weight.data = frozen
    before = net.state_dict()
    state = {k: np.zeros_like(v) for k, v in before.items()}
    with pytest.raises(ValueError, match=r"read-only keys \['layers\.2\.weight'\]"):
        net.load_state_dict(state)
    assert_nothing_copied(net, before)
