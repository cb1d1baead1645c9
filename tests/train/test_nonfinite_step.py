"""A step whose gradient or update goes non-finite stops the run at that step, naming it;
one whose squared gradient norm merely overflows trains on."""

import math
import warnings

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.regularization import l2_penalty
from chainrule.train import (
    CheckpointDir,
    LambdaCallback,
    NonFiniteStepError,
    TrainingInterrupted,
    fit,
)


def _data():
    X, y = make_moons(200, noise=0.2, seed=1)
    return X, y.astype(np.int64)


def _fit(tmp_path, model, opt, loss="cross_entropy", ckpt="ckpt", **options):
    with warnings.catch_warnings():  # the overflow of the squared norm, GradientWarning
        warnings.simplefilter("ignore")
        return fit(model, loss, opt, *_data(), epochs=3, batch_size=16, seed=5,
                   checkpoint_dir=tmp_path / ckpt, progress=False, **options)  # fmt: skip


def test_an_adam_state_that_overflows_stops_the_run_at_that_step(tmp_path):
    # lambda / (2 m) = 2.5e36 fits float32, the squares of the gradient (~1e36) do not: Adam's
    # s became inf, every later step of those weights was 0, and the run failed only at the
    # end of the epoch, where the checkpoint refused "optimizer.params.0.state.s"
    model = nn.MLP([2, 16, 2], activation="relu", seed=3)
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    steps = []
    with pytest.raises(
        NonFiniteStepError,
        match=r"^the update at epoch 1, step 1 left Adam's state 's' of parameter "
        r"'layers\.0\.weight' NaN or Inf \(its gradient's largest entry is \d\.\d+e\+3\d; "
        r"float32 holds the squares of entries up to 1\.84e\+19\); try a smaller",
    ) as info:
        _fit(tmp_path, model, opt, regularization=lambda m, n: l2_penalty(m, 1e39, n),
             callbacks=[LambdaCallback(on_batch_end=lambda t, b, v: steps.append(b))])  # fmt: skip
    assert isinstance(info.value, FloatingPointError)
    assert steps == [] and not CheckpointDir(tmp_path / "ckpt").files()


def test_a_nan_gradient_of_a_finite_cost_names_the_epoch_and_the_step(tmp_path):
    # the optimizer's FloatingPointError named the parameter, not where the run was
    armed = {"on": False}

    def loss(out, y):  # sqrt(0) has a finite value and an infinite slope: 0 * inf = NaN
        cost = losses.cross_entropy(out, y)
        return cost + (out * 0).sum().sqrt() if armed["on"] else cost

    def arm(trainer, batch, value):
        armed["on"] = trainer.epoch == 1 and batch == 2

    model = nn.MLP([2, 16, 2], activation="relu", seed=3)
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    before = {}
    keep = LambdaCallback(on_batch_end=lambda t, b, v: before.update(t.model.state_dict()))
    with pytest.raises(
        NonFiniteStepError,
        match=r"^at epoch 2, step 4: Adam\.step\(\): non-finite gradient \(NaN or Inf\) for "
        r"parameter\(s\) 'layers\.0\.weight', .*; no parameter was changed",
    ):
        _fit(tmp_path, model, opt, loss=loss, trace=False, callbacks=[LambdaCallback(
            on_batch_end=arm), keep])  # fmt: skip
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name


def _nan_gradient_at_epoch_2_batch_4(interrupt_at=None):
    """A cross-entropy loss whose gradient is NaN (its cost finite: the square root of a
    sum of zeros) in the fourth batch of the second epoch, and the callback that arms it
    (and, after batch ``interrupt_at`` of that epoch, sets the flag the SIGINT handler
    sets)."""
    armed = {"on": False}

    def loss(out, y):
        cost = losses.cross_entropy(out, y)
        return cost + (out * 0).sum().sqrt() if armed["on"] else cost

    def arm(trainer, batch, value):
        armed["on"] = trainer.epoch == 1 and batch == 2
        if interrupt_at is not None and trainer.epoch == 1 and batch == interrupt_at:
            trainer._interrupt = True

    return loss, LambdaCallback(on_batch_end=arm)


def test_a_skipped_nan_gradient_trains_on(tmp_path):
    """``nonfinite="skip"`` is the optimizer's to honour: the step is skipped, not refused."""
    loss, arm = _nan_gradient_at_epoch_2_batch_4()
    model = nn.MLP([2, 16, 2], activation="relu", seed=3)
    opt = optim.Adam(model.named_parameters(), lr=0.01, nonfinite="skip")
    history = _fit(tmp_path, model, opt, loss=loss, trace=False, callbacks=[arm])
    assert history.stopped_reason == "completed" and opt.step_count == 3 * 13 - 1
    assert math.isnan(history.grad_norms["layers.0.weight"][1])


def test_a_squared_norm_that_overflows_alone_trains_on(tmp_path):
    """Every entry's square fits float32, their sum does not: the logged norm is inf, as
    the gradient diagnostics read it, and Adam's state stays finite."""
    model = nn.MLP([2, 512, 2], activation="relu", seed=3)
    opt = optim.Adam(model.named_parameters(), lr=1e-3)
    history = _fit(tmp_path, model, opt, loss=lambda out, y: (out * 1e17).sum())
    assert history.stopped_reason == "completed"
    assert history.grad_norms["layers.2.weight"][0] == math.inf
    assert len(CheckpointDir(tmp_path / "ckpt").files()) == 2  # every state finite


def test_a_ctrl_c_after_a_skipped_nan_gradient_resumes_as_the_straight_run(tmp_path):
    # the skipped step's NaN squared norm went into the position's sums, which the
    # checkpoint saved and the resume refused ("squared norms (numbers >= 0)")
    def run(ckpt, interrupt=False, resume=None):
        loss, arm = _nan_gradient_at_epoch_2_batch_4(interrupt_at=4 if interrupt else None)
        model = nn.MLP([2, 16, 2], activation="relu", seed=3)
        opt = optim.Adam(model.named_parameters(), lr=0.01, nonfinite="skip")
        history = _fit(tmp_path, model, opt, loss=loss, trace=False, resume_from=resume,
                       callbacks=[arm], ckpt=ckpt)  # fmt: skip
        return model, history

    straight_model, straight = run("straight")
    with pytest.raises(TrainingInterrupted, match="epoch 2, after batch 5"):
        run("ckpt", interrupt=True)
    model, resumed = run("ckpt", resume=tmp_path / "ckpt")
    assert math.isnan(resumed.grad_norms["layers.0.weight"][1])
    assert resumed.grad_norms.keys() == straight.grad_norms.keys()
    for name, norms in straight.grad_norms.items():
        np.testing.assert_array_equal(resumed.grad_norms[name], norms, err_msg=name)
    assert resumed.step_losses == straight.step_losses
    for name, value in straight_model.state_dict().items():
        assert np.array_equal(model.state_dict()[name], value), name
