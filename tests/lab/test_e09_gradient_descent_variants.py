from chainrule.lab import EXPERIMENTS


def test_batch_is_smooth_stochastic_is_noisy_minibatch_learns_more_per_epoch(tmp_path, check_pngs):
    result = EXPERIMENTS["gradient_descent_variants"]("fast", tmp_path)
    numbers = result.numbers
    batch, mini, sgd = "batch (m = 512)", "mini-batch (64)", "stochastic (1)"
    assert numbers["updates_per_epoch"] == {batch: 1, mini: 8, sgd: 512}
    rose = numbers["share_of_steps_where_cost_rose"]
    assert rose[batch] == 0.0 < rose[mini]
    assert numbers["cost_noise"][sgd] > numbers["cost_noise"][mini]
    assert numbers["final_dev_cost"][mini] < numbers["final_dev_cost"][batch]
    check_pngs(result.figures, tmp_path)
