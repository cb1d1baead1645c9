import chainrule.lab.e02_backprop_vs_numeric as e02
from chainrule.lab import EXPERIMENTS


def test_backprop_and_finite_differences_agree(tmp_path, check_pngs, monkeypatch):
    # the cost evaluations are counted here, not taken from the experiment's own n + 1
    numeric_calls = []

    def counting_cost(X, y, w):
        if not w.requires_grad:  # the finite differences' evaluations, not backprop's
            numeric_calls.append(w.data.size)
        return cost(X, y, w)

    cost = e02._cost
    monkeypatch.setattr(e02, "_cost", counting_cost)
    result = EXPERIMENTS["backprop_vs_numeric"]("fast", tmp_path)
    numbers = result.numbers
    assert numbers["n_parameters"] == [10, 100, 1000]
    counted = [numeric_calls.count(n) for n in numbers["n_parameters"]]
    assert counted == numbers["cost_evaluations_numeric"] == [11, 101, 1001]
    assert len(numeric_calls) == sum(counted)
    assert all(measured for measured in numbers["numeric_measured_in_full"])
    assert numbers["worst_relative_error"] < 1e-5
    check_pngs(result.figures, tmp_path)
