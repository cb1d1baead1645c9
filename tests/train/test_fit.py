"""fit(): learning, history, early stopping, determinism, bad input."""

import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.files import json_text
from chainrule.train import (
    CheckpointDir,
    EarlyStopping,
    HistoryLogger,
    LambdaCallback,
    ModelCheckpoint,
    NonFiniteLossError,
    ProgressBar,
    Trainer,
    evaluate,
    fit,
    predict,
)


def moons_model(seed=0, **kw):
    return nn.MLP([2, 16, 16, 2], activation="tanh", seed=seed, **kw)


def train_moons(moons, epochs=30, seed=0, model_kw=None, loss="cross_entropy", **kw):
    X, y, Xd, yd = moons
    model = moons_model(seed, **(model_kw or {}))
    opt = optim.Adam(model.named_parameters(), lr=0.02)
    history = fit(
        model,
        loss,
        opt,
        X,
        y,
        dev=(Xd, yd),
        epochs=epochs,
        batch_size=32,
        seed=seed,
        progress=False,
        **kw,
    )
    return model, history


def test_two_moons_reaches_97_percent_dev_accuracy(moons):
    model, history = train_moons(moons)
    assert history.last["dev_accuracy"] >= 0.97
    X, y, Xd, yd = moons
    results = evaluate(model, "cross_entropy", Xd, yd)
    assert results["accuracy"] == pytest.approx(history.last["dev_accuracy"])
    assert predict(model, Xd).shape == (len(Xd), 2)


def test_predict_gives_every_layer_back_the_mode_it_had():
    net = nn.MLP([2, 4, 2], batch_norm=True, dropout=0.5, seed=0)
    net.layers[1].eval()  # a batch norm frozen by hand
    modes = [m.training for _, m in net.named_modules()]
    predict(net, np.ones((3, 2), np.float32))
    assert [m.training for _, m in net.named_modules()] == modes
    assert modes.count(False) == 1


def test_history_has_what_it_promises(moons):
    _, history = train_moons(moons, epochs=3)
    X = moons[0]
    steps_per_epoch = math.ceil(len(X) / 32)
    assert len(history.epochs) == 3
    assert len(history.step_losses) == 3 * steps_per_epoch
    for row in history.epochs:
        for key in (
            "epoch",
            "lr",
            "train_loss",
            "train_accuracy",
            "dev_loss",
            "dev_accuracy",
            "time",
        ):
            assert key in row
        assert row["time"] > 0
    names = [name for name, _ in moons_model().named_parameters()]
    assert list(history.grad_norms) == names
    assert all(len(v) == 3 and all(x > 0 for x in v) for v in history.grad_norms.values())
    assert history.stopped_reason == "completed"
    assert history.column("epoch") == [1, 2, 3]
    # a mean over the epoch's examples: the last, smaller batch weighs by its size
    sizes = [32] * (steps_per_epoch - 1) + [len(X) - 32 * (steps_per_epoch - 1)]
    assert sizes[-1] < 32
    epoch_mean = np.average(history.step_losses[:steps_per_epoch], weights=sizes)
    assert history.epochs[0]["train_loss"] == pytest.approx(epoch_mean, rel=1e-12)
    assert history.epochs[0]["train_loss"] != pytest.approx(
        np.mean(history.step_losses[:steps_per_epoch]), rel=1e-6
    )


def test_same_seed_gives_bit_identical_histories(moons):
    strip = lambda h: [{k: v for k, v in row.items() if k != "time"} for row in h.epochs]  # noqa: E731
    (m1, h1), (m2, h2) = train_moons(moons, epochs=4), train_moons(moons, epochs=4)
    assert strip(h1) == strip(h2) and h1.step_losses == h2.step_losses
    for (_, a), (_, b) in zip(m1.named_parameters(), m2.named_parameters(), strict=True):
        assert np.array_equal(a.data, b.data)
    _, h3 = train_moons(moons, epochs=4, seed=1)
    assert h3.step_losses != h1.step_losses


@pytest.mark.parametrize(
    "options",
    [
        {"regularization": lambda m, n: cr.regularization.l2_penalty(m, 0.5, n)},
        {"model": {"dropout": 0.8}},  # not replayable: the trace falls back to the eager step
        {"model": {"batch_norm": True}},
        # a Python number from the targets: refused at the second step, then eager
        {"loss": lambda out, y: cr.losses.cross_entropy(out, y) * float(cr.tensor(y).data.mean())},
        {"loss": lambda out, y: cr.losses.nll(cr.log_softmax(out, axis=1), y)},
    ],
    ids=["l2", "dropout", "batch_norm", "reads_targets", "nll"],
)
def test_the_traced_step_trains_exactly_like_the_eager_step(moons, options):
    options = dict(options)
    model_kw = options.pop("model", {})
    runs = []
    for trace in (True, False):
        model, history = train_moons(moons, epochs=3, model_kw=model_kw, trace=trace, **options)
        rows = [{k: v for k, v in row.items() if k != "time"} for row in history.epochs]
        runs.append((rows, history.step_losses, history.grad_norms, model))
    (rows1, losses1, norms1, m1), (rows2, losses2, norms2, m2) = runs
    assert rows1 == rows2 and losses1 == losses2 and norms1 == norms2
    for (_, a), (_, b) in zip(m1.named_parameters(), m2.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


class _NoisyCounter(nn.Module):
    """A user layer that draws noise and counts its calls before its node() refuses the
    trace: the refused first step must not leave a draw or a count behind."""

    def __init__(self, seed):
        super().__init__()
        self.register_generator("rng", np.random.default_rng(seed))
        self.register_buffer("calls", np.zeros(1))

    def forward(self, x):
        noise = 1.0 + 0.1 * self.rng.standard_normal(x.shape).astype(x.dtype)
        self.calls += 1
        return cr.autodiff.node(x.data * noise, (x,), lambda g: (g * noise,), "noisy")

    def get_config(self):
        return {"type": "NoisyCounter"}


def test_a_user_layer_that_acts_before_refusing_the_trace_trains_like_eager(moons):
    X, y, _, _ = moons
    runs = []
    for trace in (True, False):
        model = nn.Sequential(
            nn.Linear(X.shape[1], 8, rng=0), _NoisyCounter(1), nn.Linear(8, 2, rng=2)
        )
        optimizer = optim.SGD(model.named_parameters(), lr=0.1)
        history = fit(
            model, "cross_entropy", optimizer, X, y, epochs=2, trace=trace, progress=False
        )
        runs.append((history.step_losses, model.state_dict(), model[1].rng.bit_generator.state))
    (losses1, state1, rng1), (losses2, state2, rng2) = runs
    assert losses1 == losses2 and rng1 == rng2
    for name in state1:
        np.testing.assert_array_equal(state1[name], state2[name], err_msg=name)


def test_early_stopping_stops_and_restores_best_weights(moons):
    X, y, Xd, yd = moons
    model = moons_model()
    opt = optim.SGD(model.named_parameters(), lr=0.05)
    snapshots = {}
    record = LambdaCallback(
        on_epoch_end=lambda t, e, logs: snapshots.__setitem__(e, t.model.state_dict())
    )
    stopper = EarlyStopping(
        monitor="dev_loss", patience=2, min_delta=10.0
    )  # never "improves" after 1st
    history = fit(
        model,
        "cross_entropy",
        opt,
        X,
        y,
        dev=(Xd, yd),
        epochs=50,
        batch_size=32,
        callbacks=[record, stopper],
        progress=False,
    )
    assert history.stopped_reason == "early_stopping"
    assert len(history.epochs) == 3  # best at epoch 1, then 2 (patience) epochs without gain
    assert stopper.best_epoch == 0
    for name, value in model.state_dict().items():
        assert np.array_equal(value, snapshots[0][name])


@pytest.mark.parametrize("patience, epochs", [(0, 2), (1, 2), (3, 4)])
def test_early_stopping_stops_after_patience_epochs_without_improvement(moons, patience, epochs):
    X, y, _, _ = moons
    model = moons_model()
    stopper = EarlyStopping(monitor="train_loss", patience=patience, min_delta=10.0)
    history = fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.05),
        X,
        y,
        epochs=10,
        callbacks=[stopper],
        progress=False,
    )
    assert history.stopped_reason == "early_stopping"
    assert len(history.epochs) == epochs  # the best epoch, then `patience` (at least 1) more
    assert stopper.stopped_epoch == epochs - 1 and stopper.wait == epochs - 1


