"""Trainer's metrics and callbacks come in an order that counts (the logs' columns, the
order the callbacks run in and a resume matches their states by): a set, whose order
changes between processes, a dict and a 0-d array are refused before any work (a 0-d
array raised NumPy's "iteration over a 0-d array")."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import EarlyStopping, Trainer, evaluate


def _trainer(**options):
    model = nn.MLP([2, 2], seed=0)
    return Trainer(model, "cross_entropy", optim.SGD(model.parameters()), **options)


@pytest.mark.parametrize(
    ("value", "got"),
    [({"accuracy", "f1"}, "a set of length 2"), (np.array("accuracy"), "ndarray")],
)
def test_metrics_in_no_fixed_order_are_refused(value, got):
    with pytest.raises(
        TypeError, match=rf"^Trainer: metrics expected a list of metric names, got {got}"
    ):
        _trainer(metrics=value)
    with pytest.raises(TypeError, match=r"^Trainer: metrics expected"):
        evaluate(nn.MLP([2, 2], seed=0), "cross_entropy", np.ones((2, 2)), [0, 1], metrics=value)


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ({EarlyStopping(), EarlyStopping()}, "a set of length 2"),
        ({"stop": EarlyStopping()}, "a dict of length 1, which iterates over its keys"),
    ],
)
def test_callbacks_in_no_fixed_order_are_refused(value, got):
    with pytest.raises(
        TypeError, match=rf"^Trainer: callbacks expected a list of Callback instances, got {got}"
    ):
        _trainer(callbacks=value)
