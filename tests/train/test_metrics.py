"""Metrics: hand-worked values, scikit-learn agreement (when installed), the registry and
every rejected input."""

import math
import re

import numpy as np
import pytest

from chainrule.train import metrics
from chainrule.train.metrics import (
    METRICS,
    accuracy,
    confusion_matrix,
    get_metric,
    mae,
    mse,
    precision_recall_f1,
    predictions_from_outputs,
    r2_score,
)

# Three classes, ten samples. By hand:
#   true 0 -> predicted 0, 1, 0     row [2, 1, 0]
#   true 1 -> predicted 1, 1, 2, 1  row [0, 3, 1]
#   true 2 -> predicted 2, 0, 0     row [2, 0, 1]
Y_TRUE = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 0, 1, 1, 2, 1, 2, 0, 0])
CM = np.array([[2, 1, 0], [0, 3, 1], [2, 0, 1]])
# Column sums (predicted) 4, 4, 2; row sums (actual) 3, 4, 3; diagonal (tp) 2, 3, 1.
PRECISION = np.array([2 / 4, 3 / 4, 1 / 2])
RECALL = np.array([2 / 3, 3 / 4, 1 / 3])
F1 = np.array([4 / 7, 6 / 8, 2 / 5])  # 2 tp / (predicted + actual)


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, CM)
    assert cm.dtype == np.int64


def test_confusion_matrix_n_classes_adds_unseen_classes():
    cm = confusion_matrix([0, 1], [1, 1], n_classes=4)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 1] = expected[1, 1] = 1
    np.testing.assert_array_equal(cm, expected)


def test_narrow_integer_labels_do_not_overflow():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 20, size=200)
    p = rng.integers(0, 20, size=200)
    wide = confusion_matrix(t, p, n_classes=20)
    narrow = confusion_matrix(t.astype(np.int8), p.astype(np.uint8), n_classes=20)
    np.testing.assert_array_equal(narrow, wide)
    assert wide.sum() == 200


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(6 / 10)
    assert accuracy([1, 0], [1, 0]) == 1.0


def test_label_encodings_are_equivalent():
    column = Y_TRUE.reshape(-1, 1)
    as_float = Y_PRED.astype(np.float32)
    np.testing.assert_array_equal(confusion_matrix(column, as_float), CM)
    assert accuracy(np.array([True, False]), np.array([1, 0])) == 1.0


def test_per_class_precision_recall_f1_by_hand():
    p, r, f = precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    np.testing.assert_allclose(p, PRECISION)
    np.testing.assert_allclose(r, RECALL)
    np.testing.assert_allclose(f, F1)
    np.testing.assert_allclose(f, 2 * p * r / (p + r))


def test_macro_precision_recall_f1_by_hand():
    result = precision_recall_f1(Y_TRUE, Y_PRED)
    assert isinstance(result.f1, float)
    assert result.precision == pytest.approx(PRECISION.mean())
    assert result.recall == pytest.approx(RECALL.mean())
    assert result.f1 == pytest.approx(F1.mean())


