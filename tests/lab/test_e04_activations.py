from chainrule.lab import EXPERIMENTS


def test_derivatives_and_the_collapse_of_a_linear_network(tmp_path, check_pngs):
    result = EXPERIMENTS["activations"]("fast", tmp_path)
    numbers = result.numbers
    assert max(numbers["max_derivative_error_vs_formula"].values()) < 1e-6
    assert abs(numbers["derivative_peak"]["sigmoid"] - 0.25) < 1e-3
    assert numbers["linear_net_vs_single_matrix_max_abs_diff"] < 1e-4
    accuracy = numbers["train_accuracy"]
    assert accuracy["identity"] < 0.7 < 0.95 < accuracy["tanh"]
    assert result.verdict
    check_pngs(result.figures, tmp_path)