def test_hooks_and_early_stopping_count_epochs_from_0_as_history_rows(moons):
    X, y, Xd, yd = moons
    model = moons_model()
    seen = []
    stopper = EarlyStopping(monitor="dev_loss", patience=2)
    history = fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=2.0),  # large: dev loss turns up
        X,
        y,
        dev=(Xd, yd),
        epochs=40,
        callbacks=[
            LambdaCallback(on_epoch_end=lambda t, epoch, logs: seen.append((epoch, logs))),
            stopper,
        ],
        progress=False,
    )
    assert [logs["epoch"] for _, logs in seen] == [epoch + 1 for epoch, _ in seen]
    assert [epoch for epoch, _ in seen] == list(range(len(history.epochs)))
    assert history.epochs[stopper.best_epoch]["dev_loss"] == stopper.best
    assert stopper.best == min(row["dev_loss"] for row in history.epochs)
    assert history.stopped_reason == "early_stopping"
    assert stopper.stopped_epoch == len(history.epochs) - 1 == stopper.best_epoch + 2


@pytest.mark.parametrize(
    "callback",
    [EarlyStopping(), ModelCheckpoint("unused", monitor="train_f1")],
    ids=["early_stopping", "model_checkpoint"],
)
def test_a_callback_that_monitors_a_missing_key_is_refused_before_training(moons, callback):
    X, y, _, _ = moons
    model = moons_model()
    before = model.state_dict()
    with pytest.raises(KeyError, match="cannot monitor '(dev_loss|train_f1)'"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            X,
            y,
            epochs=2,
            callbacks=[callback],
            progress=False,
        )
    for name, value in model.state_dict().items():  # not one step was taken
        assert np.array_equal(value, before[name]), name


@pytest.mark.parametrize("with_dev", [True, False])
def test_log_keys_name_exactly_the_keys_of_every_epochs_logs(moons, with_dev):
    X, y, Xd, yd = moons
    model = moons_model()
    trainer = cr.train.Trainer(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.1),
        epochs=2,
        metrics=["accuracy", "f1"],
        progress=False,
    )
    history = trainer.fit(X, y, dev=(Xd, yd) if with_dev else None)
    for row in history.epochs:  # what callbacks check before the first step is what comes
        assert list(row) == trainer.log_keys


def test_a_reused_early_stopping_starts_afresh(moons):
    X, y, Xd, yd = moons
    stopper = EarlyStopping(patience=1)

    def run(model, optimizer, epochs):
        options = {"dev": (Xd, yd), "epochs": epochs, "progress": False}
        return fit(model, "cross_entropy", optimizer, X, y, callbacks=[stopper], **options)

    first = moons_model()
    run(first, optim.Adam(first.named_parameters(), lr=0.05), 4)
    assert stopper.best_weights is not None
    second = moons_model(seed=9)
    start = second.state_dict()
    history = run(second, optim.SGD(second.named_parameters(), lr=0.0), 1)
    assert history.stopped_reason == "completed"
    assert stopper.best_epoch == 0 and stopper.wait == 0
    for name, value in second.state_dict().items():  # its own best weights, not first's
        assert np.array_equal(value, start[name]), name


def _drive(callback, key, values):
    """Call ``callback`` as ``fit`` does over epochs that log ``values`` of ``key``, every
    weight of the model set to the epoch's index before that epoch's end; returns the
    trainer (built without an optimizer: nothing steps)."""
    model = nn.Linear(1, 2, rng=0)
    trainer = Trainer(model, "mse", None, progress=False)
    trainer.log_keys, trainer.restored_callbacks = ["epoch", key, "time"], ()
    callback.on_train_begin(trainer)
    for epoch, value in enumerate(values):
        model.load_state_dict({k: np.full_like(v, epoch) for k, v in model.state_dict().items()})
        logs = {"epoch": epoch + 1, key: value, "time": 0.0}
        trainer.history.epochs.append(logs)
        callback.on_epoch_end(trainer, epoch, logs)
        if trainer.stop_training:
            break
    callback.on_train_end(trainer)
    return trainer


def _weights_of(model) -> float:
    """The one value every weight of a model that ``_drive`` set holds."""
    (value,) = {float(v) for a in model.state_dict().values() for v in a.ravel()}
    return value


@pytest.mark.parametrize(
    ("key", "mode", "best_epoch"),
    [
        ("dev_accuracy", "min", 1),  # "auto" would maximize an accuracy
        ("dev_loss", "max", 3),  # and minimize a loss
        ("dev_accuracy", "auto", 3),
        ("dev_loss", "auto", 1),
    ],
)
def test_the_best_epoch_is_the_best_in_the_modes_direction(tmp_path, key, mode, best_epoch):
    values = [3.0, 1.0, 2.0, 5.0, 4.0]
    stopper = EarlyStopping(key, mode=mode, patience=10)
    trainer = _drive(stopper, key, values)
    assert (stopper.best_epoch, stopper.best) == (best_epoch, values[best_epoch])
    assert stopper.stopped_epoch is None
    assert _weights_of(trainer.model) == best_epoch  # restored
    saver = ModelCheckpoint(tmp_path, key, mode=mode)
    _drive(saver, key, values)
    state = saver.state_dict()
    assert (state["best_epoch"], state["best"]) == (best_epoch, values[best_epoch])
    assert _weights_of(cr.load(tmp_path / "best.safetensors")) == best_epoch
    assert _weights_of(cr.load(tmp_path / "last.safetensors")) == len(values) - 1


@pytest.mark.parametrize(
    ("mode", "epochs", "best_epoch", "stopped_epoch"), [("max", 2, 0, 1), ("min", 4, 3, None)]
)
def test_early_stopping_in_max_mode_stops_when_the_value_falls(
    mode, epochs, best_epoch, stopped_epoch
):
    stopper = EarlyStopping("dev_loss", mode=mode, patience=1)
    history = _drive(stopper, "dev_loss", [4.0, 3.0, 2.0, 1.0]).history
    assert len(history.epochs) == epochs
    assert (stopper.best_epoch, stopper.stopped_epoch) == (best_epoch, stopped_epoch)
    assert history.stopped_reason == ("completed" if stopped_epoch is None else "early_stopping")


@pytest.mark.parametrize(("restore", "weights"), [(True, 1.0), (False, 3.0)])
def test_without_restore_best_weights_the_model_keeps_its_last_weights(restore, weights):
    stopper = EarlyStopping("dev_loss", patience=2, restore_best_weights=restore)
    trainer = _drive(stopper, "dev_loss", [3.0, 1.0, 2.0, 2.0, 0.5])
    assert trainer.history.stopped_reason == "early_stopping"
    assert (len(trainer.history.epochs), stopper.best_epoch) == (4, 1)
    assert _weights_of(trainer.model) == weights


@pytest.mark.parametrize(
    ("values", "patience", "restore", "stopped", "best_epoch", "weights"),
    [
        ([math.nan, 4.0, 3.0, 3.5], 1, True, 3, 2, 2.0),
        ([math.nan, math.nan, 3.0], 1, True, 1, 0, 0.0),  # the first epoch's, as Keras
        ([math.nan, math.nan, 3.0], 0, False, 1, -1, 1.0),
        ([math.inf, 2.0, 1.0], 0, True, None, 2, 2.0),
    ],
)
def test_early_stopping_never_stops_at_the_first_epoch_as_keras(
    values, patience, restore, stopped, best_epoch, weights
):
    # a first value of NaN stopped the run there, and no weights were restored
    stopper = EarlyStopping("dev_loss", patience=patience, restore_best_weights=restore)
    trainer = _drive(stopper, "dev_loss", values)
    assert (stopper.stopped_epoch, stopper.best_epoch) == (stopped, best_epoch)
    epochs = len(values) if stopped is None else stopped + 1
    assert len(trainer.history.epochs) == epochs
    reason = "completed" if stopped is None else "early_stopping"
    assert trainer.history.stopped_reason == reason
    assert _weights_of(trainer.model) == weights


