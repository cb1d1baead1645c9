import pytest

from chainrule.lab import EXPERIMENTS


def test_zero_init_is_symmetric_he_learns_fast_scales_follow_1_over_n(tmp_path, check_pngs):
    result = EXPERIMENTS["initialization"]("fast", tmp_path)
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
    assert saturated["N(0,1)"] > 0.5 > 0.05 > saturated["Xavier"]
    worked = numbers["worked_example"]  # seed 001: p = 1000 inputs, half of them 1
    assert worked["N(0, 1)"]["z_std"] == pytest.approx((1000 / 2 + 1) ** 0.5, rel=0.03)
    assert worked["N(0, 1)"]["saturated"] > 0.8
    assert worked["N(0, 1/(n_in + 1))"]["z_std"] == pytest.approx((501 / 1001) ** 0.5, rel=0.03)
    assert worked["N(0, 1/(n_in + 1))"]["saturated"] < 0.001
    assert result.verdict
    check_pngs(result.figures, tmp_path)
