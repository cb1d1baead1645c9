"""A run that an error ends: the callbacks' on_exception hooks, and path arguments."""

import io
import json
import math
import re
import traceback

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.files import json_text
from chainrule.train import (
    Callback,
    CheckpointDir,
    HistoryLogger,
    LambdaCallback,
    ModelCheckpoint,
    NonFiniteLossError,
    ProgressBar,
    Trainer,
    TrainingInterrupted,
    fit,
    load_checkpoint,
)
from chainrule.train import callbacks as callbacks_mod
from chainrule.train.checkpoint import resolve_resume, save_checkpoint

from .conftest import rendered


def _trainer(tmp_path, callbacks, epochs=3, loss="cross_entropy", **options):
    """A Trainer over 200 two-moons examples in batches of 16 (13 batches an epoch)."""
    model = nn.MLP([2, 16, 2], activation="relu", seed=3)
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    return Trainer(
        model,
        loss,
        opt,
        epochs=epochs,
        batch_size=16,
        seed=5,
        callbacks=callbacks,
        progress=False,
        **options,
    )


def _data():
    X, y = make_moons(200, noise=0.2, seed=1)
    return X, y.astype(np.int64)


def _run(trainer):
    return trainer.fit(*_data())


def _poisoned(at_epoch=1, after_batch=4):
    """A cost that turns NaN at the step after ``after_batch`` of epoch ``at_epoch`` (from
    0), and the callback that arms it; the run needs ``trace=False`` (a replayed step keeps
    the first steps' branch)."""
    armed = {"on": False}

    def loss(out, y):
        cost = losses.cross_entropy(out, y)
        return cost * math.nan if armed["on"] else cost

    def arm(trainer, batch, value):
        if trainer.epoch == at_epoch and batch == after_batch:
            armed["on"] = True

    return loss, LambdaCallback(on_batch_end=arm)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Clock:
    """The progress bar's clock: a second passes between two reads (every step is drawn)."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


def _recorder(calls, name="hook"):
    return LambdaCallback(
        on_exception=lambda t, e: calls.append((name, e, t.history.stopped_reason))
    )


def test_a_live_progress_bar_ends_its_line_when_the_cost_turns_non_finite(tmp_path, monkeypatch):
    # the live line was left open, and the traceback printed onto its end
    monkeypatch.setattr(callbacks_mod, "time", _Clock())
    loss, arm = _poisoned()
    stream = _Terminal()
    trainer = _trainer(tmp_path, [arm, ProgressBar(stream=stream)], loss=loss, trace=False)
    with pytest.raises(NonFiniteLossError, match="epoch 2, step 6"), np.errstate(all="ignore"):
        _run(trainer)
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 2  # epoch 1's summary, the live line
    shown = rendered(out)
    assert shown[0].startswith("epoch 1/3 ") and " train_loss " in shown[0]
    assert re.match(r"epoch 2/3 \[#+\.+\] 5/13 ", shown[1]), shown[1]
    assert shown[2] == ""


def test_a_progress_bar_without_an_open_line_adds_none_on_an_error(tmp_path):
    # a log stream gets summary lines only: nothing for the epoch the error ended
    loss, arm = _poisoned()
    stream = io.StringIO()
    trainer = _trainer(tmp_path, [arm, ProgressBar(stream=stream)], loss=loss, trace=False)
    with pytest.raises(NonFiniteLossError), np.errstate(all="ignore"):
        _run(trainer)
    lines = stream.getvalue().split("\n")
    assert len(lines) == 2 and lines[0].startswith("epoch 1/3 ") and lines[1] == ""


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_a_history_logger_says_a_run_ended_in_an_error(tmp_path, suffix):
    # the file kept the last finished epoch's history, with stopped_reason "completed"
    loss, arm = _poisoned()
    path = tmp_path / f"history{suffix}"
    trainer = _trainer(tmp_path, [HistoryLogger(path), arm], loss=loss, trace=False)
    with pytest.raises(NonFiniteLossError), np.errstate(all="ignore"):
        _run(trainer)
    history = trainer.history
    assert history.stopped_reason == "error"
    assert len(history.epochs) == 1 and len(history.step_losses) == 13 + 5
    if suffix == ".json":
        assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))
    else:
        assert path.read_text() == history.to_csv()


def test_a_failing_hook_leaves_the_original_error_with_a_note_and_the_later_hooks_run(tmp_path):
    calls = []
    raised = []

    def boom(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 2:
            raised.append(RuntimeError("a user's layer failed"))
            raise raised[0]

    def broken(trainer, error):
        calls.append("broken")
        raise OSError("disk full")

    class Noisy(Callback):
        def on_exception(self, trainer, error):
            raise ValueError("noisy")

    callbacks = [LambdaCallback(on_exception=broken), Noisy(), _recorder(calls, "later")]
    trainer = _trainer(tmp_path, [LambdaCallback(on_batch_end=boom), *callbacks])
    with pytest.raises(RuntimeError) as info:
        _run(trainer)
    error = info.value
    assert error is raised[0] and error.__cause__ is None
    assert calls == ["broken", ("later", error, "error")]
    assert error.__notes__ == [
        "LambdaCallback.on_exception raised OSError: disk full",
        "Noisy.on_exception raised ValueError: noisy",
    ]
    # the traceback still ends where the error was raised, not in a hook
    assert traceback.extract_tb(error.__traceback__)[-1].name == "boom"


def test_an_error_in_a_callbacks_epoch_end_calls_every_hook_and_no_train_end(tmp_path):
    calls = []

    def refuse(trainer, epoch, logs):
        if epoch == 1:
            raise ValueError("a callback failed")

    ends = LambdaCallback(on_train_end=lambda t: calls.append("end"))
    first, last = _recorder(calls, "first"), _recorder(calls, "last")
    trainer = _trainer(tmp_path, [first, LambdaCallback(on_epoch_end=refuse), ends, last])
    with pytest.raises(ValueError, match="a callback failed") as info:
        _run(trainer)
    assert calls == [("first", info.value, "error"), ("last", info.value, "error")]
    assert len(trainer.history.epochs) == 2  # the epoch's logs were in before its callbacks


def test_a_second_ctrl_c_calls_the_hooks(tmp_path):
    calls = []

    def second_ctrl_c(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 0:
            raise KeyboardInterrupt

    trainer = _trainer(tmp_path, [LambdaCallback(on_batch_end=second_ctrl_c), _recorder(calls)])
    with pytest.raises(KeyboardInterrupt) as info:
        _run(trainer)
    assert not isinstance(info.value, TrainingInterrupted)
    assert calls == [("hook", info.value, "error")]


def test_the_first_ctrl_c_calls_the_interrupt_hooks_and_not_the_error_hooks(tmp_path):
    calls = []

    def ctrl_c(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            trainer._interrupt = True  # what the SIGINT handler does

    interrupted = LambdaCallback(on_interrupt=lambda t: calls.append("interrupt"))
    trainer = _trainer(
        tmp_path, [_recorder(calls), interrupted, LambdaCallback(on_batch_end=ctrl_c)]
    )
    with pytest.raises(TrainingInterrupted):
        _run(trainer)
    assert calls == ["interrupt"]
    assert trainer.history.stopped_reason == "interrupted"


def test_every_failing_interrupt_hook_is_named_in_a_note(tmp_path):
    # only the first failing hook's error was kept (as the cause); the others were lost
    def broken(message):
        def hook(trainer):
            raise OSError(message)

        return LambdaCallback(on_interrupt=hook)

    def ctrl_c(trainer, batch, loss):
        trainer._interrupt = True

    trainer = _trainer(
        tmp_path, [broken("disk full"), broken("gone"), LambdaCallback(on_batch_end=ctrl_c)]
    )
    with pytest.raises(TrainingInterrupted) as info:
        _run(trainer)
    assert str(info.value.__cause__) == "disk full"
    assert info.value.__notes__ == [
        "LambdaCallback.on_interrupt raised OSError: disk full",
        "LambdaCallback.on_interrupt raised OSError: gone",
    ]


@pytest.mark.parametrize("hook", ["on_train_begin", "on_train_end"])
def test_errors_of_the_train_begin_and_end_hooks_call_no_error_hook(tmp_path, hook):
    calls = []

    def refuse(*args):
        raise ValueError(f"{hook} failed")

    trainer = _trainer(tmp_path, [LambdaCallback(**{hook: refuse}), _recorder(calls)], epochs=1)
    with pytest.raises(ValueError, match=f"{hook} failed"):
        _run(trainer)
    assert calls == []
    assert trainer.history.stopped_reason == "completed"


def test_a_lambda_callback_names_on_exception_among_the_hooks():
    with pytest.raises(ValueError, match="'on_exception'"):
        LambdaCallback(on_error=print)
    with pytest.raises(TypeError, match="LambdaCallback: on_exception expected a callable"):
        LambdaCallback(on_exception="log")


# -- path arguments ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: ModelCheckpoint(5), "ModelCheckpoint: directory expected a path"),
        (lambda: HistoryLogger(b"h.csv"), "HistoryLogger: path expected a path"),
        (lambda: CheckpointDir(["ckpt"]), "CheckpointDir: directory expected a path"),
        (lambda: save_checkpoint(5, {}), "save_checkpoint: path expected a path"),
        (lambda: load_checkpoint(None), "load_checkpoint: path expected a path"),
        (lambda: resolve_resume(7), "resolve_resume: source expected a path"),
    ],
)
def test_path_arguments_of_wrong_types_are_refused_naming_them(call, says):
    with pytest.raises(TypeError, match=re.escape(says + " (str or os.PathLike), got ")):
        call()


def test_a_checkpoint_dir_of_a_wrong_type_is_refused_when_the_trainer_is_built(tmp_path):
    with pytest.raises(
        TypeError, match=re.escape("Trainer: checkpoint_dir expected a path (str or os.PathLike)")
    ):
        _trainer(tmp_path, [], checkpoint_dir=3)


def test_a_resume_from_of_a_wrong_type_is_refused_before_anything_runs(tmp_path):
    model = nn.MLP([2, 16, 2], activation="relu", seed=3)
    before = model.state_dict()
    called = []
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    with pytest.raises(TypeError, match=re.escape("fit: resume_from expected a path (str or os")):
        fit(model, "cross_entropy", opt, *_data(), epochs=1, resume_from=1,
            callbacks=[LambdaCallback(on_train_begin=lambda t: called.append(1))],
            progress=False)  # fmt: skip
    assert called == []
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name


def test_a_ctrl_c_in_an_interrupt_hook_stops_those_hooks_and_calls_the_error_hooks(tmp_path):
    calls = []

    def ctrl_c_again(trainer):
        raise KeyboardInterrupt

    def ctrl_c(trainer, batch, loss):
        trainer._interrupt = True

    later = LambdaCallback(on_interrupt=lambda t: calls.append("later interrupt hook"))
    callbacks = [LambdaCallback(on_interrupt=ctrl_c_again), later, _recorder(calls)]
    trainer = _trainer(tmp_path, [*callbacks, LambdaCallback(on_batch_end=ctrl_c)])
    with pytest.raises(KeyboardInterrupt) as info:
        _run(trainer)
    assert not isinstance(info.value, TrainingInterrupted)
    assert calls == [("hook", info.value, "error")]


def test_a_ctrl_c_in_an_error_hook_stops_the_hooks_with_the_error_as_its_context(tmp_path):
    calls = []

    def ctrl_c_again(trainer, error):
        raise KeyboardInterrupt

    def boom(trainer, epoch, logs):
        raise RuntimeError("boom")

    callbacks = [LambdaCallback(on_exception=ctrl_c_again), _recorder(calls)]
    trainer = _trainer(tmp_path, [LambdaCallback(on_epoch_end=boom), *callbacks])
    with pytest.raises(KeyboardInterrupt) as info:
        _run(trainer)
    assert calls == []
    assert isinstance(info.value.__context__, RuntimeError)
    assert str(info.value.__context__) == "boom"


# -- the check of one sample before training ------------------------------------------------
class _Bounded(nn.Module):
    """An MLP on 2 features that refuses inputs above 100 (a ValueError)."""

    def __init__(self):
        super().__init__()
        self.net = self.register_module("net", nn.MLP([2, 16, 2], seed=3))

    def forward(self, x):
        if (x.data > 100).any():
            raise ValueError(f"expected inputs of at most 100, got {x.data.max():g}")
        return self.net(x)


class _Plain(nn.Module):
    """An MLP on 2 features whose output is a plain array, not a Tensor."""

    def __init__(self):
        super().__init__()
        self.net = self.register_module("net", nn.MLP([2, 16, 2], seed=3))

    def forward(self, x):
        return self.net(x).data


class _ProbeError(ValueError):
    def __init__(self, code, detail):
        super().__init__(f"{code}: {detail}")


def _refused(model, loss, X, y, dev=None, error=ValueError):
    """The error of a fit that the check of one sample refuses, with no callback begun."""
    begun = []
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    hook = LambdaCallback(on_train_begin=lambda t: begun.append(1))
    with pytest.raises(error) as info:
        fit(model, loss, opt, X, y, dev=dev, callbacks=[hook], progress=False)
    assert begun == []
    return info.value


_CHECKED = "(fit checks sample 0 alone before training; "


@pytest.mark.parametrize("where", ["y", "y_dev"])
def test_targets_the_loss_refuses_are_named_with_the_whole_arrays_shapes(where):
    # it said only "cross_entropy: ... got shape (1, 3)": neither which set nor that the
    # shapes were of one sample
    X, y = _data()
    targets = {"y": y, "y_dev": y[:50]}
    n = len(targets[where])
    targets[where] = np.zeros((n, 3), np.float32)
    model = nn.MLP([2, 16, 2], seed=3)
    error = _refused(model, "cross_entropy", X, targets["y"], dev=(X[:50], targets["y_dev"]))
    inputs = "X_dev" if where == "y_dev" else "X"
    assert str(error) == (
        f"{where}, sample 0: cross_entropy: expected integer labels of shape (1,) or "
        "one-hot/probability targets of shape (1, 2), got shape (1, 3) "
        f"{_CHECKED}{where} has shape ({n}, 3), the model's output for {inputs} has shape "
        f"({n}, 2))"
    )


def test_a_type_error_of_the_loss_keeps_its_type_and_names_the_targets():
    # the first sample's TypeError went through as it was, naming no set
    X, _ = _data()
    y = np.zeros((200, 2))
    error = _refused(nn.MLP([2, 16, 2], seed=3), "mse", X, y, error=TypeError)
    assert type(error) is TypeError
    assert str(error) == (
        "y, sample 0: mse: target is float64 but the prediction is float32; cast one "
        f"(chainrule never changes a dtype silently) {_CHECKED}y has shape (200, 2), the "
        "model's output for X has shape (200, 2))"
    )


def test_inputs_the_model_refuses_are_named_with_their_shape():
    X, y = _data()
    error = _refused(nn.MLP([3, 16, 2], seed=3), "cross_entropy", X, y)
    assert str(error) == (
        f"X, sample 0: Linear(3 -> 16) expected input with 3 features, got 2 {_CHECKED}X has "
        "shape (200, 2))"
    )
    X_dev = X[:50].copy()
    X_dev[0, 1] = 1000.0
    error = _refused(_Bounded(), "cross_entropy", X, y, dev=(X_dev, y[:50]))
    assert str(error) == (
        f"X_dev, sample 0: expected inputs of at most 100, got 1000 {_CHECKED}X_dev has "
        "shape (50, 2))"
    )


def test_a_subclass_is_raised_as_it_is_with_a_note():
    # a ValueError subclass may not take one message: it is kept, the set named in a note
    X, y = _data()

    def loss(out, targets):
        raise _ProbeError("E1", "refused")

    error = _refused(nn.MLP([2, 16, 2], seed=3), loss, X, y)
    assert type(error) is _ProbeError and str(error) == "E1: refused"
    assert error.__notes__ == [
        f"y, sample 0: E1: refused {_CHECKED}y has shape (200,), the model's output for X has "
        "shape (200, 2))"
    ]


def test_a_model_output_that_is_no_tensor_leaves_its_shape_out():
    X, y = _data()

    def loss(out, targets):
        raise TypeError(f"expected a Tensor, got {type(out).__name__}")

    error = _refused(_Plain(), loss, X, y, error=TypeError)
    assert (
        str(error) == f"y, sample 0: expected a Tensor, got ndarray {_CHECKED}y has shape (200,))"
    )


@pytest.mark.parametrize("which", ["X", "y"])
def test_a_ragged_list_of_samples_or_targets_is_named(which):
    # NumPy's "setting an array element with a sequence" before, naming neither
    model = nn.MLP([2, 3, 2], seed=0)
    X, y = [[0.0, 1.0], [2.0], [3.0, 4.0]], [0, 1, 0]
    if which == "y":
        X, y = [[0.0, 1.0], [2.0, 3.0], [3.0, 4.0]], [[0], [1, 1], [0]]
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    with pytest.raises(ValueError, match=rf"^{which}: expected a rectangular array, got a ragged"):
        fit(model, "cross_entropy", opt, X, y, epochs=1, progress=False)