def test_zero_over_zero_is_zero_and_unseen_classes_leave_the_macro_mean():
    # Class 1 is never predicted (precision 0/0), class 2 occurs nowhere.
    p, r, f = precision_recall_f1([0, 0, 1], [0, 0, 0], average=None, n_classes=3)
    np.testing.assert_allclose(p, [2 / 3, 0.0, 0.0])
    np.testing.assert_allclose(r, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(f, [0.8, 0.0, 0.0])
    macro = precision_recall_f1([0, 0, 1], [0, 0, 0], n_classes=3)
    assert macro == pytest.approx((1 / 3, 1 / 2, 0.4))


def test_a_class_only_predicted_counts_in_the_macro_mean():
    # Class 2 occurs only in y_pred: precision 0/1, recall 0/0 = 0, F1 0.
    # Class 0: tp 1, predicted 1, actual 2; class 1: tp 2, predicted 2, actual 2.
    y_true, y_pred = [0, 0, 1, 1], [0, 2, 1, 1]
    precision = [1 / 1, 2 / 2, 0.0]
    recall = [1 / 2, 2 / 2, 0.0]
    f1 = [2 * 1 / (2 * 1 + 0 + 1), 2 * 2 / (2 * 2 + 0 + 0), 0.0]
    per_class = precision_recall_f1(y_true, y_pred, average=None)
    for got, expected in zip(per_class, (precision, recall, f1), strict=True):
        np.testing.assert_allclose(got, expected)
    macro = precision_recall_f1(y_true, y_pred)
    assert macro == pytest.approx((np.mean(precision), np.mean(recall), np.mean(f1)))
    assert macro == pytest.approx((2 / 3, 1 / 2, 5 / 9))


REG_TRUE = np.array([1.0, 2.0, 3.0, 4.0])
REG_PRED = np.array([1.5, 2.0, 2.5, 4.0])


def test_regression_metrics_by_hand():
    # Residuals -0.5, 0, 0.5, 0; mean 2.5, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5.
    assert mse(REG_TRUE, REG_PRED) == pytest.approx(0.5 / 4)
    assert mae(REG_TRUE, REG_PRED) == pytest.approx(1.0 / 4)
    assert r2_score(REG_TRUE, REG_PRED) == pytest.approx(1 - 0.5 / 5)
    assert r2_score(REG_TRUE, np.full(4, 2.5)) == pytest.approx(0.0)
    assert r2_score(REG_TRUE, REG_TRUE[::-1]) < 0


def test_r2_multi_output_is_the_uniform_average():
    second_true = np.array([0.0, 1.0, 0.0, 1.0])
    second_pred = np.array([0.0, 1.0, 1.0, 1.0])  # SS_res 1, SS_tot 1 -> R^2 = 0
    y = np.stack([REG_TRUE, second_true], axis=1)
    pred = np.stack([REG_PRED, second_pred], axis=1)
    assert r2_score(y, pred) == pytest.approx((0.9 + 0.0) / 2)
    # a third column, so that the mean of the scores is not also their median
    third_true = np.array([1.0, 1.0, 3.0, 3.0])  # mean 2, SS_tot 4
    third_pred = np.array([1.0, 2.0, 3.0, 3.0])  # SS_res 1 -> R^2 = 0.75
    y = np.column_stack([y, third_true])
    pred = np.column_stack([pred, third_pred])
    assert r2_score(y, pred) == pytest.approx((0.9 + 0.0 + 0.75) / 3)


def test_r2_constant_target():
    assert r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 3.0]) == 0.0
    # mean([0.1] * 3) != 0.1 in float64, so SS_tot is ~6e-34 rather than 0: constancy must
    # be tested exactly, or the score would be about -2e31.
    assert r2_score(np.full(3, 0.1), [0.1, 0.1, 0.2]) == 0.0


@pytest.mark.parametrize(
    ("y_true", "y_pred", "score"),
    [
        ([1e-300, 2e-300, 3e-300], [1e-300, 2e-300, 3e-300], 1.0),  # SS_tot underflowed: NaN
        ([1e-170, 2e-170, 3e-170], [1e-170, 2e-170, 3.5e-170], 0.875),  # NaN (sklearn 1.0)
        ([1e200, 2e200, 3e200], [1e200, 2e200, 3.5e200], 0.875),  # squares overflowed: NaN
        ([5e-324, 1e-323, 1.5e-323], [5e-324, 1e-323, 1e-323], 0.5),  # subnormal targets
        ([[1e-170, 1.0], [2e-170, 2.0]], [[1e-170, 1.0], [2e-170, 2.5]], (1.0 + 0.5) / 2),
    ],
)
def test_r2_of_tiny_or_huge_targets_is_that_of_the_same_values_scaled(y_true, y_pred, score):
    # R^2 does not change when targets and predictions are scaled together; their
    # squares, beyond float64's range, did
    assert r2_score(y_true, y_pred) == pytest.approx(score, rel=1e-12)


def test_r2_beyond_float64s_range_is_minus_inf():
    # 1 - 2 / 5e-341: no float64 holds it (scikit-learn, whose SS_tot underflows to 0,
    # takes the target for a constant one and scores 0.0)
    with np.errstate(divide="ignore"):  # SS_tot's squares, scaled by 2**-1, still underflow
        assert r2_score([1e-170, 2e-170], [1.0, 1.0]) == -math.inf


