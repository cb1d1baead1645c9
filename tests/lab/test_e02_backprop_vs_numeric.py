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


def test_a_ratio_growing_slower_than_n_is_not_in_proportion(tmp_path, monkeypatch):
    # increasing and above 100 at the largest n, but as n^0.3: not "in proportion to n"
    def compare(X, y, w0, measure_all, rng):
        n = w0.size
        return {
            "n": n,
            "evaluations": n + 1,
            "backprop_s": 1e-3,
            "numeric_s": 1e-3 * 75 * n**0.3,
            "measured": measure_all,
            "rel_error": 1e-9,
        }

    monkeypatch.setattr(e02, "_compare", compare)
    result = EXPERIMENTS["backprop_vs_numeric"]("fast", tmp_path)
    ratios = result.numbers["speedup_numeric_over_backprop"]
    assert ratios == sorted(ratios) and ratios[-1] > 100
    assert result.verdict is False
    assert abs(result.numbers["log_log_slope_of_speedup"] - 0.3) < 1e-9


def test_setup_counts_the_timed_evaluations_when_scaling_up(tmp_path, monkeypatch):
    # C(w) and SAMPLE probed coordinates: SAMPLE + 1 evaluations are timed, not SAMPLE
    monkeypatch.setitem(e02.MEASURE_UP_TO, "fast", 100)
    result = EXPERIMENTS["backprop_vs_numeric"]("fast", tmp_path)
    assert result.numbers["numeric_measured_in_full"] == [True, True, False]
    assert "the time of 201 evaluations (C(w) and 200 random coordinates" in result.setup
