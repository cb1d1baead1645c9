"""How a run reads its targets and ends: the dev set's diverged outputs, probability-row
targets, a callback's stop, the progress bar and the probe's blame."""

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import (
    CheckpointDir,
    LambdaCallback,
    NonFiniteLossError,
    ProgressBar,
    Trainer,
    fit,
)
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.history import STOPPED_REASONS, History


# -- a dev set whose outputs diverge ---------------------------------------------------------
def _blown_at_epoch_end(epoch):
    """A callback that sets the model's first weight to NaN at the end of the steps of
    ``epoch`` (0-based): the epoch's training cost was finite, its dev outputs are not."""

    def blow(trainer, batch, loss):
        if trainer.epoch == epoch and batch + 1 == trainer.batches_per_epoch:
            trainer.model.parameters()[0].data[...] = np.nan

    return LambdaCallback(on_batch_end=blow)


def test_diverged_dev_outputs_of_a_classification_run_end_it_naming_the_dev_set_and_epoch(
    moons,
):
    # a plain ValueError of predictions_from_outputs, naming neither the set nor the epoch
    X, y, Xd, yd = moons
    model = nn.MLP([2, 8, 2], seed=0)
    errors = []
    hooks = LambdaCallback(on_exception=lambda t, e: errors.append(e))
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                      epochs=4, batch_size=64, callbacks=[_blown_at_epoch_end(1), hooks],
                      progress=False)  # fmt: skip
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(X, y, dev=(Xd, yd))
    assert str(info.value) == (
        f"the model's outputs for the dev set (X_dev) held NaN or Inf at the end of epoch 2 "
        f"({len(Xd)} of {len(Xd)} samples), so their classes cannot be read; try a smaller "
        "learning rate, input normalization, or gradient clipping (no checkpoint was written "
        "after it)"
    )
    assert errors == [info.value] and trainer.history.stopped_reason == "error"
    assert trainer.history.column("epoch") == [1]


@pytest.mark.parametrize("trace", [True, False])
def test_a_training_batchs_infinite_outputs_with_a_finite_cost_end_the_run_before_its_update(
    trace,
):
    # a logit of -inf in a class that is not the target's: the cost is 0 and the gradient
    # finite, the update was applied, then predictions_from_outputs raised a bare ValueError
    X = np.full((4, 2), 2.0, np.float32)
    y = np.ones(4, np.int64)
    model = nn.MLP([2, 2], seed=0)
    weight = np.array([[-1e38, 0.0], [-1e38, 0.0]], np.float32)
    model.load_state_dict({"layers.0.weight": weight, "layers.0.bias": np.zeros(2, np.float32)})
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    with np.errstate(over="ignore"), pytest.raises(NonFiniteLossError) as info:
        fit(model, "cross_entropy", opt, X, y, epochs=1, batch_size=2, progress=False,
            trace=trace)  # fmt: skip
    assert str(info.value) == (
        "the model's outputs for the training batch held NaN or Inf at epoch 1, step 1 "
        "(2 of 2 samples), so their classes cannot be read; try a smaller learning rate, "
        "input normalization, or gradient clipping (no checkpoint was written after it)"
    )
    assert opt.step_count == 0
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_evaluate_names_the_diverged_outputs_of_a_classification_model(moons):
    # a ValueError of predictions_from_outputs, a function the caller did not call
    X, y, _, _ = moons
    model = nn.MLP([2, 8, 2], seed=0)
    model.parameters()[0].data[0, 0] = np.nan
    with pytest.raises(ValueError) as info:
        cr.train.evaluate(model, "cross_entropy", X, y)
    assert str(info.value) == (
        f"evaluate: the model's outputs for X held NaN or Inf ({len(X)} of {len(X)} "
        "samples), so their classes cannot be read (did training diverge?)"
    )


def test_diverged_dev_outputs_of_a_regression_run_are_logged():
    # as an infinite dev loss is: the values are read without classes
    X, y = cr.data.make_sine(64, seed=0)
    model = nn.MLP([1, 8, 1], seed=0)
    with np.errstate(all="ignore"):
        history = fit(model, "mse", optim.SGD(model.named_parameters(), lr=0.0), X, y,
                      dev=(X, y), epochs=2, callbacks=[_blown_at_epoch_end(1)],
                      progress=False)  # fmt: skip
    assert np.isnan(history.epochs[1]["dev_loss"]) and np.isnan(history.epochs[1]["dev_mse"])


# -- probability rows of the class losses ------------------------------------------------------
def _soft(labels, k=3, smoothing=0.1):
    """Label-smoothed one-hot rows (each sums to 1), done by hand."""
    return ((1 - smoothing) * cr.data.one_hot(labels, k) + smoothing / k).astype(np.float32)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll"])
def test_probability_rows_of_a_class_loss_make_a_classification_task(loss):
    # a regression task: train_mse between logits and probabilities, accuracy refused
    X, labels = cr.data.make_spirals(90, seed=1)
    model = nn.MLP([2, 16, 3], seed=0, output="log_softmax" if loss == "nll" else None)
    history = fit(model, loss, optim.Adam(model.named_parameters(), lr=0.02), X,
                  _soft(labels), dev=(X, _soft(labels)), epochs=3, metrics=["accuracy"],
                  progress=False)  # fmt: skip
    predicted = cr.predict(model, X).argmax(axis=1)
    assert history.last["dev_accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert "train_accuracy" in history.last and "train_mse" not in history.last


def test_rows_that_are_not_probabilities_stay_regression_targets():
    X, labels = cr.data.make_spirals(90, seed=1)
    rows = _soft(labels) * np.float32(2.0)  # non-negative, summing to 2
    model = nn.MLP([2, 16, 3], seed=0)
    with pytest.raises(ValueError, match=r"^metrics \['accuracy'\] need classification "):
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, rows,
            metrics=["accuracy"], progress=False)  # fmt: skip