def test_a_history_column_of_a_key_some_epoch_did_not_log_is_a_key_error():
    from chainrule.train import History

    history = History(epochs=[{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
    assert history.column("train_loss") == [0.5, 0.25]
    history.epochs[1]["dev_loss"] = 0.75
    for key in ("dev_loss", "missing"):
        says = f"no {key!r} in the history; logged keys are ['dev_loss', 'epoch', 'train_loss']"
        with pytest.raises(KeyError, match=re.escape(says)):
            history.column(key)


def test_history_logger_and_progress_output(moons, tmp_path):
    X, y, Xd, yd = moons
    model = moons_model()
    stream = io.StringIO()
    fit(
        model,
        "cross_entropy",
        optim.Adam(model.named_parameters(), lr=0.01),
        X,
        y,
        dev=(Xd, yd),
        epochs=2,
        progress=False,
        callbacks=[
            HistoryLogger(tmp_path / "h.csv"),
            HistoryLogger(tmp_path / "h.json"),
            ProgressBar(stream=stream),
        ],
    )
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_loss") and len(lines) == 3
    assert '"step_losses"' in (tmp_path / "h.json").read_text()
    out = stream.getvalue().splitlines()
    assert len(out) == 2 and out[0].startswith("epoch 1/2") and "dev_accuracy" in out[0]


def test_progress_bar_shows_the_logged_train_loss_when_the_last_batch_is_smaller(moons):
    X, y, _, _ = moons
    X, y = X[:100], y[:100]  # batches of 32, 32, 32 and 4
    model = moons_model()
    stream = io.StringIO()
    history = fit(
        model,
        "cross_entropy",
        optim.Adam(model.named_parameters(), lr=0.05),
        X,
        y,
        epochs=1,
        batch_size=32,
        progress=False,
        callbacks=[ProgressBar(quiet=False, stream=stream)],
    )
    last_live = stream.getvalue().split("\r")[-2]  # the 4/4 update, before the summary line
    assert last_live.startswith("epoch 1/1 [") and " 4/4 " in last_live
    shown = last_live.rsplit("loss ", 1)[1]
    assert shown == f"{history.last['train_loss']:.4f}"
    # the mean of the four batch means (what the bar used to show) reads differently
    assert shown != f"{np.mean(history.step_losses):.4f}"


def test_regularization_term_enters_the_cost(moons):
    X, y, _, _ = moons
    losses = []
    for lam in (0.0, 50.0):
        model = moons_model()
        h = fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.0),
            X,
            y,
            epochs=1,
            progress=False,
            regularization=lambda m, n, lam=lam: cr.regularization.l2_penalty(m, lam, n),
        )
        losses.append(h.step_losses[0])
    model = moons_model()
    expected = cr.regularization.l2_penalty(model, 50.0, len(X)).item()
    assert losses[1] - losses[0] == pytest.approx(expected, rel=1e-4)


def test_quadratic_cost_with_one_hot_targets_counts_accuracy(moons):
    X, y, Xd, yd = moons
    Y = cr.data.one_hot(y, 2)
    model = nn.MLP([2, 16, 2], activation="sigmoid", output="sigmoid", seed=0)
    history = fit(
        model,
        "quadratic",
        optim.SGD(model.named_parameters(), lr=3.0),
        X,
        Y,
        dev=(Xd, cr.data.one_hot(yd, 2)),
        epochs=3,
        batch_size=10,
        progress=False,
    )
    assert 0.5 < history.last["dev_accuracy"] <= 1.0


# -- bad input ---------------------------------------------------------------------------
def test_model_input_size_mismatch_raises_before_training(moons):
    X, y, _, _ = moons
    model = nn.MLP([3, 4, 2], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="expected input with 3 features, got 2"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            X,
            y,
            progress=False,
        )
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_float_targets_for_cross_entropy_raise(moons):
    X, y, _, _ = moons
    model = moons_model()
    with pytest.raises(ValueError, match="label"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            X,
            y.astype(np.float32) + 0.5,
            progress=False,
        )


def test_dev_set_with_other_feature_count_raises(moons):
    X, y, Xd, yd = moons
    model = moons_model()
    with pytest.raises(ValueError, match=r"dev set has feature shape \(3,\)"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            X,
            y,
            dev=(np.ones((5, 3), np.float32), yd[:5]),
            progress=False,
        )


def test_length_mismatch_and_bad_options(moons):
    X, y, _, _ = moons
    model = moons_model()
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    with pytest.raises(ValueError, match="samples but y has"):
        fit(model, "cross_entropy", opt, X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="epochs expected an integer >= 0, got -1"):
        fit(model, "cross_entropy", opt, X, y, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="batch_size expected an integer >= 1, got 0"):
        fit(model, "cross_entropy", opt, X, y, batch_size=0, progress=False)
    with pytest.raises(TypeError, match="batch_size expected an integer >= 1, got float 2.0"):
        fit(model, "cross_entropy", opt, X, y, batch_size=2.0, progress=False)
    with pytest.raises(ValueError, match="unknown"):
        fit(model, "cross_entropyy", opt, X, y, progress=False)
    with pytest.raises(TypeError, match="trace expected True or False, got 1"):
        fit(model, "cross_entropy", opt, X, y, trace=1, progress=False)
    with pytest.raises(TypeError, match="share_threads expected True or False, got 'yes'"):
        fit(model, "cross_entropy", opt, X, y, share_threads="yes", progress=False)
    for name in ("shuffle", "drop_last", "progress"):  # a string 'False' is truthy
        with pytest.raises(TypeError, match=f"{name} expected True or False, got 'False'"):
            fit(model, "cross_entropy", opt, X, y, **{"progress": False, name: "False"})
    assert opt.step_count == 0


def test_numpy_integers_are_taken_for_epochs_and_batch_size(moons):
    X, y, _, _ = moons
    model = moons_model()
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    history = fit(
        model,
        "cross_entropy",
        opt,
        X,
        y,
        epochs=np.int64(2),
        batch_size=np.int32(50),
        progress=False,
    )
    assert len(history.epochs) == 2 and opt.step_count == 2 * -(-len(X) // 50)


def test_non_finite_loss_names_epoch_and_step_and_writes_no_checkpoint(tmp_path):
    X, y = cr.data.make_sine(200, noise=0.1, seed=0)
    model = nn.MLP([1, 16, 1], activation="relu", seed=0)
    opt = optim.SGD(model.named_parameters(), lr=50.0)  # diverges within a few steps
    with pytest.raises(NonFiniteLossError, match=r"epoch \d+, step \d+"), np.errstate(all="ignore"):
        fit(model, "mse", opt, X, y, epochs=20, checkpoint_dir=tmp_path, progress=False)
    assert not list(tmp_path.glob("checkpoint-*"))


def test_vanishing_gradients_are_warned_about_once():
    from chainrule.train import GradientWarning

    X, y = cr.data.make_moons(128, noise=0.1, seed=0)
    model = nn.MLP([2] + [32] * 10 + [2], activation="sigmoid", init="normal", seed=0)
    opt = optim.SGD(model.named_parameters(), lr=0.01)
    with pytest.warns(GradientWarning, match="vanish") as caught:
        fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=2, progress=False)
    assert len([w for w in caught if issubclass(w.category, GradientWarning)]) == 1


def test_binary_float_labels_log_accuracy(moons):
    X, y, Xd, yd = moons
    model = nn.MLP([2, 16, 1], activation="tanh", seed=0)
    history = fit(
        model,
        "bce_with_logits",
        optim.Adam(model.named_parameters(), lr=0.02),
        X,
        y.astype(np.float32).reshape(-1, 1),
        dev=(Xd, yd.astype(np.float32).reshape(-1, 1)),
        epochs=10,
        progress=False,
    )
    assert history.last["dev_accuracy"] > 0.85 and "train_accuracy" in history.last


@pytest.mark.parametrize("loss", ["mse", "quadratic", "mae"])
def test_a_linear_output_on_the_targets_scale_is_read_at_one_half(moons, loss):
    # outputs trained toward 0/1 targets: class 1 above 0.5; they were read as logits,
    # class 1 above 0, which counted most of class 0 as class 1
    X, y, Xd, yd = moons
    model = nn.MLP([2, 16, 1], activation="tanh", seed=0)
    history = fit(
        model,
        loss,
        optim.Adam(model.named_parameters(), lr=0.02),
        X,
        y.astype(np.float32).reshape(-1, 1),
        dev=(Xd, yd.astype(np.float32).reshape(-1, 1)),
        epochs=10,
        progress=False,
    )
    outputs = predict(model, Xd).reshape(-1)
    assert outputs.min() < 0 or outputs.max() > 1  # strays outside [0, 1]: clipped, not refused
    expected = np.mean((outputs > 0.5) == yd)
    assert history.last["dev_accuracy"] == pytest.approx(expected) and expected > 0.8
    scores = evaluate(model, loss, Xd, yd.astype(np.float32).reshape(-1, 1))
    assert scores["accuracy"] == pytest.approx(expected)


@pytest.mark.parametrize("trace", [True, False])
def test_regression_targets_log_mse(trace):
    # one full batch with lr=0: the step's outputs are the model's outputs on X
    X, y = cr.data.make_sine(200, noise=0.1, seed=0)
    model = nn.MLP([1, 16, 1], activation="tanh", seed=0)
    history = fit(
        model,
        "mse",
        optim.SGD(model.named_parameters(), lr=0.0),
        X,
        y,
        dev=(X, y),
        epochs=1,
        batch_size=len(X),
        trace=trace,
        progress=False,
    )
    expected = cr.train.metrics.mse(y, predict(model, X))
    assert expected > 0.01
    for key in ("train_mse", "dev_mse", "train_loss", "dev_loss"):
        assert history.last[key] == pytest.approx(expected, rel=1e-6), key


def test_a_regression_run_keeps_regression_metrics_on_dev_targets_of_only_0_and_1():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = rng.integers(0, 4, (64, 1)).astype(np.float32)  # 0..3: regression targets
    Xd = rng.standard_normal((16, 2)).astype(np.float32)
    yd = rng.integers(0, 2, (16, 1)).astype(np.float32)  # only 0/1, as labels would be
    model = nn.MLP([2, 8, 1], seed=0)
    optimizer = optim.SGD(model.named_parameters(), lr=0.01)
    history = fit(model, "mse", optimizer, X, y, dev=(Xd, yd), epochs=2, progress=False)
    expected = cr.train.metrics.mse(yd, predict(model, Xd))  # from the raw outputs
    assert history.epochs[-1]["dev_mse"] == pytest.approx(expected, rel=1e-6)


def test_model_checkpoint_writes_best_and_last_model_files(moons, tmp_path):
    X, y, Xd, yd = moons
    model = moons_model()
    best_states = {}

    def remember(trainer, epoch, logs):
        earlier = [r["dev_accuracy"] for r in trainer.history.epochs[:-1]]
        if not earlier or logs["dev_accuracy"] > max(earlier):  # strict, as the callback
            best_states["state"] = trainer.model.state_dict()

    history = fit(
        model,
        "cross_entropy",
        optim.Adam(model.named_parameters(), lr=0.02),
        X,
        y,
        dev=(Xd, yd),
        epochs=6,
        progress=False,
        callbacks=[
            LambdaCallback(on_epoch_end=remember),
            ModelCheckpoint(tmp_path, monitor="dev_accuracy"),
        ],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors", "last.safetensors"]
    last = cr.load(tmp_path / "last.safetensors")
    for key, value in model.state_dict().items():
        assert np.array_equal(last.state_dict()[key], value)
    best = cr.load(tmp_path / "best.safetensors")
    for key, value in best_states["state"].items():
        assert np.array_equal(best.state_dict()[key], value)
    assert len(history.epochs) == 6


def test_converged_training_is_no_vanishing_gradient():
    # Two far-apart blobs: the training cost reaches 0 in an epoch and every gradient,
    # the output layer's too, falls below min_norm. Nothing vanishes relative to the top.
    import warnings

    from chainrule.train import GradientWarning

    X, y = cr.data.make_blobs(300, centers=[[-6, -6], [6, 6]], std=0.5, seed=0)
    model = nn.MLP([2, 16, 16, 2], activation="relu", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)
        history = fit(
            model,
            "cross_entropy",
            optim.Adam(model.named_parameters(), lr=0.05),
            X,
            y,
            epochs=4,
            batch_size=64,
            progress=False,
        )
    assert max(norms[-1] for norms in history.grad_norms.values()) < 1e-7


@pytest.mark.parametrize(
    "seed, error, match",
    [
        (None, TypeError, "seed expected an integer >= 0, got NoneType None"),
        (1.0, TypeError, "seed expected an integer >= 0, got float 1.0"),
        (-1, ValueError, "seed expected an integer >= 0, got -1"),
    ],
)
def test_seed_must_be_an_integer(moons, seed, error, match):
    X, y, _, _ = moons
    model = moons_model()
    with pytest.raises(error, match=match):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            X,
            y,
            seed=seed,
            progress=False,
        )


def _sine_steps(y, dev=None, **options):
    """The steps a regression fit took before it raised, and the error."""
    X, _ = cr.data.make_sine(64, seed=0)
    model = nn.MLP([1, 8, 1], activation="tanh", seed=0)
    steps = []
    record = LambdaCallback(on_batch_end=lambda t, b, loss: steps.append(b))
    with pytest.raises(ValueError) as info:
        fit(
            model,
            "mse",
            optim.SGD(model.named_parameters(), lr=0.01),
            X,
            y,
            dev=dev,
            batch_size=16,
            callbacks=[record],
            progress=False,
            **options,
        )
    return steps, str(info.value)


def test_a_metric_of_the_other_task_is_refused_before_the_first_step():
    X, y = cr.data.make_sine(64, seed=0)
    steps, message = _sine_steps(y, metrics=["mse", "accuracy"])
    assert steps == []
    assert "metrics ['accuracy'] need classification targets" in message
    assert "regression targets" in message and "'r2'" in message
    model = moons_model()
    labels = np.zeros(len(X), np.int64)
    with pytest.raises(ValueError, match=r"metrics \['mse'\] need regression targets"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=0.1),
            np.zeros((len(X), 2), np.float32),
            labels,
            metrics=["mse"],
            progress=False,
        )


