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
