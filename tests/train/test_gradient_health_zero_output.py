"""gradient_health with an output layer whose norm is 0 (``min_norm=0``): no ratio to it
is defined, so the ratio tests are skipped and the absolute bounds alone decide."""

import math

from chainrule.train.diagnostics import gradient_health


def test_a_zero_output_norm_leaves_no_ratio_and_the_absolute_bounds_decide():
    health = gradient_health({"a": 1.0, "b": 0.0}, min_norm=0.0)
    assert health.healthy and health.findings == ()
    assert math.isnan(health.ratio)
    exploded = gradient_health({"a": 5e3, "b": 0.0}, min_norm=0.0)
    assert exploded.exploding_layers == ("a",)
    assert exploded.findings[0][2] == "norm 5.00e+03 > max_norm 1000"
    assert math.isnan(exploded.ratio)
