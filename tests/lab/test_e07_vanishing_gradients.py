from chainrule.lab import EXPERIMENTS


def test_sigmoid_gradients_vanish_relu_he_keeps_them(tmp_path, check_pngs):
    result = EXPERIMENTS["vanishing_gradients"]("fast", tmp_path)
    numbers = result.numbers
    ratio = numbers["first_over_last_gradient_norm"]
    assert ratio["sigmoid, Xavier"] < 0.01
    assert ratio["ReLU, He"] > 0.1
    assert ratio["ReLU, N(0,1)"] > 100  # exploding
    sigmoid_by_depth = numbers["first_over_last_by_depth"]["sigmoid, Xavier"]
    assert sigmoid_by_depth[-1] < 0.01 * sigmoid_by_depth[0]
    assert numbers["sigmoid_training_first_over_last_mean"] < 0.01
    assert len(numbers["gradient_norm_per_layer"]["ReLU, He"]) == numbers["hidden_layers"] + 1
    assert result.verdict
    check_pngs(result.figures, tmp_path)