@pytest.mark.parametrize("where", ["y", "y_dev"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_targets_are_refused_before_the_first_step(where, bad):
    X, y = cr.data.make_sine(64, seed=0)
    broken = y.copy()
    broken[40] = bad
    if where == "y":
        steps, message = _sine_steps(broken)
    else:
        steps, message = _sine_steps(y, dev=(X, broken))
    assert steps == []
    assert message == (
        f"{where}: expected finite values, got 1 NaN or Inf values in 1 of 64 rows and 1 of 1 "
        f"columns (the first, {bad}, at {where}[40, 0])"
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_dev_inputs_are_refused_before_the_first_step(bad):
    # they went through an epoch of training, then logged inf or raised "did training
    # diverge?" at the first dev evaluation
    X, y = cr.data.make_sine(64, seed=0)
    broken = X.copy()
    broken[3, 0] = bad
    steps, message = _sine_steps(y, dev=(broken, y))
    assert steps == []
    assert message == (
        "X_dev: expected finite values, got 1 NaN or Inf values in 1 of 64 rows and 1 of 1 "
        f"columns (the first, {bad}, at X_dev[3, 0])"
    )


@pytest.mark.parametrize("training", [True, False])
def test_a_refused_fit_leaves_the_models_mode_as_it_was(moons, training):
    X, y, _, _ = moons
    model = nn.MLP([3, 4, 2], seed=0)
    model.train(training)
    with pytest.raises(ValueError, match="expected input with 3 features"):
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y)
    assert model.training is training


def test_a_trainer_runs_once(moons):
    X, y, _, _ = moons
    model = moons_model()
    optimizer = optim.SGD(model.named_parameters(), lr=0.1)
    trainer = cr.train.Trainer(model, "cross_entropy", optimizer, epochs=1, progress=False)
    with pytest.raises(ValueError, match="samples but y has"):
        trainer.fit(X, y[:-1])  # refused by its checks: the Trainer has not run yet
    history = trainer.fit(X, y)
    weights = model.state_dict()
    with pytest.raises(RuntimeError, match="finished its run .epochs logged: 1, stopped_reason"):
        trainer.fit(X, y)
    assert len(history.epochs) == 1
    for name, value in model.state_dict().items():
        assert np.array_equal(value, weights[name]), name


def test_an_optimizer_over_another_models_parameters_is_refused_before_the_first_step(moons):
    X, y, _, _ = moons
    model, other = moons_model(seed=0), moons_model(seed=1)
    before, other_before = model.state_dict(), other.state_dict()
    steps = []
    record = LambdaCallback(on_batch_end=lambda t, b, loss: steps.append(b))
    optimizer = optim.SGD(other.named_parameters(), lr=0.1)
    with pytest.raises(ValueError, match="the optimizer holds none of the model's 6 parameters"):
        fit(model, "cross_entropy", optimizer, X, y, callbacks=[record], progress=False)
    assert steps == [] and optimizer.step_count == 0
    for held, state in ((model, before), (other, other_before)):
        for name, value in held.state_dict().items():
            assert np.array_equal(value, state[name]), name


def test_an_optimizer_may_hold_tensors_beyond_the_models():
    X, y = cr.data.make_sine(64, seed=0)
    model = nn.MLP([1, 8, 1], activation="tanh", seed=0)
    scale = cr.tensor(np.ones(1, np.float32), requires_grad=True)  # the loss's own
    optimizer = optim.SGD([*model.named_parameters(), ("scale", scale)], lr=0.01)
    history = fit(
        model,
        lambda out, target: cr.losses.mse(out * scale, target),
        optimizer,
        X,
        y,
        epochs=1,
        progress=False,
    )
    assert history.stopped_reason == "completed" and scale.data[0] != 1.0


def test_frozen_parameters_gradients_do_not_pile_up_across_steps():
    # lr 0 and the same batches every epoch: every step's gradients are the same, so every
    # epoch's gradient norms are too, for the frozen first layer as for the trained last
    X, y = cr.data.make_sine(64, seed=0)
    model = nn.MLP([1, 8, 1], activation="tanh", seed=0)
    trained = [(n, p) for n, p in model.named_parameters() if n.startswith("layers.2.")]
    optimizer = optim.SGD(trained, lr=0.0)
    history = fit(
        model, "mse", optimizer, X, y, epochs=3, batch_size=16, shuffle=False, progress=False
    )
    assert set(history.grad_norms) == {n for n, _ in model.named_parameters()}
    for name, norms in history.grad_norms.items():
        assert norms[0] > 0 and norms == [norms[0]] * 3, name


@pytest.mark.parametrize(
    "n, batch_size, match",
    [
        (65, 32, "but 65 training examples in batches of 32 leave a last batch of 1; pass "),
        (64, 1, "but batch_size=1 makes every batch a single example; expected a batch_size"),
    ],
    ids=["last-batch-of-one", "batch-size-one"],
)
def test_batch_norm_with_a_batch_of_one_example_is_refused_before_the_first_step(
    n, batch_size, match
):
    X, y = cr.data.make_moons(n, noise=0.2, seed=1)
    y = y.astype(np.int64)
    model = nn.MLP([2, 8, 2], batch_norm=True, seed=0)
    before = model.state_dict()  # the weights and the running statistics
    optimizer = optim.Adam(model.named_parameters(), lr=0.01)
    options = {"batch_size": batch_size, "progress": False}
    with pytest.raises(ValueError, match=match):
        fit(model, "cross_entropy", optimizer, X, y, **options)
    assert optimizer.step_count == 0
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
    if batch_size > 1:  # dropping the last batch of one trains
        history = fit(model, "cross_entropy", optimizer, X, y, drop_last=True, **options)
        assert len(history.step_losses) == 10 * (n // batch_size)


@pytest.mark.parametrize(
    "option",
    [
        "from_logits",
        "checkpoint_dir_a_file",
        "checkpoint_dir_below_a_file",
        "labels",
        "dev_targets",
        "metrics_a_string",
        "metrics_not_a_list",
        "callbacks_not_a_list",
        "callback_not_a_callback",
        "regularization",
        "regularization_arity",
        "dev_not_a_pair",
        "save_extras_not_a_dict",
        "save_extras_unknown_key",
        "scaler",
        "scaler_unfitted",
        "labels_a_string",
        "metadata_not_a_dict",
        "metadata_not_pure_data",
    ],
)
def test_bad_options_are_refused_before_the_first_step(moons, tmp_path, option):
    X, y, Xd, yd = moons
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    error, match, options = {
        "from_logits": (
            TypeError,
            "Trainer: from_logits expected True or False, got 'no'",
            {"from_logits": "no"},
        ),
        "checkpoint_dir_a_file": (
            ValueError,
            f"checkpoint_dir {blocker}: expected a directory or a path where one can be made, "
            f"but {blocker} exists and is not a directory",
            {"checkpoint_dir": blocker},
        ),
        "checkpoint_dir_below_a_file": (
            ValueError,
            f"but {blocker} exists and is not a directory",
            {"checkpoint_dir": blocker / "checkpoints"},
        ),
        "labels": (
            ValueError,
            "Trainer: save_extras: labels expected 2 labels, one per output of the model, got 3",
            {"save_extras": {"labels": ["a", "b", "c"]}},
        ),
        "dev_targets": (
            ValueError,
            "cross_entropy: expected integer labels",
            {"dev": (Xd, yd.astype(np.float32).reshape(-1, 1))},
        ),
        "metrics_a_string": (
            TypeError,
            "Trainer: metrics expected a list of metric names, got the string 'accuracy'; "
            "write ['accuracy']",
            {"metrics": "accuracy"},
        ),
        "metrics_not_a_list": (
            TypeError,
            "Trainer: metrics expected a list of metric names, got int 5",
            {"metrics": 5},
        ),
        "callbacks_not_a_list": (
            TypeError,
            "Trainer: callbacks expected a list of Callback instances, got int 5",
            {"callbacks": 5},
        ),
        "callback_not_a_callback": (
            TypeError,
            "Trainer: callbacks expected a list of Callback instances, got one function",
            {"callbacks": [lambda trainer: None]},
        ),
        "regularization": (
            TypeError,
            "Trainer: regularization expected a callable (model, n_train) -> Tensor, got float 0.1",
            {"regularization": 0.1},
        ),
        "regularization_arity": (
            TypeError,
            "Trainer: regularization expected a callable (model, n_train) -> Tensor, "
            "got <lambda>(model)",
            {"regularization": lambda model: 0.0},
        ),
        "dev_not_a_pair": (
            TypeError,
            "dev expected a pair (X_dev, y_dev), got ndarray",
            {"dev": Xd},
        ),
        # ModelCheckpoint's first save, after an epoch of training, used to refuse these
        "save_extras_not_a_dict": (
            TypeError,
            "Trainer: save_extras expected a dict of chainrule.save's keyword arguments "
            "(scaler, labels, metadata), got list ['a', 'b']",
            {"save_extras": ["a", "b"]},
        ),
        "save_extras_unknown_key": (
            ValueError,
            "Trainer: save_extras expected keys among ['scaler', 'labels', 'metadata'], "
            "got ['scalar']",
            {"save_extras": {"scalar": None}},
        ),
        "scaler": (
            TypeError,
            "Trainer: save_extras: scaler expected a Standardizer or MinMaxScaler, got int",
            {"save_extras": {"scaler": 5}},
        ),
        "scaler_unfitted": (
            ValueError,
            "Trainer: save_extras: scaler expected a fitted scaler, got Standardizer is not fitted",
            {"save_extras": {"scaler": cr.data.Standardizer()}},
        ),
        "labels_a_string": (  # it was saved as the labels ['a', 'b']
            TypeError,
            "Trainer: save_extras: labels expected a list of str, one class name per output, "
            "got str 'ab'",
            {"save_extras": {"labels": "ab"}},
        ),
        "metadata_not_a_dict": (
            TypeError,
            "Trainer: save_extras: metadata expected a dict, got int 5",
            {"save_extras": {"metadata": 5}},
        ),
        "metadata_not_pure_data": (  # refused at ModelCheckpoint's first save
            TypeError,
            "Trainer: save_extras: metadata expected pure data, but cannot store object at "
            "metadata.run",
            {"save_extras": {"metadata": {"run": object()}}},
        ),
    }[option]
    model = moons_model()
    before = model.state_dict()
    optimizer = optim.Adam(model.named_parameters(), lr=0.02)
    steps = []
    callbacks = [
        LambdaCallback(on_batch_end=lambda t, b, loss: steps.append(b)),
        ModelCheckpoint(tmp_path / "models", monitor="train_loss"),
    ]
    options = {"dev": (Xd, yd), "callbacks": callbacks, **options}
    with pytest.raises(error) as info:
        fit(model, "cross_entropy", optimizer, X, y, epochs=2, progress=False, **options)
    assert match in str(info.value)
    assert steps == [] and optimizer.step_count == 0
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize(("loss", "shown"), [(5, "int 5"), (None, "NoneType None")])
def test_a_loss_that_is_neither_callable_nor_a_name_is_refused_naming_it(loss, shown):
    # it said "loss must be a callable or a loss name, got int", naming no owner nor value
    model = moons_model()
    optimizer = optim.Adam(model.named_parameters(), lr=0.02)
    with pytest.raises(TypeError) as info:
        Trainer(model, loss, optimizer)
    assert str(info.value) == (
        "Trainer: loss expected a callable (outputs, targets) -> Tensor, or a loss name, "
        f"got {shown}"
    )


@pytest.mark.parametrize("where", ["y", "y_dev"])
def test_a_label_out_of_range_anywhere_is_refused_before_the_first_step(where):
    X = np.random.default_rng(0).random((50, 4)).astype(np.float32)
    y, y_dev = np.arange(50) % 3, np.arange(50) % 3
    (y if where == "y" else y_dev)[37] = 5  # far from the first batch and sample
    model = cr.nn.MLP([4, 8, 3], seed=0)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = cr.optim.Adam(model.named_parameters())
    with pytest.raises(ValueError, match=f"{where}, sample 37: .*class label 5"):
        cr.fit(model, "cross_entropy", opt, X, y, dev=(X, y_dev), epochs=1, batch_size=10,
               progress=False)  # fmt: skip
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: ModelCheckpoint(d / "file", monitor="train_loss"), "file exists and is not"),
        (lambda d: HistoryLogger(d / "file" / "h.csv"), "file is a file"),
        (lambda d: HistoryLogger(d / "folder.json"), "folder.json is a directory"),
    ],
)
def test_callback_paths_that_cannot_be_written_are_refused_before_training(
    moons, tmp_path, make, says
):
    (tmp_path / "file").write_text("a user's file")
    (tmp_path / "folder.json").mkdir()
    X, y, _, _ = moons
    model = moons_model()
    before = model.state_dict()
    with pytest.raises(ValueError, match=says):
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y,
            epochs=1, callbacks=[make(tmp_path)], progress=False)  # fmt: skip
    for name, value in model.state_dict().items():  # not one step was taken
        assert np.array_equal(value, before[name]), name
    assert (tmp_path / "file").read_text() == "a user's file"