def test_r2_scaling_by_powers_of_two_changes_no_bit_of_ordinary_scores():
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = rng.standard_normal((20, 3)) * 10.0 ** rng.uniform(-30, 30)
        p = t + rng.standard_normal((20, 3)) * np.abs(t).max() * 10.0 ** rng.uniform(-5, 1)
        res = np.sum(np.square(t - p), axis=0)
        tot = np.sum(np.square(t - t.mean(axis=0)), axis=0)
        assert r2_score(t, p) == float(np.mean(1.0 - res / tot))


def test_column_and_flat_regression_targets_agree():
    column = REG_TRUE.reshape(-1, 1)
    assert mse(column, REG_PRED) == mse(REG_TRUE, REG_PRED)
    assert r2_score(REG_TRUE, REG_PRED.reshape(-1, 1)) == pytest.approx(0.9)


def test_integer_regression_targets_do_not_wrap_around():
    assert mse(np.array([0], dtype=np.uint8), np.array([1], dtype=np.uint8)) == 1.0
    assert mae(np.array([0], dtype=np.uint8), np.array([3], dtype=np.uint8)) == 3.0


def test_mse_keeps_float32_and_propagates_nan():
    y = np.ones(3, dtype=np.float32)
    assert mse(y, y * 0.5) == pytest.approx(0.25)
    assert np.isnan(mse(y, np.array([np.nan, 1.0, 1.0], dtype=np.float32)))


def test_predictions_from_multiclass_outputs_take_the_argmax():
    scores = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.5]], dtype=np.float32)
    for from_logits in (True, False):
        labels = predictions_from_outputs(scores, from_logits=from_logits)
        np.testing.assert_array_equal(labels, [1, 0, 2])


@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_binary_predictions_threshold(shape):
    probs = np.array([0.2, 0.5, 0.51, 1.0]).reshape(shape)
    np.testing.assert_array_equal(predictions_from_outputs(probs, from_logits=False), [0, 0, 1, 1])
    logits = np.array([-3.0, 0.0, 0.01, 7.0]).reshape(shape)
    np.testing.assert_array_equal(predictions_from_outputs(logits, from_logits=True), [0, 0, 1, 1])


@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_outputs_on_the_target_scale_may_stray_outside_0_1(shape):
    outputs = np.array([-0.3, 0.5, 0.6, 1.4]).reshape(shape)
    labels = predictions_from_outputs(outputs, from_logits=False, target_scale=True)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        predictions_from_outputs(outputs, from_logits=False)
    # logits are read as logits whatever target_scale says
    labels = predictions_from_outputs(outputs, from_logits=True, target_scale=True)
    np.testing.assert_array_equal(labels, [0, 1, 1, 1])
    with pytest.raises(ValueError, match="expected finite outputs"):
        predictions_from_outputs(np.array([np.nan]), from_logits=False, target_scale=True)
    says = "predictions_from_outputs: target_scale expected True or False, got 1"
    with pytest.raises(TypeError, match=says):
        predictions_from_outputs(outputs, from_logits=False, target_scale=1)


def test_logit_and_probability_thresholds_agree():
    z = np.random.default_rng(1).normal(size=500) * 4
    from_probs = predictions_from_outputs(1 / (1 + np.exp(-z)), from_logits=False)
    np.testing.assert_array_equal(predictions_from_outputs(z, from_logits=True), from_probs)


def test_registry_names_directions_and_tasks():
    assert set(METRICS) == {"accuracy", "f1", "precision", "recall", "mse", "mae", "r2"}
    modes = {name: m.mode for name, m in METRICS.items()}
    assert modes == {
        "accuracy": "max",
        "f1": "max",
        "precision": "max",
        "recall": "max",
        "r2": "max",
        "mse": "min",
        "mae": "min",
    }
    assert {m.task for m in METRICS.values() if m.higher_is_better is False} == {"regression"}
    assert get_metric("r2").task == "regression"
    assert get_metric("f1").task == "classification"


