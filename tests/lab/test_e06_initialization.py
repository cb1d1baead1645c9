import numpy as np
import pytest

import chainrule as cr
import chainrule.lab.e06_initialization as e06
from chainrule import nn
from chainrule.data import make_circles
from chainrule.lab import EXPERIMENTS
from chainrule.lab.e06_initialization import _descend
from chainrule.losses import cross_entropy


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("e06")


@pytest.fixture(scope="module")
def result(outdir):
    return EXPERIMENTS["initialization"]("fast", outdir)


def test_zero_init_is_symmetric_he_learns_fast_scales_follow_1_over_n(result, outdir, check_pngs):
    numbers = result.numbers
    accuracy, first, final = numbers["train_accuracy"], numbers["first_cost"], numbers["final_cost"]
    # equal weights move, yet the units stay identical (zeros with ReLU never move)
    assert numbers["equal_init_hidden_units_equal"]
    assert numbers["equal_init_first_layer_moved"] > 1e-3
    assert numbers["equal_init_accuracy"] < 0.75
    assert abs(accuracy["zeros"] - 0.5) < 0.05
    assert accuracy["He"] > 0.9
    assert first["N(0,1) * 10"] > 100 * first["He"]
    assert final["N(0,1) * 10"] > 2 * final["He"]
    scales = numbers["activation_std_layer_10"]
    assert 0.3 < scales["relu"]["He"] < 3.0
    assert scales["relu"]["N(0,1)"] > 1e3
    saturated = numbers["tanh_saturated_share_layer_10"]
    assert saturated["N(0,1)"] > 0.5 > 0.01 > saturated["Xavier"]
    worked = numbers["worked_example"]  # seed 001: p = 1000 inputs, half of them 1
    assert worked["N(0, 1)"]["z_std"] == pytest.approx((1000 / 2 + 1) ** 0.5, rel=0.03)
    assert worked["N(0, 1)"]["saturated"] > 0.8
    assert worked["N(0, 1/(n_in + 1))"]["z_std"] == pytest.approx((501 / 1001) ** 0.5, rel=0.03)
    assert worked["N(0, 1/(n_in + 1))"]["saturated"] < 0.001
    assert result.verdict
    check_pngs(result.figures, outdir)


def test_layer_10_numbers_are_those_of_the_10th_hidden_layer(result):
    """An independent NumPy forward pass through the same nets (10 hidden layers of 100
    units, then Linear(100 -> 1), seed 6): the reported saturation and std are those of
    the 10th hidden layer's activations, not of the scalar output."""
    x = np.random.default_rng(6).standard_normal((1000, 100)).astype(np.float32)
    inits = {"N(0,1)": {"name": "normal", "std": 1.0}, "Xavier": "xavier_normal", "He": "he_normal"}
    saturated = result.numbers["tanh_saturated_share_layer_10"]
    scales = result.numbers["activation_std_layer_10"]
    for act, fn in (("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))):
        for label, init in inits.items():
            model = nn.MLP([100] * 11 + [1], activation=act, init=init, seed=6)
            linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
            assert len(linears) == 11
            a = x
            for layer in linears[:10]:
                a = fn(a @ layer.weight.data + layer.bias.data)
            assert scales[act][label] == pytest.approx(float(a.std()), rel=1e-4)
            if act == "tanh":
                share = float(np.mean(np.abs(a) > 0.99))
                assert saturated[label] == pytest.approx(share, abs=1e-3)
    # the notes (seed 001) and the verdict: most units saturate under N(0,1), almost none
    # under Xavier
    assert saturated["N(0,1)"] > 0.5 > 0.01 > saturated["Xavier"]


def test_descend_returns_the_cost_after_the_last_step():
    X, y = make_circles(40, noise=0.08, factor=0.5, seed=6)
    model = nn.MLP([2, 4, 2], activation="relu", seed=6)
    costs = _descend(model, X, y, 3)
    assert len(costs) == 4
    with cr.no_grad():
        after = cross_entropy(model(cr.tensor(X)), y).item()
    assert costs[-1] == after
    assert costs[-1] < costs[0]


def test_tanh_xavier_shrinks_slowly_as_the_mean_field_recursion_predicts(result):
    numbers = result.numbers
    measured, predicted = (
        numbers["tanh_xavier_std_per_layer"],
        numbers["tanh_xavier_std_mean_field"],
    )
    assert len(measured) == len(predicted) == 10
    assert measured[-1] < 0.4 * measured[0]  # it does shrink: 0.63 -> 0.22
    for m, p in zip(measured, predicted, strict=True):
        assert abs(m / p - 1) < e06.MEAN_FIELD_TOL
    assert numbers["tanh_xavier_max_relative_gap_to_mean_field"] < e06.MEAN_FIELD_TOL


def test_mean_field_recursion_starts_at_the_std_of_tanh_of_a_normal_and_tends_to_1_over_2l():
    stds = e06._mean_field_tanh(200)
    u = np.random.default_rng(0).standard_normal(2_000_000)
    assert stds[0] == pytest.approx(float(np.sqrt(np.mean(np.tanh(u) ** 2))), rel=2e-3)
    assert stds[1] == pytest.approx(float(np.sqrt(np.mean(np.tanh(stds[0] * u) ** 2))), rel=2e-3)
    assert stds[199] * np.sqrt(2 * 200) == pytest.approx(1.0, abs=0.01)


def test_tanh_xavier_shrinking_by_a_constant_factor_fails_the_verdict(tmp_path, monkeypatch):
    # 0.626 * 0.85^(l - 1): still 0.145 at layer 10, which the old check (> 0.1) let pass
    trace = e06._trace_activations

    def geometric():
        spreads, saturation = trace()
        spreads["tanh"]["Xavier"] = [0.626 * 0.85**layer for layer in range(10)]
        return spreads, saturation

    monkeypatch.setattr(e06, "_trace_activations", geometric)
    assert EXPERIMENTS["initialization"]("fast", tmp_path).verdict is False


def test_sources_name_the_notes_that_state_the_symmetry_and_the_1_over_n_rules():
    # seed 002 (random initialization, 10&11): zeros make every unit symmetric; scale by
    # sqrt(1/n) for tanh, sqrt(2/n) for ReLU. Seed 001: the worked example
    sources = [s.strip() for s in EXPERIMENTS["initialization"].source.split(",")]
    assert sources[:2] == ["002", "001"]