def _fit_moons_with(moons, callbacks, steps):
    """Fit a moons model for an epoch with ``callbacks``, each step's batch index going to
    the list ``steps`` (which stays empty when the run is refused)."""
    X, y, _, _ = moons
    model = moons_model()
    counter = LambdaCallback(on_batch_end=lambda t, b, loss: steps.append(b))
    fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y,
        epochs=1, callbacks=[counter, *callbacks], progress=False)  # fmt: skip


def _deny(monkeypatch, *paths):
    """``os.access`` says no for ``paths`` (this process, as root, may write anything)."""
    real = os.access
    denied = {Path(p) for p in paths}
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) not in denied and real(p, mode))


@pytest.mark.parametrize("name", ["best.safetensors", "last.safetensors"])
def test_model_checkpoint_files_that_cannot_be_written_are_refused_before_training(
    moons, tmp_path, name
):
    # only the directory was checked: the save failed after an epoch of training
    (tmp_path / "models" / name).mkdir(parents=True)
    saver = ModelCheckpoint(tmp_path / "models", monitor="train_loss")
    says = f"ModelCheckpoint: expected a file path, but {tmp_path / 'models' / name} is a dir"
    steps = []
    with pytest.raises(ValueError, match=says):
        _fit_moons_with(moons, [saver], steps)
    assert steps == []