def test_registry_metrics_compute_their_functions():
    assert get_metric("accuracy")(Y_TRUE, Y_PRED) == pytest.approx(0.6)
    assert get_metric("precision")(Y_TRUE, Y_PRED) == pytest.approx(PRECISION.mean())
    assert get_metric("recall")(Y_TRUE, Y_PRED) == pytest.approx(RECALL.mean())
    assert get_metric("f1")(Y_TRUE, Y_PRED) == pytest.approx(F1.mean())
    assert get_metric("mse")(REG_TRUE, REG_PRED) == pytest.approx(0.125)
    assert get_metric("mae")(REG_TRUE, REG_PRED) == pytest.approx(0.25)
    assert get_metric("r2")(REG_TRUE, REG_PRED) == pytest.approx(0.9)


def test_registry_is_closed():
    with pytest.raises(TypeError):
        METRICS["auc"] = METRICS["f1"]
    with pytest.raises(ValueError, match=r"unknown metric 'acc'; expected one of accuracy"):
        get_metric("acc")
    with pytest.raises(TypeError, match="expected a metric name"):
        get_metric(None)


LABEL_ERRORS = [
    ([0, 1, 1], [0, 1], "same length, got 3 and 2"),
    ([0, -1], [0, 1], "labels >= 0 in y_true, got -1"),
    ([0, 1], [0, 2.5], "integer class labels in y_pred, got the non-integer value 2.5"),
    ([0, np.nan], [0, 1], "integer class labels in y_true, got the non-integer value nan"),
    (["a", "b"], [0, 1], "integer class labels in y_true, got dtype <U1"),
    ([], [], r"at least one label in y_true, got an empty array"),
    (np.zeros((3, 2)), [0, 1, 1], r"shape \(m,\) or \(m, 1\), got shape \(3, 2\) \(scores"),
    (np.zeros((2, 1, 1)), [0, 1], r"got shape \(2, 1, 1\)"),
]


@pytest.mark.parametrize("fn", [accuracy, confusion_matrix, precision_recall_f1])
@pytest.mark.parametrize(("y_true", "y_pred", "message"), LABEL_ERRORS)
def test_bad_labels_are_rejected(fn, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        fn(y_true, y_pred)


@pytest.mark.parametrize("fn", [confusion_matrix, precision_recall_f1])
def test_labels_outside_n_classes_are_rejected(fn):
    with pytest.raises(
        ValueError, match=r"labels in \[0, 2\] \(n_classes=3\), got label 3 in y_pred"
    ):
        fn([0, 1, 2], [0, 3, 2], n_classes=3)
    with pytest.raises(ValueError, match="got label 5 in y_true"):
        fn([5, 1, 2], [0, 1, 2], n_classes=3)


@pytest.mark.parametrize("fn", [confusion_matrix, precision_recall_f1])
@pytest.mark.parametrize(
    ("n_classes", "error", "got"),
    [(0, ValueError, "0"), (2.0, TypeError, "float 2.0"), (True, TypeError, "bool True")],
)
def test_bad_n_classes_is_rejected(fn, n_classes, error, got):
    says = f"{fn.__name__}: n_classes expected an integer >= 1, got {got}"
    with pytest.raises(error, match=re.escape(says)):
        fn([0, 1], [1, 0], n_classes=n_classes)


def test_n_classes_may_be_a_numpy_integer():
    assert confusion_matrix([0, 1], [1, 0], n_classes=np.int64(3)).shape == (3, 3)


@pytest.mark.parametrize(
    ("average", "error", "got"),
    [
        ("micro", ValueError, "'micro'"),
        ("", ValueError, "''"),
        (1, TypeError, "int 1"),
        (np.array(["macro", "macro"]), TypeError, "ndarray array(['macro', 'macro']"),
    ],
)
def test_a_bad_average_is_rejected(average, error, got):
    # an array raised NumPy's "truth value ... is ambiguous" when compared with the options
    says = f"precision_recall_f1: average expected 'macro' or None, got {got}"
    with pytest.raises(error, match=re.escape(says)):
        precision_recall_f1([0, 1], [1, 0], average=average)


REGRESSION_ERRORS = [
    ([1.0, 2.0, 3.0], [1.0, 2.0], "same length, got 3 and 2"),
    (np.zeros((3, 2)), np.zeros(3), r"shape of y_true \(3, 2\), got \(3,\)"),
    (np.zeros((3, 1, 1)), np.zeros(3), r"shape of y_true \(3, 1, 1\), got \(3,\)"),
    ([], [], "at least one value in y_true, got an empty array"),
    ([1 + 2j], [1.0], "real numbers in y_true, got dtype complex128"),
    ([1.0], ["x"], "real numbers in y_pred, got dtype <U1"),
]


@pytest.mark.parametrize("fn", [mse, mae, r2_score])
@pytest.mark.parametrize(("y_true", "y_pred", "message"), REGRESSION_ERRORS)
def test_bad_regression_inputs_are_rejected(fn, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        fn(y_true, y_pred)


@pytest.mark.parametrize(
    ("fn", "y_true", "y_pred", "what"),
    [
        (accuracy, [0, 1, 1], [[0], [1, 0], [1]], "y_pred"),
        (confusion_matrix, [[0], [1, 0]], [0, 1], "y_true"),
        (precision_recall_f1, [0, 1], [[0], [1, 1]], "y_pred"),
        (mse, [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]], "y_true"),
        (mae, [1.0, 2.0], [1.0, [2.0]], "y_pred"),
        (r2_score, [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]], "y_true"),
    ],
)
def test_ragged_inputs_are_refused_naming_the_metric_and_the_argument(fn, y_true, y_pred, what):
    # NumPy's "setting an array element with a sequence", naming neither
    says = f"{fn.__name__}: {what} expected a rectangular array, got a ragged list ["
    with pytest.raises(ValueError, match="^" + re.escape(says)):
        fn(y_true, y_pred)
    says = "predictions_from_outputs: outputs expected a rectangular array, got a ragged list"
    with pytest.raises(ValueError, match="^" + re.escape(says)):
        predictions_from_outputs([[0.2, 0.8], [0.9]], from_logits=False)


