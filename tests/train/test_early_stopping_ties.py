"""A value that only ties the best is no improvement, in mode "min" as in mode "max".

EarlyStopping and ModelCheckpoint count an epoch as improved when its value beats the best
by more than ``min_delta``: a tie leaves the best epoch, the patience count and
``best.safetensors`` as they were.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import make_moons
from chainrule.train import EarlyStopping, LambdaCallback, ModelCheckpoint, Trainer, fit


def _fit_at_a_constant_rate(callback, epochs):
    """Train on two moons with SGD at a constant rate, so that the logged ``lr`` ties the
    first epoch's every epoch; returns the model, the history and the model's state after
    each epoch."""
    X, y = make_moons(64, noise=0.2, seed=1)
    model = nn.MLP([2, 4, 2], seed=0)
    states = []
    record = LambdaCallback(on_epoch_end=lambda t, e, logs: states.append(t.model.state_dict()))
    history = fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.1),
        X,
        y,
        epochs=epochs,
        batch_size=16,
        progress=False,
        callbacks=[callback, record],
    )
    return model, history, states


def _assert_same_state(state, expected):
    assert list(state) == list(expected)
    for name, value in expected.items():
        assert np.array_equal(state[name], value), name


@pytest.mark.parametrize("mode", ["min", "max"])
def test_early_stopping_counts_a_tie_as_no_improvement(mode):
    stopper = EarlyStopping(monitor="lr", mode=mode, patience=2)
    model, history, states = _fit_at_a_constant_rate(stopper, epochs=10)
    # the first epoch is the best; the next two tie it and the patience runs out
    assert len(history.epochs) == 3 and history.stopped_reason == "early_stopping"
    assert (stopper.best_epoch, stopper.best, stopper.stopped_epoch) == (0, 0.1, 2)
    _assert_same_state(model.state_dict(), states[0])  # the best epoch's weights restored


@pytest.mark.parametrize("mode", ["min", "max"])
def test_model_checkpoint_keeps_the_first_of_tied_epochs_as_the_best(tmp_path, mode):
    saver = ModelCheckpoint(tmp_path, monitor="lr", mode=mode)
    _, _, states = _fit_at_a_constant_rate(saver, epochs=3)
    assert (saver.state_dict()["best_epoch"], saver.state_dict()["best"]) == (0, 0.1)
    assert not np.array_equal(states[0]["layers.0.weight"], states[2]["layers.0.weight"])
    _assert_same_state(cr.load(tmp_path / "best.safetensors").state_dict(), states[0])
    _assert_same_state(cr.load(tmp_path / "last.safetensors").state_dict(), states[2])


@pytest.mark.parametrize(("mode", "value"), [("min", 0.75), ("max", 1.25)])
def test_a_value_better_by_exactly_min_delta_is_no_improvement(mode, value):
    # exact in binary: 0.75 is 1.0 - 0.25 to the last bit, as 1.25 is 1.0 + 0.25
    stopper = EarlyStopping("dev_loss", mode, patience=1, min_delta=0.25)
    trainer = Trainer(nn.Linear(1, 1, rng=0), "mse", None, progress=False)
    trainer.log_keys, trainer.restored_callbacks = ["epoch", "dev_loss"], ()
    stopper.on_train_begin(trainer)
    for epoch, logged in enumerate([1.0, value]):
        stopper.on_epoch_end(trainer, epoch, {"epoch": epoch + 1, "dev_loss": logged})
    assert (stopper.best_epoch, stopper.best, stopper.stopped_epoch) == (0, 1.0, 1)
    assert trainer.stop_training