@pytest.mark.parametrize(
    ("make", "denied", "says"),
    [
        (
            lambda d: ModelCheckpoint(d / "models", monitor="train_loss"),
            "models",
            "ModelCheckpoint: expected a directory or a path where one can be made, but "
            "{d}/models is not writable",
        ),
        (
            lambda d: HistoryLogger(d / "h.csv"),
            "h.csv",
            "HistoryLogger: expected a file path, but {d}/h.csv is read-only",
        ),
        (
            lambda d: HistoryLogger(d / "new" / "h.json"),
            ".",
            "HistoryLogger: expected a file path, but {d} is not writable",
        ),
    ],
)
def test_callback_paths_this_process_may_not_write_are_refused_before_training(
    moons, tmp_path, monkeypatch, make, denied, says
):
    # they passed the checks, and the write failed after the first epoch
    (tmp_path / "models").mkdir()
    (tmp_path / "h.csv").write_text("a user's history")
    _deny(monkeypatch, tmp_path / denied)
    steps = []
    with pytest.raises(ValueError, match=re.escape(says.format(d=tmp_path))):
        _fit_moons_with(moons, [make(tmp_path)], steps)
    assert steps == []
    assert (tmp_path / "h.csv").read_text() == "a user's history"


def test_a_fresh_run_does_not_replace_another_runs_model_files(moons, tmp_path):
    # the second run replaced the first's best.safetensors with a worse model, silently
    _fit_moons_with(moons, [ModelCheckpoint(tmp_path, monitor="train_loss")], [])
    saved = {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}
    assert list(saved) == ["best.safetensors", "last.safetensors"]
    for save_best, save_last in ((True, True), (True, False), (False, True)):
        saver = ModelCheckpoint(tmp_path, "train_loss", save_best=save_best, save_last=save_last)
        steps = []
        with pytest.raises(ValueError) as info:
            _fit_moons_with(moons, [saver], steps)
        assert steps == []
        held = " and ".join(n for n, on in zip(saved, (save_best, save_last), strict=True) if on)
        assert str(info.value).startswith(f"ModelCheckpoint: {tmp_path} holds {held} of another ")
        assert "choose another directory" in str(info.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == saved
    # a file this run does not write is no obstacle
    (tmp_path / "last.safetensors").unlink()
    steps = []
    _fit_moons_with(moons, [ModelCheckpoint(tmp_path, "train_loss", save_best=False)], steps)
    assert steps and (tmp_path / "last.safetensors").exists()


def test_history_logger_refuses_a_path_ending_in_a_separator():
    with pytest.raises(ValueError, match=r"^HistoryLogger: path expected a file path, got 'h/'"):
        HistoryLogger("h/")


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"min_delta": float("nan")}, ValueError, "min_delta expected a finite number >= 0"),
        ({"min_delta": "0.1"}, TypeError, "min_delta expected a real number"),
        ({"patience": 2.5}, TypeError, "patience expected an integer >= 0, got float 2.5"),
        ({"patience": True}, TypeError, "patience expected an integer >= 0, got bool"),
        ({"restore_best_weights": "yes"}, TypeError, "restore_best_weights expected True"),
    ],
)
def test_early_stopping_settings_are_checked(kwargs, error, says):
    with pytest.raises(error, match=says):
        EarlyStopping(**kwargs)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the dev loss: inf
def test_a_history_with_an_infinite_loss_is_written_as_strict_json(tmp_path):
    import json

    X = np.linspace(-1, 1, 40, dtype=np.float32)[:, None]
    y = 2 * X
    model = nn.MLP([1, 4, 1], seed=0)
    fit(model, "mse", optim.SGD(model.named_parameters(), lr=0.01), X, y,
        dev=(X * np.float32(1e20), y), epochs=1, progress=False,
        callbacks=[HistoryLogger(tmp_path / "h.json")])  # fmt: skip
    text = (tmp_path / "h.json").read_text()

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    saved = json.loads(text, parse_constant=refuse)
    assert saved["epochs"][0]["dev_loss"] == {"__float__": "inf"}