OUTPUT_ERRORS = [
    (np.zeros((2, 2, 2)), True, r"shape \(m,\), \(m, 1\) or \(m, k\), got \(2, 2, 2\)"),
    (np.zeros((0, 3)), True, r"at least one output, got shape \(0, 3\)"),
    (np.array([0.2, np.nan]), False, "expected finite outputs, got NaN or inf"),
    (np.array([[np.inf, 0.0]]), True, "expected finite outputs"),
    (np.array([-2.0, 0.5]), False, r"probabilities in \[0, 1\] .*got values in \[-2, 0.5\]"),
    (np.array(["a"]), True, "real-valued outputs, got dtype <U1"),
]


@pytest.mark.parametrize(("outputs", "from_logits", "message"), OUTPUT_ERRORS)
def test_bad_outputs_are_rejected(outputs, from_logits, message):
    with pytest.raises(ValueError, match=message):
        predictions_from_outputs(outputs, from_logits=from_logits)


def test_from_logits_must_be_an_explicit_bool():
    says = "predictions_from_outputs: from_logits expected True or False, got None"
    with pytest.raises(TypeError, match=says):
        predictions_from_outputs(np.zeros(3), from_logits=None)
    with pytest.raises(TypeError):
        predictions_from_outputs(np.zeros(3))


def _random_labels(seed, n_classes=4, m=300):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_classes, size=m), rng.integers(0, n_classes, size=m)


@pytest.mark.parametrize("seed", [0, 1])
def test_classification_agrees_with_sklearn(seed):
    skm = pytest.importorskip("sklearn.metrics")
    t, p = _random_labels(seed)
    p[p == 3] = 2  # class 3 is never predicted: exercises 0/0 precision
    np.testing.assert_array_equal(confusion_matrix(t, p), skm.confusion_matrix(t, p))
    assert accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    ours = precision_recall_f1(t, p, average=None)
    theirs = skm.precision_recall_fscore_support(t, p, average=None, zero_division=0)
    for a, b in zip(ours, theirs[:3], strict=True):
        np.testing.assert_allclose(a, b)
    macro = skm.precision_recall_fscore_support(t, p, average="macro", zero_division=0)
    assert precision_recall_f1(t, p) == pytest.approx(macro[:3])


