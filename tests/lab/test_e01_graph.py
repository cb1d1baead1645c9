from chainrule.lab import EXPERIMENTS


def test_graph_backprop_matches_the_notes(tmp_path, check_pngs):
    result = EXPERIMENTS["graph"]("fast", tmp_path)
    grads = result.numbers["backprop_gradients"]
    assert result.numbers["J"] == 33.0
    assert (grads["a"], grads["b"], grads["c"], grads["u"], grads["v"]) == (3, 6, 9, 3, 3)
    assert result.numbers["max_abs_error_vs_finite_differences"] < 1e-6
    assert result.verdict
    check_pngs(result.figures, tmp_path)