def test_model_checkpoint_refuses_a_model_it_could_not_save_before_training(moons, tmp_path):
    X, y, _, _ = moons
    shared = nn.Linear(16, 16, rng=0)
    model = nn.Sequential(
        nn.Linear(2, 16, rng=1), shared, nn.ReLU(), shared, nn.Linear(16, 2, rng=2)
    )
    before = model.state_dict()
    with pytest.raises(ValueError, match="shares layers or tensors"):
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y, epochs=1,
            callbacks=[ModelCheckpoint(tmp_path / "models", monitor="train_loss")],
            progress=False)  # fmt: skip
    for name, value in model.state_dict().items():  # not one step was taken
        assert np.array_equal(value, before[name]), name
    # save_extras without a ModelCheckpoint writes no file: the model is not refused
    sgd = optim.SGD(model.named_parameters(), lr=0.1)
    trainer = cr.train.Trainer(
        model, "cross_entropy", sgd, save_extras={"labels": ["a", "b"]}, epochs=1, progress=False
    )
    trainer.fit(X, y)


def test_numpy_bools_are_taken_where_bools_are():
    assert EarlyStopping(restore_best_weights=np.True_).restore_best_weights is True


def test_fit_needs_an_optimizer_and_says_so_before_anything_runs(moons):
    X, y, _, _ = moons
    model = moons_model()
    before = model.state_dict()
    trainer = cr.train.Trainer(model, "cross_entropy", None, progress=False)  # evaluates only
    with pytest.raises(
        TypeError,
        match=re.escape(
            "Trainer: optimizer expected a chainrule.optim optimizer, got NoneType None"
        ),
    ):
        trainer.fit(X, y)
    with pytest.raises(TypeError, match="optimizer expected a chainrule.optim optimizer, got str"):
        fit(model, "cross_entropy", "adam", X, y, progress=False)
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
    assert set(trainer.evaluate(X, y)) == {"loss", "accuracy"}


@pytest.mark.parametrize(
    ("batch_size", "error", "got"),
    [(2.5, TypeError, "float 2.5"), (0, ValueError, "0"), ("8", TypeError, "str '8'")],
)
def test_predict_and_evaluate_check_their_batch_size(batch_size, error, got):
    model = moons_model()
    X, y = np.ones((3, 2), np.float32), np.zeros(3, np.int64)
    with pytest.raises(
        error, match=re.escape(f"predict: batch_size expected an integer >= 1, got {got}")
    ):
        predict(model, X, batch_size=batch_size)
    with pytest.raises(
        error, match=re.escape(f"evaluate: batch_size expected an integer >= 1, got {got}")
    ):
        evaluate(model, "cross_entropy", X, y, batch_size=batch_size)
    assert predict(model, X, batch_size=np.int64(2)).shape == (3, 2)


@pytest.mark.parametrize(
    ("make", "error", "says"),
    [
        (
            lambda: EarlyStopping(monitor=5),
            TypeError,
            "EarlyStopping: monitor expected the name of a logged key (str), got int 5",
        ),
        (
            lambda: ModelCheckpoint("unused", monitor=None),
            TypeError,
            "ModelCheckpoint: monitor expected the name of a logged key (str), got NoneType None",
        ),
        (
            lambda: EarlyStopping(mode="best"),
            ValueError,
            "EarlyStopping: mode expected 'auto' or 'min' or 'max', got 'best'",
        ),
        (
            lambda: ModelCheckpoint("unused", mode=5),
            ValueError,
            "ModelCheckpoint: mode expected 'auto' or 'min' or 'max', got 5",
        ),
        (  # a string 'no' is truthy: it saved
            lambda: ModelCheckpoint("unused", save_best="no"),
            TypeError,
            "ModelCheckpoint: save_best expected True or False, got 'no'",
        ),
        (
            lambda: ModelCheckpoint("unused", save_last=None),
            TypeError,
            "ModelCheckpoint: save_last expected True or False, got None",
        ),
        (
            lambda: LambdaCallback(on_epoch_end=5),
            TypeError,
            "LambdaCallback: on_epoch_end expected a callable (trainer, epoch, logs), got int 5",
        ),
        (
            lambda: LambdaCallback(on_batch_end=print, on_train_begin="log"),
            TypeError,
            "LambdaCallback: on_train_begin expected a callable (trainer), got str 'log'",
        ),
        (  # a Keras-style hook: it failed after the first epoch, naming neither
            lambda: LambdaCallback(on_epoch_end=lambda logs: None),
            TypeError,
            "LambdaCallback: on_epoch_end expected a callable (trainer, epoch, logs), "
            "got <lambda>(logs)",
        ),
        (
            lambda: LambdaCallback(on_exception=lambda trainer: None),
            TypeError,
            "LambdaCallback: on_exception expected a callable (trainer, error), "
            "got <lambda>(trainer)",
        ),
        (
            lambda: LambdaCallback(on_batch_end=lambda trainer, batch, loss, extra: None),
            TypeError,
            "LambdaCallback: on_batch_end expected a callable (trainer, batch, loss), "
            "got <lambda>(trainer, batch, loss, extra)",
        ),
        (
            lambda: CheckpointDir("unused", keep=1.5),
            TypeError,
            "CheckpointDir: keep expected an integer >= 1, got float 1.5",
        ),
        (
            lambda: CheckpointDir("unused", keep=0),
            ValueError,
            "CheckpointDir: keep expected an integer >= 1, got 0",
        ),
        (  # drew its bar at the first batch's end
            lambda: ProgressBar(quiet=False, width=2.5),
            TypeError,
            "ProgressBar: width expected an integer >= 1, got float 2.5",
        ),
        (
            lambda: ProgressBar(quiet="yes"),
            TypeError,
            "ProgressBar: quiet expected True or False, got 'yes'",
        ),
        (  # wrote its line at the first epoch's end
            lambda: ProgressBar(stream="log.txt"),
            TypeError,
            "ProgressBar: stream expected a text stream (with write and flush), got str 'log.txt'",
        ),
    ],
)
def test_callback_and_checkpoint_settings_are_checked_when_built(make, error, says):
    with pytest.raises(error, match=re.escape(says)):
        make()


def test_the_auto_mode_is_the_direction_the_metric_registry_records():
    from chainrule.train.callbacks import resolve_mode

    for name, metric in cr.train.metrics.METRICS.items():
        for key in (f"train_{name}", f"dev_{name}"):
            assert resolve_mode("EarlyStopping", key, "auto") == metric.mode, key
    assert resolve_mode("EarlyStopping", "dev_acc", "auto") == "max"
    for key in ("train_loss", "dev_loss", "lr", "accuracy_drop"):
        assert resolve_mode("EarlyStopping", key, "auto") == "min", key


def test_the_logged_lr_is_the_rate_a_callback_set_at_the_epochs_start(moons):
    X, y, _, _ = moons
    model = moons_model()
    used = []

    def set_lr(trainer, epoch):
        trainer.optimizer.lr = 0.01 * (epoch + 1)

    def record(trainer, batch, loss):
        if batch == 0:
            used.append(trainer.optimizer.current_lr)

    history = fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.5),
        X,
        y,
        epochs=3,
        callbacks=[LambdaCallback(on_epoch_begin=set_lr, on_batch_end=record)],
        progress=False,
    )
    assert used == [0.01 * (epoch + 1) for epoch in range(3)]
    assert history.column("lr") == used


def test_a_history_logger_before_the_stopper_writes_the_runs_stopped_reason(moons, tmp_path):
    X, y, _, _ = moons
    model = moons_model()
    path = tmp_path / "h.json"
    history = fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.05),
        X,
        y,
        epochs=10,
        callbacks=[  # the stopper decides after the logger has written the epoch
            HistoryLogger(path),
            EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0),
        ],
        progress=False,
    )
    assert history.stopped_reason == "early_stopping"
    assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))