def test_macro_over_seen_classes_agrees_with_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    t, p = np.array([0, 0, 3, 3, 3]), np.array([0, 3, 3, 0, 3])  # classes 1, 2 unseen
    theirs = skm.precision_recall_fscore_support(t, p, average="macro", zero_division=0)
    assert precision_recall_f1(t, p) == pytest.approx(theirs[:3])


def test_regression_agrees_with_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    y = rng.normal(size=(50, 3))
    pred = y + rng.normal(scale=0.5, size=(50, 3))
    assert mse(y, pred) == pytest.approx(skm.mean_squared_error(y, pred))
    assert mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred))
    assert r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred))
    y[:, 1] = 4.0  # a constant column
    assert r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred))


@pytest.mark.parametrize(
    ("labels", "says"), [([1e20], "1e+20"), (np.array([2**63], np.uint64), str(2**63))]
)
def test_labels_beyond_intp_are_reported_as_given(labels, says):
    # the cast to intp turned them into -9223372036854775808 before the check
    with pytest.raises(ValueError, match=re.escape(f"below 2**63 in y_true, got {says}")):
        accuracy(labels, [0])


@pytest.mark.parametrize(
    ("fn", "label", "entries"),
    [
        (confusion_matrix, 2**62, (2**62 + 1) ** 2),  # t * k + p overflowed
        (confusion_matrix, 3 * 10**9, (3 * 10**9 + 1) ** 2),  # too big for an array
        (confusion_matrix, 10**5, (10**5 + 1) ** 2),  # 80 GB
        (precision_recall_f1, 2**62, 2**62 + 1),
    ],
)
def test_an_inferred_class_count_beyond_the_bound_is_refused_before_counting(fn, label, entries):
    with pytest.raises(
        ValueError,
        match=rf"^{fn.__name__}: the largest label, {label}, makes {label + 1} classes, whose "
        rf"counts would take {entries} entries, more than the 67108864 allowed for an "
        r"inferred class count; pass n_classes= if that many classes are meant$",
    ):
        fn([label, 0], [0, 1])


def test_the_bound_on_inferred_class_counts_is_exact(monkeypatch):
    assert metrics.MAX_INFERRED_ENTRIES == 2**26  # the bound the docstrings state
    monkeypatch.setattr(metrics, "MAX_INFERRED_ENTRIES", 16)
    assert confusion_matrix([3], [0]).shape == (4, 4)  # 16 entries
    with pytest.raises(ValueError, match="5 classes, whose counts would take 25 entries"):
        confusion_matrix([4], [0])
    assert precision_recall_f1([15], [0], average=None).f1.shape == (16,)
    with pytest.raises(ValueError, match="17 classes, whose counts would take 17 entries"):
        precision_recall_f1([16], [0])
    assert confusion_matrix([4], [0], n_classes=5).shape == (5, 5)  # asked for: no bound
    assert accuracy([2**40, 3], [2**40, 0]) == 0.5  # no counts per class: no bound


def test_a_given_class_count_whose_matrix_cannot_be_indexed_is_refused():
    with pytest.raises(
        ValueError,
        match=r"^confusion_matrix: n_classes expected at most 3037000499 \(a k x k matrix "
        r"of more entries cannot be indexed\), got 3037000500$",
    ):
        confusion_matrix([0], [1], n_classes=3037000500)


def test_precision_recall_f1_memory_does_not_grow_with_the_square_of_the_largest_label():
    result = precision_recall_f1([10**6, 0, 1], [0, 0, 1])  # a 10^6 x 10^6 matrix: 7 TB
    assert result == pytest.approx((0.5, 2 / 3, (2 / 3 + 1 + 0) / 3))


def test_a_models_outputs_and_labels_may_be_tensors():
    import chainrule as cr

    logits = cr.tensor(np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 0.5]]), requires_grad=True)
    labels = predictions_from_outputs(logits, from_logits=True)
    np.testing.assert_array_equal(labels, [1, 0, 1])
    assert accuracy(cr.tensor(np.array([1, 0, 0])), labels) == pytest.approx(2 / 3)
    assert mse(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0])) == pytest.approx(2.0)
