import chainrule.lab.e05_planar_flower as e05
from chainrule.lab import EXPERIMENTS


def test_hidden_layer_separates_the_flower_logistic_regression_does_not(tmp_path, check_pngs):
    result = EXPERIMENTS["planar_flower"]("fast", tmp_path)
    numbers = result.numbers
    dev = numbers["dev_accuracy"]
    assert numbers["logistic_regression_dev_accuracy"] < 0.6
    assert numbers["best_dev_accuracy_3_to_5_units"] > 0.85
    assert (
        numbers["best_dev_accuracy_1_to_2_units"] < numbers["best_dev_accuracy_3_to_5_units"] - 0.1
    )
    assert (
        numbers["best_dev_accuracy_20_units_or_more"]
        <= numbers["best_dev_accuracy_3_to_5_units"] + 0.05
    )
    assert numbers["best_dev_accuracy_3_to_5_units"] == max(dev[f"{h} hidden"] for h in (3, 4, 5))
    # several sizes in the 3-5 group, so one model stuck in a poor minimum cannot decide it
    assert (
        set(dev)
        == set(numbers["train_accuracy"])
        == {
            "logistic regression",
            "1 hidden",
            "2 hidden",
            "3 hidden",
            "4 hidden",
            "5 hidden",
            "20 hidden",
        }
    )
    assert result.verdict
    check_pngs(result.figures, tmp_path)


def test_verdict_reads_accuracy_on_points_the_models_never_trained_on(tmp_path, monkeypatch):
    """Large layers keep gaining training accuracy; the claim is about new points of the
    flower, so every accuracy the verdict reads must come from points ``fit`` never saw."""
    trained, measured = [], []
    real_fit, real_accuracy = e05.fit, e05.accuracy

    def spy_fit(model, loss, optimizer, X, y, **options):
        trained.append(X)
        return real_fit(model, loss, optimizer, X, y, **options)

    def spy_accuracy(model, X, y):
        value = real_accuracy(model, X, y)
        measured.append((X, value))
        return value

    monkeypatch.setattr(e05, "fit", spy_fit)
    monkeypatch.setattr(e05, "accuracy", spy_accuracy)
    numbers = EXPERIMENTS["planar_flower"]("fast", tmp_path).numbers

    train_points = {tuple(p) for X in trained for p in X.tolist()}
    held_out = [value for X, value in measured if not train_points & {tuple(p) for p in X.tolist()}]
    assert held_out, "no accuracy was measured on points the models did not train on"
    assert sorted(numbers["dev_accuracy"].values()) == sorted(held_out)
    for key in (
        "logistic_regression_dev_accuracy",
        "best_dev_accuracy_1_to_2_units",
        "best_dev_accuracy_3_to_5_units",
        "best_dev_accuracy_20_units_or_more",
    ):
        assert numbers[key] in numbers["dev_accuracy"].values(), key
