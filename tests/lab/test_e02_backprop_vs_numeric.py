from chainrule.lab import EXPERIMENTS


def test_backprop_and_finite_differences_agree(tmp_path, check_pngs):
    result = EXPERIMENTS["backprop_vs_numeric"]("fast", tmp_path)
    numbers = result.numbers
    assert numbers["n_parameters"] == [10, 100, 1000]
    assert numbers["cost_evaluations_numeric"] == [11, 101, 1001]
    assert all(measured for measured in numbers["numeric_measured_in_full"])
    assert numbers["worst_relative_error"] < 1e-5
    check_pngs(result.figures, tmp_path)
