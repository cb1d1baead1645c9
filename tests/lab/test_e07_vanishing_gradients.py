import chainrule.lab.e07_vanishing_gradients as e07
from chainrule.lab import EXPERIMENTS


def test_sigmoid_gradients_vanish_relu_he_keeps_them(tmp_path, check_pngs):
    result = EXPERIMENTS["vanishing_gradients"]("fast", tmp_path)
    numbers = result.numbers
    ratio = numbers["first_over_last_gradient_norm"]
    assert ratio["sigmoid, Xavier"] < 0.01
    he = numbers["gradient_norm_per_layer"]["ReLU, He"]
    assert numbers["largest_over_smallest_layer"]["ReLU, He"] == max(he) / min(he) < 10
    assert ratio["ReLU, N(0,1)"] > 100  # exploding
    sigmoid_by_depth = numbers["first_over_last_by_depth"]["sigmoid, Xavier"]
    assert sigmoid_by_depth[-1] < 0.01 * sigmoid_by_depth[0]
    assert numbers["sigmoid_training_first_over_last_mean"] < 0.01
    assert len(he) == numbers["hidden_layers"] + 1
    assert result.verdict
    check_pngs(result.figures, tmp_path)


def test_an_exploding_relu_net_in_place_of_he_fails_the_verdict(tmp_path, monkeypatch):
    # twice He's standard deviation: the first layer's gradient comes out hundreds of times
    # the output layer's, which a one-sided bound (first over last > 0.1) let through
    monkeypatch.setitem(e07.NETS, "ReLU, He", ("relu", {"name": "normal", "std": 2 * 0.25}))
    result = EXPERIMENTS["vanishing_gradients"]("fast", tmp_path)
    assert not result.verdict
    assert result.numbers["first_over_last_gradient_norm"]["ReLU, He"] > 100
    assert result.numbers["largest_over_smallest_layer"]["ReLU, He"] > 10