def test_probability_rows_of_an_elementwise_loss_stay_regression_targets():
    X, labels = cr.data.make_spirals(90, seed=1)
    model = nn.MLP([2, 16, 3], seed=0)
    history = fit(model, "mse", optim.SGD(model.named_parameters(), lr=0.1), X,
                  _soft(labels), epochs=1, progress=False)  # fmt: skip
    assert "train_mse" in history.last


# -- a callback's stop -------------------------------------------------------------------------
def _stop_after(epoch):
    def stop(trainer, at, logs):
        if at == epoch:
            trainer.stop_training = True

    return LambdaCallback(on_epoch_end=stop)


def _moons_fit(moons, epochs, **kw):
    X, y, _, _ = moons
    model = nn.MLP([2, 8, 2], seed=0)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    return fit(model, "cross_entropy", opt, X, y, epochs=epochs, batch_size=64, progress=False,
               **kw)  # fmt: skip


def test_a_run_a_callback_stops_says_stopped(moons):
    # it said "completed", as a run that trained every epoch
    history = _moons_fit(moons, 10, callbacks=[_stop_after(1)])
    assert len(history.epochs) == 2 and history.stopped_reason == "stopped"
    assert "stopped" in STOPPED_REASONS
    assert History.from_dict(history.to_dict()).stopped_reason == "stopped"


def test_a_resume_of_a_stopped_run_stays_stopped(moons, tmp_path):
    _moons_fit(moons, 10, callbacks=[_stop_after(1)], checkpoint_dir=tmp_path / "ckpt")
    resumed = _moons_fit(moons, 10, resume_from=tmp_path / "ckpt")
    assert len(resumed.epochs) == 2 and resumed.stopped_reason == "stopped"


def test_an_earlier_checkpoint_of_a_stopped_run_resumes_as_stopped(moons, tmp_path):
    # chainrule before "stopped" saved such a run's history as "completed"
    _moons_fit(moons, 10, callbacks=[_stop_after(1)], checkpoint_dir=tmp_path / "ckpt")
    state = load_checkpoint(CheckpointDir(tmp_path / "ckpt").files()[-1])
    state["history"]["stopped_reason"] = "completed"
    save_checkpoint(tmp_path / "old.safetensors", state)
    resumed = _moons_fit(moons, 10, resume_from=tmp_path / "old.safetensors")
    assert len(resumed.epochs) == 2 and resumed.stopped_reason == "stopped"


# -- a progress bar of one's own ---------------------------------------------------------------
def test_a_progress_bar_among_the_callbacks_takes_the_default_ones_place(moons):
    # the default bar was added too: every line came twice
    stream = io.StringIO()
    bar = ProgressBar(stream=stream)
    model = nn.MLP([2, 8, 2], seed=0)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                      epochs=2, callbacks=[bar])  # fmt: skip
    assert trainer.callbacks == [bar]
    X, y, _, _ = moons
    trainer.fit(X, y)
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/2", "2/2"]


# -- the probe's blame ---------------------------------------------------------------------------
_CHECKED = "(fit checks sample 0 alone before training; "


def _probed(model, loss, X, y, dev=None):
    with pytest.raises(ValueError) as info:
        fit(model, loss, optim.SGD(model.named_parameters(), lr=0.1), X, y, dev=dev,
            progress=False)  # fmt: skip
    return str(info.value)


def test_an_output_the_loss_refuses_is_named_as_the_models_output():
    # it said "y, sample 0": the -0.17 was the model's output, not a target
    X, labels = cr.data.make_moons(64, seed=1)
    Y = labels[:, None].astype(np.float32)
    message = _probed(nn.MLP([2, 8, 1], seed=0), "bce", X, Y)
    assert message.startswith(
        "the model's output for X, sample 0: bce: probabilities must lie in [0, 1]; got -0.17"
    )
    assert message.endswith(
        f"{_CHECKED}y has shape (64, 1), the model's output for X has shape (64, 1))"
    )
    model = nn.Linear(2, 1, rng=0)  # its output: the first feature
    model.weight.data[...] = [[1.0], [0.0]]
    model.bias.data[...] = 0.0
    X[:, 0], X_dev = 0.5, X[:8].copy()  # fit probes the samples of the extreme targets too
    X_dev[0, 0] = 3.0
    assert _probed(model, "bce", X, Y, dev=(X_dev, Y[:8])) == (
        "the model's output for X_dev, sample 0: bce: probabilities must lie in [0, 1]; got "
        f"3.0 at index (0, 0) {_CHECKED}y_dev has shape (8, 1), the model's output for X_dev "
        "has shape (8, 1))"
    )


def test_a_target_the_loss_refuses_is_named_also_when_the_output_is_refused_too():
    X, labels = cr.data.make_moons(64, seed=1)
    Y = 2 * labels[:, None].astype(np.float32)  # 0 or 2: 2 is refused
    Y[0] = 2.0
    assert _probed(nn.MLP([2, 8, 1], seed=0), "bce", X, Y) == (
        "y, sample 0: bce: targets must lie in [0, 1]; got 2.0 at index (0, 0) "
        f"{_CHECKED}y has shape (64, 1), the model's output for X has shape (64, 1))"
    )
    model = nn.MLP([2, 8, 1], seed=0, output="sigmoid")
    assert _probed(model, "bce", X, Y).startswith("y, sample 0: bce: targets must lie in")
