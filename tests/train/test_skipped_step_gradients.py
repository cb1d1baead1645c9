"""A step that ``nonfinite="skip"`` skipped leaves its epoch's gradient norms NaN: no
reading of exploding gradients, and the run's one GradientWarning stays unspent."""

import warnings

import numpy as np

from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.train import GradientWarning, LambdaCallback, fit


def _gradient_warnings(skip_epoch, explode_epoch=None):
    """The GradientWarnings of a 3-epoch run whose third step of epoch ``skip_epoch`` has
    a NaN gradient (skipped), and whose loss is scaled by 1e6 from epoch
    ``explode_epoch`` on (gradients far above max_norm)."""
    state = {"nan": False, "scale": 1.0}

    def loss(out, y):  # sqrt(0) has a finite value and an infinite slope: 0 * inf = NaN
        cost = losses.cross_entropy(out, y) * state["scale"]
        return cost + (out * 0).sum().sqrt() if state["nan"] else cost

    def arm(trainer, batch, value):
        state["nan"] = trainer.epoch == skip_epoch and batch == 1

    def begin(trainer, epoch):
        state["scale"] = 1e6 if explode_epoch is not None and epoch >= explode_epoch else 1.0

    X, y = make_moons(200, noise=0.2, seed=1)
    model = nn.MLP([2, 16, 16, 2], activation="relu", seed=3)
    opt = optim.SGD(model.named_parameters(), lr=1e-9, nonfinite="skip")
    callbacks = [LambdaCallback(on_batch_end=arm, on_epoch_begin=begin)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, loss, opt, X, y.astype(np.int64), epochs=3, batch_size=16,
                      trace=False, progress=False, callbacks=callbacks)  # fmt: skip
    assert np.isnan(history.grad_norms["layers.0.weight"][skip_epoch])
    return [str(w.message) for w in caught if issubclass(w.category, GradientWarning)]


def test_a_skipped_step_is_no_exploding_gradient():
    # the NaN norms read as "exploding gradients in layers.0.weight (norm nan), ..."
    assert _gradient_warnings(skip_epoch=0) == []


def test_a_skipped_step_leaves_the_warning_for_a_later_explosion():
    messages = _gradient_warnings(skip_epoch=0, explode_epoch=2)
    assert len(messages) == 1 and "exploding gradients" in messages[0]
    assert "nan" not in messages[0]
