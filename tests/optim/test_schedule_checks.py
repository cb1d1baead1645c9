"""Schedule construction refuses rates that overflow; config errors suggest the closest key."""

import re

import pytest

from chainrule import optim


@pytest.mark.parametrize(("alpha0", "k"), [(1e308, 10.0), (1e200, 1e200)])
def test_inverse_sqrt_decay_refuses_an_alpha0_k_product_that_overflows(alpha0, k):
    # it gave lr = inf at t = 1, which an optimizer took (and wrote inf weights with)
    expected = (
        f"InverseSqrtDecay: alpha0 * k (the rate at t = 1) expected a finite product, got "
        f"alpha0={alpha0!r} * k={k!r} = inf"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        optim.InverseSqrtDecay(alpha0=alpha0, k=k)
    with pytest.raises(ValueError, match="expected a finite product"):
        optim.schedule_from_config({"name": "inverse_sqrt", "alpha0": alpha0, "k": k})


def test_inverse_sqrt_decay_takes_a_large_finite_product():
    assert optim.InverseSqrtDecay(alpha0=1e300, k=1e8)(4) == 1e308 / 2


@pytest.mark.parametrize(
    ("config", "hint"),
    [
        ({"name": "cosine", "alpha0": 1.0, "duration": 3, "alpha_mn": 0.0}, "'alpha_min'?"),
        (
            {"name": "cosine", "alpha0": 1.0, "duration": 3, "alpha_mn": 0.0, "unti": "step"},
            "'alpha_min' for 'alpha_mn', 'unit' for 'unti'?",
        ),
        ({"name": "cosin"}, "'cosine'?"),
    ],
)
def test_a_misspelt_schedule_field_or_name_gets_the_closest_one(config, hint):
    with pytest.raises(ValueError, match=f"; did you mean {re.escape(hint)}$"):
        optim.schedule_from_config(config)


def test_an_unknown_schedule_field_like_none_gets_no_suggestion():
    with pytest.raises(ValueError, match=r"unknown \['zzzz'\]$"):
        optim.schedule_from_config({"name": "cosine", "alpha0": 1.0, "duration": 3, "zzzz": 1})
