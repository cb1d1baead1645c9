"""The defaults of docs/07-optimization.md's table: an optimizer built with them steps as one
given the documented values explicitly, and as none given a neighbouring value."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

# (optimizer, hyperparameter, its documented default, a neighbouring value)
DOCUMENTED = [
    (optim.SGD, "momentum", 0.0, 0.5),
    (optim.Momentum, "beta", 0.9, 0.8),
    (optim.RMSprop, "beta", 0.9, 0.99),
    (optim.RMSprop, "eps", 1e-8, 1e-7),
    (optim.Adam, "beta1", 0.9, 0.8),
    (optim.Adam, "beta2", 0.999, 0.99),
    (optim.Adam, "eps", 1e-8, 1e-7),
    (optim.AdamW, "beta1", 0.9, 0.8),
    (optim.AdamW, "beta2", 0.999, 0.99),
    (optim.AdamW, "eps", 1e-8, 1e-7),
    (optim.AdamW, "weight_decay", 0.01, 0.02),
]

# gradients of three steps; the last coordinate's are as small as eps, which then counts
GRADIENTS = np.array([[0.5, -2.0, 1e-8], [-1.5, 3.0, -2e-8], [0.25, 1.0, 3e-8]])


def _after_steps(make) -> np.ndarray:
    w = cr.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    opt = make([w])
    for g in GRADIENTS:
        w.grad = g.copy()
        opt.step()
    return w.data


@pytest.mark.parametrize(
    ("cls", "name", "default", "other"),
    DOCUMENTED,
    ids=[f"{cls.__name__}-{name}" for cls, name, _, _ in DOCUMENTED],
)
def test_the_documented_default_steps_as_the_value_given(cls, name, default, other):
    by_default = _after_steps(lambda p: cls(p, lr=0.1))
    given = _after_steps(lambda p: cls(p, lr=0.1, **{name: default}))
    np.testing.assert_array_equal(by_default, given)
    # and the steps tell the value apart: not a test that any value would pass
    assert not np.array_equal(by_default, _after_steps(lambda p: cls(p, lr=0.1, **{name: other})))
