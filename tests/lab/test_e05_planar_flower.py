from chainrule.lab import EXPERIMENTS


def test_hidden_layer_separates_the_flower_logistic_regression_does_not(tmp_path, check_pngs):
    result = EXPERIMENTS["planar_flower"]("fast", tmp_path)
    numbers = result.numbers
    assert numbers["logistic_regression_accuracy"] < 0.6
    assert numbers["best_accuracy_3_to_5_units"] > 0.85
    assert numbers["best_accuracy_1_to_2_units"] < numbers["best_accuracy_3_to_5_units"] - 0.1
    assert numbers["best_accuracy_20_units_or_more"] <= numbers["best_accuracy_3_to_5_units"] + 0.05
    assert set(numbers["train_accuracy"]) == {
        "logistic regression",
        "1 hidden",
        "3 hidden",
        "20 hidden",
    }
    assert result.verdict
    check_pngs(result.figures, tmp_path)
