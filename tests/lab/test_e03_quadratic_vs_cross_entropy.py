from chainrule.lab import EXPERIMENTS


def test_cross_entropy_learns_at_once_quadratic_after_a_plateau(tmp_path, check_pngs):
    result = EXPERIMENTS["quadratic_vs_cross_entropy"]("fast", tmp_path)
    numbers = result.numbers
    assert abs(numbers["initial_output"] - 0.982) < 1e-3  # sigmoid(4), the notes' 0.98
    after_50 = numbers["quadratic_cost_of_output_after_50"]
    assert after_50["cross-entropy"] < after_50["quadratic"]
    removed = numbers["share_of_cost_removed_after_50"]
    assert removed["cross-entropy"] > 5 * removed["quadratic"]
    assert numbers["epoch_of_fastest_learning"]["cross-entropy"] == 0
    assert numbers["epoch_of_fastest_learning"]["quadratic"] > 150
    assert numbers["output_after_150"]["quadratic"] > 0.9  # 150 epochs of plateau
    assert numbers["share_of_cost_removed_after_150"]["quadratic"] < 0.15
    assert result.verdict
    check_pngs(result.figures, tmp_path)
