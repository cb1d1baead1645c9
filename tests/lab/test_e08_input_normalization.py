from chainrule.lab import EXPERIMENTS


def test_standardized_inputs_converge_in_far_fewer_steps(tmp_path, check_pngs):
    result = EXPERIMENTS["input_normalization"]("fast", tmp_path)
    numbers = result.numbers
    steps = numbers["steps_to_converge"]
    assert steps["standardized"] is not None
    raw = steps["raw"] if steps["raw"] is not None else numbers["max_steps"]
    assert raw > 10 * steps["standardized"]
    cond = numbers["hessian_condition_number"]
    assert cond["standardized"] < 2 < 100 < cond["raw"]
    assert result.verdict
    check_pngs(result.figures, tmp_path)


def test_the_claim_divides_by_the_standard_deviation_and_names_the_notes_misprint():
    # seed 002 says "再除以其方差σ²" (divide by the variance); the lab, like Standardizer,
    # divides by the standard deviation and says so
    claim = EXPERIMENTS["input_normalization"].claim
    assert "dividing by the standard deviation" in claim
    assert "seed 002 prints 'divide by the variance sigma^2', a misprint" in claim
