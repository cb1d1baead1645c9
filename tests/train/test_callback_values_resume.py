"""What a callback writes into the run (a stop reason of its own, the epoch's logs, the
stop flag) goes into its checkpoints in a form a resume takes back."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.data import make_moons
from chainrule.train import Callback, LambdaCallback, fit


def _fit(ckpt, epochs=4, resume=None, callbacks=()):
    X, y = make_moons(160, noise=0.2, seed=1)
    model = nn.MLP([2, 8, 2], seed=3)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    history = fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=epochs,
                  batch_size=16, checkpoint_dir=ckpt, resume_from=resume,
                  callbacks=list(callbacks), progress=False)  # fmt: skip
    return history


class _StopWithReason(Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == 1:
            trainer.stop_training = True
            trainer.history.stopped_reason = "target_reached"


def test_a_callbacks_own_stopped_reason_is_resumed(tmp_path):
    # the checkpoint saved "target_reached", which the resume refused (not one of
    # STOPPED_REASONS), so a run stopped that way could not be resumed at all
    history = _fit(tmp_path, callbacks=[_StopWithReason()])
    assert history.stopped_reason == "target_reached" and len(history.epochs) == 2
    resumed = _fit(tmp_path, resume=tmp_path, callbacks=[_StopWithReason()])
    assert resumed.stopped_reason == "target_reached" and len(resumed.epochs) == 2


@pytest.mark.parametrize("flag", [1, np.True_, "yes"])
def test_any_true_stop_training_is_resumed_as_a_stop(tmp_path, flag):
    # 1 stopped the run, then the checkpoint's "stop_training" 1 was refused on resume
    def stop(trainer, epoch, logs):
        if epoch == 1:
            trainer.stop_training = flag

    history = _fit(tmp_path, callbacks=[LambdaCallback(on_epoch_end=stop)])
    assert history.stopped_reason == "stopped" and len(history.epochs) == 2
    resumed = _fit(tmp_path, resume=tmp_path, callbacks=[LambdaCallback(on_epoch_end=stop)])
    assert resumed.stopped_reason == "stopped" and len(resumed.epochs) == 2


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "bool"),
        ("best", "str"),
        (np.array([1.0]), "ndarray"),
        (None, "NoneType"),
        (np.True_, "bool_?"),
        (1 + 2j, "complex"),
        (10**309, "int"),  # beyond float64: the CLI's sums and a resume failed on it
        pytest.param(
            np.longdouble(0.1),
            "longdouble",
            marks=pytest.mark.skipif(
                np.dtype(np.longdouble).itemsize <= 8, reason="a long double is a double here"
            ),
        ),
    ],  # fmt: skip
)
def test_a_log_that_is_not_a_number_is_refused_at_the_epochs_end(tmp_path, value, kind):
    # the row was saved as it was and the resume refused the checkpoint's history
    def note(trainer, epoch, logs):
        logs["improved"] = value

    cb = LambdaCallback(on_epoch_end=note)
    with pytest.raises(TypeError, match=rf"logs\['improved'\] .* {kind}\b.*hold numbers") as info:
        _fit(tmp_path, callbacks=[cb])
    assert "float(" in str(info.value) and "LambdaCallback" in str(info.value)
    assert not list(tmp_path.iterdir())  # no checkpoint of the row was written


@pytest.mark.parametrize("value", [np.float32(0.5), np.int64(3), 2, float("nan"), np.uint8(1)])
def test_a_log_of_a_real_number_is_kept_and_resumed(tmp_path, value):
    def note(trainer, epoch, logs):
        logs["ratio"] = value

    _fit(tmp_path, epochs=2, callbacks=[LambdaCallback(on_epoch_end=note)])
    resumed = _fit(tmp_path, epochs=3, resume=tmp_path,
                   callbacks=[LambdaCallback(on_epoch_end=note)])  # fmt: skip
    assert len(resumed.column("ratio")) == 3