def test_predict_gives_a_module_back_what_its_own_train_does():
    # a Module whose train() does more than set the flags gets that done again after
    class Tracked(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.MLP([2, 4, 2], seed=0)
            self.calls = []

        def train(self, mode=True):
            self.calls.append(mode)
            return super().train(mode)

        def forward(self, x):
            return self.net(x)

    model = Tracked()
    model.calls.clear()
    predict(model, np.ones((3, 2), np.float32))
    assert model.calls == [False, True] and model.training


class _SigmoidLogReg(nn.Module):
    """The notes' logistic regression: its forward applies the sigmoid itself, so its last
    registered layer is the Linear."""

    def __init__(self):
        super().__init__()
        self.lin = self.register_module("lin", nn.Linear(2, 1, rng=0))

    def forward(self, x):
        return cr.functional.sigmoid(self.lin(x))


def test_bce_reads_the_outputs_as_probabilities_whatever_the_last_layer():
    # the Linear last layer made them read as logits: every probability (> 0) was class 1,
    # and the logged accuracy was the share of positives
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64).reshape(-1, 1)
    model = _SigmoidLogReg()
    history = fit(
        model,
        "bce",
        optim.SGD(model.named_parameters(), lr=0.5),
        X,
        y,
        dev=(X, y),
        epochs=20,
        progress=False,
    )
    expected = cr.train.metrics.accuracy(y, (predict(model, X) > 0.5).astype(np.int64))
    assert expected > 0.95 > y.mean()
    assert history.last["dev_accuracy"] == pytest.approx(expected)
    assert evaluate(model, "bce", X, y)["accuracy"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("loss", "make", "from_logits"),
    [
        ("bce", _SigmoidLogReg, False),  # a Linear last layer: read as logits
        ("bce_with_logits", lambda: nn.MLP([2, 4, 1], output="sigmoid", seed=0), True),
    ],
)
def test_the_binary_losses_say_how_the_outputs_are_read(loss, make, from_logits):
    model = make()
    trainer = Trainer(model, loss, None, progress=False)
    trainer.evaluate(np.ones((3, 2), np.float32), np.array([[0], [1], [1]]))
    assert trainer.from_logits is from_logits


class _OwnSigmoid(nn.Sigmoid):
    """A sigmoid of a user's own: still a sigmoid."""


@pytest.mark.parametrize("last", [_OwnSigmoid, nn.Sigmoid])
def test_a_subclass_of_sigmoid_as_last_layer_gives_probabilities(last):
    # the last layer was matched by class name: a subclass was read as logits, and every
    # probability (> 0) counted as class 1
    linear = nn.Linear(2, 1, rng=0)
    linear.bias.data[...] = -1.0
    model = nn.Sequential(linear, last())
    X = np.zeros((4, 2), np.float32)  # every output is sigmoid(-1) = 0.27: class 0
    y = np.zeros((4, 1), np.int64)
    trainer = Trainer(model, lambda out, t: cr.losses.bce(out, t), None, progress=False)
    assert trainer.evaluate(X, y)["accuracy"] == 1.0
    assert trainer.from_logits is False


class _Counting(nn.Module):
    """A model that counts its forward calls."""

    def __init__(self, sizes):
        super().__init__()
        self.net = self.register_module("net", nn.MLP(sizes, seed=0))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def _bad_pair(case):
    """(loss, model sizes, X, y, the error's message) for a pair the checks refuse."""
    X, y = cr.data.make_sine(64, seed=0)
    labels = (y[:, 0] > 0).astype(np.int64)
    if case == "lengths":
        return "mse", X, y[:-1], "X has 64 samples but y has 63"
    if case == "nan_X_regression":
        X = X.copy()
        X[5, 0] = np.inf
        return "mse", X, y, _non_finite("X", "inf", 5)
    if case == "nan_X_classification":  # it said "did training diverge?"
        X = X.copy()
        X[5, 0] = np.nan
        return "cross_entropy", X, labels, _non_finite("X", "nan", 5)
    y = y.copy()
    y[7, 0] = np.nan
    return "mse", X, y, _non_finite("y", "nan", 7)


def _non_finite(name, value, row):
    """The message for one NaN or inf in ``name`` of shape (64, 1), at ``row``."""
    return (
        f"{name}: expected finite values, got 1 NaN or Inf values in 1 of 64 rows and 1 of 1 "
        f"columns (the first, {value}, at {name}[{row}, 0])"
    )


_BAD_PAIRS = ["lengths", "nan_X_regression", "nan_X_classification", "nan_y"]


@pytest.mark.parametrize("case", _BAD_PAIRS)
def test_evaluate_checks_X_and_y_before_predicting(case):
    # it predicted the whole X first: a length mismatch surfaced in the loss, and NaN or
    # inf came back as the loss and metrics
    loss, X, y, message = _bad_pair(case)
    model = _Counting([1, 4, 2 if loss == "cross_entropy" else 1])
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(model, loss, X, y)
    with pytest.raises(ValueError, match=re.escape(message)):
        Trainer(model, loss, None, progress=False).evaluate(X, y)
    assert model.calls == 0


@pytest.mark.parametrize("case", _BAD_PAIRS)
def test_fit_checks_its_sets_before_the_model_runs(case):
    loss, X, y, message = _bad_pair(case)
    good_X, good_y = cr.data.make_sine(64, seed=1)
    if loss == "cross_entropy":
        good_y = (good_y[:, 0] > 0).astype(np.int64)
    # the names X and y (not the letters in words) become X_dev and y_dev
    on_dev = re.sub(r"\b([Xy])\b(?=[ :\[])", r"\1_dev", message)
    for train, dev, says in (((X, y), None, message), ((good_X, good_y), (X, y), on_dev)):
        model = _Counting([1, 4, 2 if loss == "cross_entropy" else 1])
        optimizer = optim.SGD(model.named_parameters(), lr=0.1)
        with pytest.raises(ValueError, match=re.escape(says)):
            fit(model, loss, optimizer, *train, dev=dev, progress=False)
        assert model.calls == 0 and optimizer.step_count == 0


def test_fit_refuses_non_finite_X_by_name_before_the_dev_set_and_the_model():
    X, y = cr.data.make_sine(64, seed=0)
    X = X.copy()
    X[[5, 9], 0] = [np.nan, -np.inf]
    model = _Counting([1, 4, 1])
    optimizer = optim.SGD(model.named_parameters(), lr=0.1)
    with pytest.raises(ValueError) as info:  # the dev set is as bad: X is named first
        fit(model, "mse", optimizer, X, y, dev=(X, y), progress=False)
    assert str(info.value) == (
        "X: expected finite values, got 2 NaN or Inf values in 2 of 64 rows and 1 of 1 columns "
        "(the first, nan, at X[5, 0])"
    )
    assert model.calls == 0 and optimizer.step_count == 0


_ONE_SAMPLE = (
    "X: expected samples on the first axis, shape (m, n_features), got shape (784,); "
    "one sample is X[None]"
)


@pytest.mark.parametrize("batch_size", [100, 784, 1024])
def test_predict_refuses_one_sample_without_its_batch_axis(batch_size):
    # it sliced the features as if they were samples: a (10,) output for a batch_size of
    # 784 or more, an error naming the batch size as the feature count below
    model = nn.MLP([784, 30, 10], seed=0)
    x = np.random.default_rng(0).random(784).astype(np.float32)
    with pytest.raises(ValueError, match=re.escape(_ONE_SAMPLE)):
        predict(model, x, batch_size=batch_size)
    assert predict(model, x[None], batch_size=batch_size).shape == (1, 10)


def test_fit_and_evaluate_refuse_inputs_without_a_feature_axis():
    # fit said "Linear(2 -> 4) expected input with 2 features, got 1"
    model = _Counting([2, 4, 2])
    optimizer = optim.SGD(model.named_parameters(), lr=0.1)
    X, y = np.ones(4, np.float32), np.array([0, 1, 0, 1])
    says = "expected samples on the first axis, shape (m, n_features), got shape (4,); "
    with pytest.raises(ValueError, match=re.escape(f"X: {says}one sample is X[None]")):
        fit(model, "cross_entropy", optimizer, X, y, progress=False)
    with pytest.raises(ValueError, match=re.escape(f"X_dev: {says}one sample is X_dev[None]")):
        fit(model, "cross_entropy", optimizer, np.ones((4, 2), np.float32), y, dev=(X, y))
    with pytest.raises(ValueError, match=re.escape(f"X: {says}one sample is X[None]")):
        evaluate(model, "cross_entropy", X, y)
    assert model.calls == 0 and optimizer.step_count == 0


def test_lambda_hooks_taking_any_arguments_are_called_with_the_hooks_arguments(moons):
    X, y, _, _ = moons
    calls = []
    record = LambdaCallback(
        on_epoch_end=lambda *args: calls.append(args[1:]),
        on_train_end=lambda trainer, *rest, extra=None: calls.append(rest),
    )
    model = moons_model()
    optimizer = optim.SGD(model.named_parameters(), lr=0.1)
    fit(model, "cross_entropy", optimizer, X, y, epochs=1, callbacks=[record], progress=False)
    (epoch, logs), rest = calls
    assert epoch == 0 and "train_loss" in logs and rest == ()
