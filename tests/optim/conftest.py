"""The optimizer family, shared by the contract and checkpoint tests."""

import pytest

from chainrule import optim

# id -> (factory(params, lr), lr for the quadratic, lr for Rosenbrock)
FAMILY = {
    "sgd": (lambda p, lr: optim.SGD(p, lr=lr), 1e-2, 1e-3),
    "sgd-momentum": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9), 1e-2, 3e-3),
    "sgd-nesterov": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 1e-2, 1e-3),
    "momentum": (lambda p, lr: optim.Momentum(p, lr=lr, beta=0.9), 0.1, 0.03),
    "momentum-nesterov": (
        lambda p, lr: optim.Momentum(p, lr=lr, beta=0.9, nesterov=True),
        0.1,
        0.01,
    ),
    "rmsprop": (lambda p, lr: optim.RMSprop(p, lr=lr), 1e-2, 1e-3),
    "adam": (lambda p, lr: optim.Adam(p, lr=lr), 0.03, 0.1),
    "adamw": (lambda p, lr: optim.AdamW(p, lr=lr, weight_decay=1e-4), 0.03, 0.1),
    "adam-clip-norm": (lambda p, lr: optim.Adam(p, lr=lr, clip_norm=1.0), 0.1, 0.01),
    "sgd-momentum-clip-value": (
        lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, clip_value=1.0),
        1e-2,
        3e-3,
    ),
}


@pytest.fixture(params=list(FAMILY), ids=list(FAMILY))
def member(request):
    """(factory, lr for the quadratic, lr for Rosenbrock) of one optimizer variant."""
    return FAMILY[request.param]
