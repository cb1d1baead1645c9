"""A ``functools.partial`` of a chainrule loss with keyword arguments only (the Python
API's way to label smoothing in ``fit``) is that loss to ``fit``: probability rows make a
classification task with accuracy, as they do for ``cross_entropy`` itself (the wrapped
loss made them regression targets, logged with an MSE of logits against probabilities)."""

import functools

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.train import fit


def _keys(loss):
    X, y = make_moons(64, noise=0.2, seed=1)
    Y = np.eye(2, dtype=np.float32)[y] * 0.9 + 0.05
    model = nn.MLP([2, 4, 2], seed=0)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    history = fit(model, loss, opt, X, Y, epochs=1, batch_size=16, progress=False)
    return sorted(history.epochs[0])


@pytest.mark.parametrize(
    "loss",
    [
        losses.cross_entropy,
        functools.partial(losses.cross_entropy, label_smoothing=0.1),
        functools.partial(losses.cross_entropy, reduction="mean"),
    ],
    ids=["plain", "smoothing", "reduction"],
)
def test_a_keyword_partial_of_cross_entropy_is_cross_entropy_to_fit(loss):
    assert "train_accuracy" in _keys(loss) and "train_mse" not in _keys(loss)


def test_another_wrapper_stays_a_loss_of_its_own():
    def wrapped(out, targets):
        return losses.cross_entropy(out, targets)

    assert "train_mse" in _keys(wrapped)
