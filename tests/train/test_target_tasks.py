"""The task targets make, and how a run reads them: regression targets of any rank,
soft binary dev labels, and integer multi-hot rows, which make the task their float copy
makes."""

import os
import signal

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import LambdaCallback, TrainingInterrupted, fit, predict
from chainrule.train.inputs import class_indices, task_of
from chainrule.train.metrics import mae, mse, predictions_from_outputs, r2_score

RNG = np.random.default_rng(0)


# -- regression targets with more than two axes ---------------------------------------------
@pytest.mark.parametrize("fn", [mse, mae, r2_score])
def test_regression_metrics_take_samples_of_any_rank_as_flattened_rows(fn):
    t = RNG.normal(size=(6, 2, 3))
    p = t + RNG.normal(size=(6, 2, 3))
    assert fn(t, p) == fn(t.reshape(6, 6), p.reshape(6, 6))


@pytest.mark.parametrize("fn", [mse, mae, r2_score])
def test_regression_metrics_still_refuse_other_shapes_of_the_same_size(fn):
    with pytest.raises(ValueError, match=r"shape of y_true \(4, 6\), got \(4, 2, 3\)"):
        fn(np.zeros((4, 6)), np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match=r"y_true of shape \(m,\) or \(m, d, \.\.\.\), got shape"):
        fn(np.float64(1.0), np.zeros(1))


def test_a_regression_run_on_3d_targets_logs_the_mse_of_its_outputs():
    # it trained an epoch, then refused the targets in the default metric
    X = RNG.normal(size=(10, 5, 3)).astype(np.float32)
    y = RNG.normal(size=(10, 5, 2)).astype(np.float32)
    model = nn.MLP([3, 4, 2], seed=0)
    optimizer = optim.SGD(model.named_parameters(), lr=0.0)  # the outputs stay those of X
    history = fit(model, "mse", optimizer, X, y, dev=(X, y), epochs=2, batch_size=2,
                  progress=False)  # fmt: skip
    assert history.stopped_reason == "completed"
    expected = mse(y, predict(model, X))
    for key in ("train_mse", "dev_mse", "train_loss", "dev_loss"):
        assert history.last[key] == pytest.approx(expected, rel=1e-6), key


# -- soft binary labels ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_soft_binary_labels_keep_the_class_of_the_threshold_outputs_are_read_by(dtype):
    half = dtype(0.5)
    around = [np.nextafter(half, dtype(0)), half, np.nextafter(half, dtype(1))]
    soft = np.array([0.95, 0.05, 0.51, 0.49, 1.0, 0.0, *around], dtype=dtype)
    expected = [1, 0, 1, 0, 1, 0, 0, 0, 1]  # 0.5 itself is class 0, as for a probability
    np.testing.assert_array_equal(predictions_from_outputs(soft, from_logits=False), expected)
    np.testing.assert_array_equal(class_indices(soft), expected)
    np.testing.assert_array_equal(class_indices(soft.reshape(-1, 1)), expected)


def test_other_labels_are_read_as_before():
    np.testing.assert_array_equal(class_indices(np.array([0, 2, 5])), [0, 2, 5])
    np.testing.assert_array_equal(class_indices(np.array([0.0, 2.0, 1.0])), [0, 2, 1])
    rows = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], dtype=np.float32)
    np.testing.assert_array_equal(class_indices(rows), [1, 0])


def test_smoothed_dev_labels_score_the_accuracy_of_the_hard_ones():
    # 0.95 read as class 0: dev_accuracy was the fraction of class 0 in the dev set
    X = RNG.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    Xd = RNG.normal(size=(50, 2)).astype(np.float32)
    yd = (Xd[:, :1] > 0).astype(np.float32)
    accuracies = []
    for dev_y in (yd, yd * 0.9 + 0.05):
        model = nn.MLP([2, 8, 1], seed=0)
        optimizer = optim.Adam(model.named_parameters(), lr=0.05)
        history = fit(model, "bce_with_logits", optimizer, X, y, epochs=10, progress=False,
                      dev=(Xd, dev_y))  # fmt: skip
        accuracies.append(history.last["dev_accuracy"])
    assert accuracies[0] > 0.9
    assert accuracies[1] == accuracies[0]


# -- integer and bool multi-hot rows --------------------------------------------------------
MULTI_HOT = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, bool])
def test_multi_hot_rows_make_regression_whatever_their_dtype(dtype):
    assert task_of(MULTI_HOT.astype(dtype), "bce_with_logits") == "regression"


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, bool])
def test_one_hot_rows_and_label_columns_make_classification_whatever_their_dtype(dtype):
    one_hot = np.eye(3)[[0, 2, 1, 1]].astype(dtype)
    assert task_of(one_hot, "cross_entropy") == "classification"
    assert task_of(np.array([0, 1, 1]).astype(dtype)) == "classification"
    assert task_of(np.array([[0], [1], [1]]).astype(dtype)) == "classification"


def test_integer_labels_of_any_value_make_classification():
    assert task_of(np.array([0, 4, 2])) == "classification"
    assert task_of(np.array([[3], [1]], dtype=np.int32)) == "classification"


def test_a_run_on_integer_multi_hot_rows_logs_what_its_float_copy_does():
    X = RNG.normal(size=(6, 3)).astype(np.float32)
    logs = []
    for dtype in (np.float32, np.int64):
        model = nn.MLP([3, 4, 3], seed=0)
        optimizer = optim.SGD(model.named_parameters(), lr=0.1)
        history = fit(model, "bce_with_logits", optimizer, X, MULTI_HOT.astype(dtype),
                      epochs=1, progress=False)  # fmt: skip
        logs.append(history.last)
    assert set(logs[1]) == set(logs[0]) and "train_mse" in logs[1]
    assert logs[1]["train_mse"] == pytest.approx(logs[0]["train_mse"], rel=1e-6)


def test_a_run_on_integer_multi_hot_rows_resumes_from_mid_epoch(tmp_path):
    # the position's regression targets had to be floats: the resume was refused
    X = RNG.normal(size=(24, 3)).astype(np.float32)
    Y = np.tile(MULTI_HOT.astype(np.int64), (4, 1))

    def run(**options):
        model = nn.MLP([3, 4, 3], seed=0)
        history = fit(model, "bce_with_logits", optim.SGD(model.named_parameters(), lr=0.1),
                      X, Y, epochs=2, batch_size=8, progress=False, **options)  # fmt: skip
        return history, model

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 1:
            os.kill(os.getpid(), signal.SIGINT)

    straight, straight_model = run()
    with pytest.raises(TrainingInterrupted):
        run(checkpoint_dir=tmp_path, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    resumed, model = run(checkpoint_dir=tmp_path, resume_from=tmp_path)
    assert resumed.step_losses == straight.step_losses
    assert resumed.last["train_mse"] == straight.last["train_mse"]
    for a, b in zip(model.parameters(), straight_model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
