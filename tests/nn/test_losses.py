"""Losses: gradient checks, the notes' dZ = A - Y, values, stability, and bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses

M, K = 5, 4
REDUCTIONS = ("mean", "sum", "none")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


LABELS = np.array([0, 3, 1, 1, 2])
ONE_HOT = np.eye(K)[LABELS]
PROBS = _softmax(_rng(9).standard_normal((M, K)))


def _t(a, grad: bool = True) -> cr.Tensor:
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# name -> (loss, prediction, target); float64, inside each loss's domain
CASES = {
    "quadratic": (losses.quadratic, _rng(1).standard_normal((M, 3)), _rng(2).random((M, 3))),
    "mse": (losses.mse, _rng(1).standard_normal((M, 3)), _rng(2).random((M, 3))),
    "mae": (losses.mae, _rng(1).standard_normal((M, 3)), _rng(2).random((M, 3))),
    "quadratic_1d": (losses.quadratic, _rng(1).standard_normal(M), _rng(2).random(M)),
    "bce": (losses.bce, _rng(3).uniform(0.05, 0.95, (M, 2)), _rng(4).random((M, 2))),
    "bce_with_logits": (
        losses.bce_with_logits,
        3 * _rng(3).standard_normal((M, 2)),
        _rng(4).random((M, 2)),
    ),
    "bce_with_logits_1d": (losses.bce_with_logits, _rng(3).standard_normal(M), _rng(4).random(M)),
    # a prediction of more than two axes: each example's loss sums (or averages) the rest
    "mse_3d": (losses.mse, _rng(1).standard_normal((M, 2, 3)), _rng(2).random((M, 2, 3))),
    "bce_3d": (losses.bce, _rng(3).uniform(0.05, 0.95, (M, 2, 2)), _rng(4).random((M, 2, 2))),
    "bce_with_logits_3d": (
        losses.bce_with_logits,
        3 * _rng(3).standard_normal((M, 2, 2)),
        _rng(4).random((M, 2, 2)),
    ),
    "cross_entropy_labels": (losses.cross_entropy, _rng(5).standard_normal((M, K)), LABELS),
    "cross_entropy_one_hot": (losses.cross_entropy, _rng(5).standard_normal((M, K)), ONE_HOT),
    "cross_entropy_probs": (losses.cross_entropy, _rng(5).standard_normal((M, K)), PROBS),
    # rows that do not sum to 1: the gradient is softmax * sum(q) - q, not softmax - q
    "cross_entropy_weights": (
        losses.cross_entropy,
        _rng(5).standard_normal((M, K)),
        _rng(8).uniform(0.0, 2.0, (M, K)),
    ),
    "nll_labels": (losses.nll, np.log(PROBS), LABELS),
    "nll_probs": (losses.nll, np.log(PROBS), ONE_HOT),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, reduction):
    loss, pred, target = CASES[name]
    result = cr.gradcheck(lambda p: loss(p, target, reduction=reduction), _t(pred))
    assert result, str(result)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_cross_entropy_labels_numpy_rules(reduction):
    # the NumPy rule even where numba (the compiled labels path) is installed
    def f(z):
        with cr.numpy_rules():
            return losses.cross_entropy(z, LABELS, reduction=reduction)

    assert (result := cr.gradcheck(f, _t(_rng(5).standard_normal((M, K))))), str(result)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("target", [LABELS, PROBS], ids=["labels", "probs"])
def test_gradcheck_cross_entropy_with_label_smoothing(target, smoothing):
    z = _t(_rng(6).standard_normal((M, K)))

    def f(z):
        return losses.cross_entropy(z, target, label_smoothing=smoothing)

    assert (result := cr.gradcheck(f, z)), str(result)


@pytest.mark.parametrize(
    "loss, pred, target",
    [
        (losses.cross_entropy, _rng(5).standard_normal((M, K)), PROBS),
        (losses.bce_with_logits, _rng(3).standard_normal((M, 2)), _rng(4).random((M, 2))),
        (losses.bce, _rng(3).uniform(0.1, 0.9, (M, 2)), _rng(4).uniform(0.1, 0.9, (M, 2))),
        (losses.nll, np.log(PROBS), _rng(7).dirichlet(np.ones(K), M)),
    ],
    ids=["cross_entropy", "bce_with_logits", "bce", "nll"],
)
def test_gradcheck_with_respect_to_soft_targets(loss, pred, target):
    result = cr.gradcheck(lambda p, y: loss(p, y, reduction="none"), _t(pred), _t(target))
    assert result, str(result)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_with_respect_to_soft_targets_with_label_smoothing(reduction):
    # the target's gradient is -(1 - s) log p: smoothing scales it
    z, y = _rng(5).standard_normal((M, K)), _rng(7).dirichlet(np.ones(K), M)

    def f(z, y):
        return losses.cross_entropy(z, y, reduction, label_smoothing=0.3)

    assert (result := cr.gradcheck(f, _t(z), _t(y))), str(result)


# -- the notes' dZ = A - Y ------------------------------------------------------------------
@pytest.mark.parametrize("target", [LABELS, ONE_HOT], ids=["labels", "one_hot"])
def test_softmax_cross_entropy_gradient_is_softmax_minus_y_over_m(target):
    logits = _rng(7).standard_normal((M, K))
    z = _t(logits)
    losses.cross_entropy(z, target).backward()
    np.testing.assert_allclose(z.grad, (_softmax(logits) - ONE_HOT) / M, rtol=1e-12, atol=1e-15)


def test_bce_with_logits_gradient_is_sigmoid_minus_y_over_m():
    logits = _rng(8).standard_normal((M, 1))
    y = (_rng(9).random((M, 1)) > 0.5).astype(np.float64)
    z = _t(logits)
    losses.bce_with_logits(z, y).backward()
    np.testing.assert_allclose(z.grad, (_sigmoid(logits) - y) / M, rtol=1e-12, atol=1e-15)


def test_quadratic_gradient_is_a_minus_y_over_m():
    a, y = _rng(1).random((M, 3)), _rng(2).random((M, 3))
    t = _t(a)
    losses.quadratic(t, y).backward()
    np.testing.assert_allclose(t.grad, (a - y) / M, rtol=1e-12)


# -- values ---------------------------------------------------------------------------------
def test_values_against_the_formulas():
    a, y = _rng(1).random((M, 3)), _rng(2).random((M, 3))
    assert losses.quadratic(_t(a), y).item() == pytest.approx(((y - a) ** 2).sum() / (2 * M))
    assert losses.mse(_t(a), y).item() == pytest.approx(((y - a) ** 2).mean())
    assert losses.mae(_t(a), y).item() == pytest.approx(np.abs(y - a).mean())
    bce = -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum() / M
    assert losses.bce(_t(a), y).item() == pytest.approx(bce)
    assert losses.bce_with_logits(_t(np.log(a / (1 - a))), y).item() == pytest.approx(bce)
    z = _rng(5).standard_normal((M, K))
    ce = -np.log(_softmax(z)[np.arange(M), LABELS]).mean()
    assert losses.cross_entropy(_t(z), LABELS).item() == pytest.approx(ce)
    assert losses.cross_entropy(_t(z), ONE_HOT).item() == pytest.approx(ce)
    assert losses.nll(cr.log_softmax(_t(z)), LABELS).item() == pytest.approx(ce)
    uniform = losses.cross_entropy(_t(np.zeros((M, K))), LABELS)
    assert uniform.item() == pytest.approx(np.log(K))


@pytest.mark.parametrize(
    ("loss", "entry", "slope"),
    [(losses.mse, np.square, lambda d: 2 * d), (losses.mae, np.abs, np.sign)],
    ids=["mse", "mae"],
)
def test_mse_and_mae_average_over_every_entry_of_a_3d_prediction(loss, entry, slope):
    # "mean" is the mean over all m * 2 * 3 entries, not over the last axis alone
    a, y = _rng(0).standard_normal((4, 2, 3)), _rng(1).standard_normal((4, 2, 3))
    d = a - y
    assert loss(_t(a), y).item() == pytest.approx(np.mean(entry(d)), rel=1e-12)
    assert loss(_t(a), y, reduction="sum").item() == pytest.approx(
        entry(d).mean(axis=(1, 2)).sum(), rel=1e-12
    )
    per = loss(_t(a), y, reduction="none").data
    np.testing.assert_allclose(per, entry(d).mean(axis=(1, 2)), rtol=1e-12)
    t = _t(a)
    loss(t, y).backward()
    np.testing.assert_allclose(t.grad, slope(d) / d.size, rtol=1e-12)
    assert (result := cr.gradcheck(lambda p: loss(p, y), _t(a))), str(result)


def test_label_smoothing_mixes_in_the_uniform_distribution():
    z = _rng(5).standard_normal((M, K))
    smoothed = 0.9 * ONE_HOT + 0.1 / K
    expected = -(smoothed * np.log(_softmax(z))).sum(axis=1).mean()
    assert losses.cross_entropy(_t(z), LABELS, label_smoothing=0.1).item() == pytest.approx(
        expected
    )
    assert losses.cross_entropy(_t(z), smoothed).item() == pytest.approx(expected)


def _smoothed_cross_entropy(z: np.ndarray, q: np.ndarray, s: float) -> np.ndarray:
    """Each row's -sum_j ((1 - s) q_j + s / k) log softmax(z)_j, worked apart in NumPy."""
    k = z.shape[1]
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(((1 - s) * q + s / k) * log_p).sum(axis=1)


@pytest.mark.parametrize("s", [0.1, 0.5])
@pytest.mark.parametrize("k", [2, 3, 7])
def test_label_smoothing_of_probability_rows_against_the_formula(k, s):
    # one-hot rows smooth as their labels do, and soft rows by the same mix with s / k
    rng = _rng(k)
    z, labels = rng.standard_normal((M, k)), rng.integers(0, k, M)
    soft = rng.dirichlet(np.ones(k), M)
    expected = _smoothed_cross_entropy(z, np.eye(k)[labels], s)
    for target in (np.eye(k)[labels], labels):
        per = losses.cross_entropy(_t(z), target, "none", label_smoothing=s).data
        np.testing.assert_allclose(per, expected, rtol=1e-12)
        mean = losses.cross_entropy(_t(z), target, label_smoothing=s).item()
        assert mean == pytest.approx(expected.mean(), rel=1e-12)
    per = losses.cross_entropy(_t(z), soft, "none", label_smoothing=s).data
    np.testing.assert_allclose(per, _smoothed_cross_entropy(z, soft, s), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reductions_agree(name):
    loss, pred, target = CASES[name]
    per = loss(_t(pred, False), target, reduction="none").data
    assert per.shape == (M,)
    assert loss(_t(pred, False), target, reduction="sum").item() == pytest.approx(per.sum())
    assert loss(_t(pred, False), target).item() == pytest.approx(per.mean())


def test_float32_stays_float32():
    z = cr.tensor(_rng(5).standard_normal((M, K)).astype(np.float32), requires_grad=True)
    loss = losses.cross_entropy(z, LABELS)
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32
    y = cr.tensor(_rng(4).random((M, K)).astype(np.float32))
    for fn in (losses.bce_with_logits, losses.quadratic, losses.mse, losses.mae):
        z.grad = None
        out = fn(z, y)
        out.backward()
        assert out.dtype == np.float32 and z.grad.dtype == np.float32, fn.__name__


@pytest.mark.parametrize("target", [LABELS, PROBS], ids=["labels", "probs"])
def test_numpy_float64_label_smoothing_keeps_float32(target):
    z = cr.tensor(_rng(5).standard_normal((M, K)).astype(np.float32), requires_grad=True)
    y = cr.tensor(target.astype(np.float32), requires_grad=True) if target is PROBS else target
    loss = losses.cross_entropy(z, y, label_smoothing=np.float64(0.1))
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32
    assert target is LABELS or y.grad.dtype == np.float32


# -- stability ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_stable_at_extreme_logits(dtype):
    z = cr.tensor(np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype), requires_grad=True)
    loss = losses.cross_entropy(z, np.array([0, 0]), reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 2e4])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [[0, 0, 0], [-1, 1, 0]], atol=1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_stable_at_extreme_logits(dtype):
    z = cr.tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype), requires_grad=True)
    y = np.array([1, 0, 0, 1], dtype)
    loss = losses.bce_with_logits(z, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0, 0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_array_equal(z.grad, [0, 0, 1, -1])


def test_bce_from_probabilities_is_safe_at_zero_and_one():
    a = cr.tensor(np.array([0.0, 1.0, 0.0, 1.0], np.float32), requires_grad=True)
    y = np.array([0, 1, 1, 0], np.float32)
    loss = losses.bce(a, y, reduction="none")
    assert np.all(np.isfinite(loss.data))
    assert loss.data[0] < 1e-6 and loss.data[1] < 1e-6 and loss.data[2] > 10
    loss.sum().backward()
    assert np.all(np.isfinite(a.grad))
    assert a.grad[2] < 0 < a.grad[3]  # pushes the saturated prediction toward the target


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_after_a_sigmoid_pushes_a_wrong_saturated_unit_by_a_minus_y(dtype):
    # a clip at the machine epsilon made the push vanish from z of about -16 (float32):
    # -0.017 at z = -20, and the loss stuck at 15.94
    z = cr.tensor(np.array([-10.0, -20.0, -30.0, -60.0], dtype), requires_grad=True)
    loss = losses.bce(cr.sigmoid(z), np.ones(4, dtype), reduction="sum")
    loss.backward()
    a = 1 / (1 + np.exp(-z.data.astype(np.float64)))
    np.testing.assert_allclose(z.grad, a - 1, rtol=1e-6)
    np.testing.assert_allclose(loss.data, np.sum(-z.data.astype(np.float64)), rtol=1e-6)
    exact = losses.bce(cr.tensor(np.array([0.0, 1.0], dtype)), np.array([0.0, 1.0], dtype))
    assert exact.data == 0  # a prediction exactly on its target costs nothing


# -- bad input ------------------------------------------------------------------------------
def _with(rows, index, value):
    rows[index] = value
    return rows


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array([0, 1, -1, 2, 3]), r"label -1 at position 2 is out of range.*\[0, 4\)"),
        (np.array([0, 1, 4, 2, 3]), r"label 4 at position 2 is out of range"),
        (np.array([0, 5, -1, 2, 3]), r"label 5 at position 1 is out of range"),  # the first
        (np.array([0.0, 1.0, 2.0, 1.0, 0.0]), r"float labels.*integer dtype"),
        (np.array([0, 1, 2]), r"batch size mismatch: the prediction has 5 rows, the target has 3"),
        (np.eye(3)[[0, 1, 2, 0, 1]], r"shape \(5, 4\), got shape \(5, 3\)"),
        (
            np.eye(4)[[0, 1, 2, 3, 1]] * [1.0, 1.0, 1.0, -0.5],
            r"targets must be finite and non-negative; got -0.5 at row 3, column 3",
        ),
        (
            _with(np.eye(4)[[0, 1, 2, 3, 1]], (2, 2), np.nan),
            r"targets must be finite and non-negative; got nan at row 2, column 2",
        ),
        (
            _with(np.eye(4)[[0, 1, 2, 3, 1]], (1, 1), np.inf),
            r"targets must be finite and non-negative; got inf at row 1, column 1",
        ),
    ],
    ids=[
        "negative",
        "too_large",
        "two_bad",
        "float",
        "batch",
        "classes",
        "negative_row",
        "nan_row",
        "inf_row",
    ],
)
@pytest.mark.parametrize("loss", [losses.cross_entropy, losses.nll])
@pytest.mark.parametrize("rules", [cr.enable_grad, cr.numpy_rules], ids=["default", "numpy"])
def test_class_targets_are_validated(loss, labels, match, rules):
    with rules(), pytest.raises(ValueError, match=match):
        loss(_t(np.zeros((M, K))), labels)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["0", "1", "2", "3", "1"]),
        np.array([0, 1, 2, 3, 1], dtype=object),
        np.eye(K, dtype=object)[LABELS],
        np.array([0, 1, 2, 3, 1], dtype=complex),
    ],
    ids=["str", "object", "object-rows", "complex"],
)
@pytest.mark.parametrize("loss", [losses.cross_entropy, losses.nll])
@pytest.mark.parametrize("rules", [cr.enable_grad, cr.numpy_rules], ids=["default", "numpy"])
def test_class_targets_of_a_non_numeric_dtype_are_a_type_error_naming_it(loss, labels, rules):
    # str and object labels of shape (5,) got "expected ... shape (5,) ..., got shape (5,)"
    message = (
        rf"{loss.__name__}: expected integer class labels or float one-hot/probability rows, "
        rf"got dtype {re.escape(str(labels.dtype))}"
    )
    with rules(), pytest.raises(TypeError, match=message):
        loss(_t(np.zeros((M, K))), labels)


@pytest.mark.parametrize("loss", [losses.cross_entropy, losses.nll])
def test_labels_of_any_unsigned_dtype_are_accepted_and_checked(loss):
    z = _t(np.zeros((M, K)))
    labels = np.array([0, 1, 2, 3, 1])
    expected = loss(z, labels).item()
    for dtype in (np.uint16, np.uint32, np.uint64):
        assert loss(z, labels.astype(dtype)).item() == expected
        with pytest.raises(ValueError, match="label 60000 at position 1 is out of range"):
            loss(z, np.array([0, 60000, 2, 3, 1], dtype))


@pytest.mark.parametrize("loss", [losses.cross_entropy, losses.nll])
@pytest.mark.parametrize("rules", [cr.enable_grad, cr.numpy_rules], ids=["default", "numpy"])
def test_negative_narrow_labels_are_refused_with_more_classes_than_the_dtype_counts(loss, rules):
    # int8 -1 viewed as unsigned is 255, which is a valid class of 300: it used to read 299
    with rules(), pytest.raises(ValueError, match="label -1 at position 0 is out of range"):
        loss(_t(np.zeros((2, 300))), np.array([-1, 0], np.int8))
    with rules(), pytest.raises(ValueError, match="label -1 at position 0 is out of range"):
        losses.cross_entropy(
            _t(np.zeros((2, 300))), np.array([-1, 0], np.int8), label_smoothing=0.1
        )


def test_bce_rejects_probabilities_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]; got 1.5"):
        losses.bce(_t([0.5, 1.5]), [1.0, 0.0])
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]; got -1"):
        losses.bce_with_logits(_t([0.5, 1.5]), [1.0, -1.0])


def test_elementwise_targets_must_match_shape_and_dtype():
    with pytest.raises(ValueError, match=r"expected a target of shape \(5, 1\).*got \(5,\)"):
        losses.quadratic(_t(np.zeros((M, 1))), np.zeros(M))
    with pytest.raises(TypeError, match="target is float64 but the prediction is float32"):
        losses.mse(cr.tensor(np.zeros((M, 1), np.float32)), np.zeros((M, 1)))
    ints = losses.bce_with_logits(cr.tensor(np.zeros(3, np.float32)), np.array([0, 1, 1]))
    assert ints.dtype == np.float32  # integer 0/1 labels convert exactly


@pytest.mark.parametrize("loss", [losses.mse, losses.mae, losses.quadratic])
def test_a_float_target_list_beyond_the_prediction_dtype_is_an_overflow_error(loss):
    # the list's float64 values became inf in float32 (with a RuntimeWarning at most), as
    # cr.tensor([[1e40, 0.0]], dtype="float32") refuses them
    prediction = cr.tensor(np.zeros((1, 2), np.float32))
    with pytest.raises(
        OverflowError, match=r"^Tensor: expected values in \[-3.4028235e\+38, 3.4028235e\+38\]"
    ):
        loss(prediction, [[1e40, 0.0]])
    assert loss(prediction, [[2.0, 0.0]]).item() > 0  # a target it holds is taken


def test_unknown_names_raise_listing_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'.*quadratic.*cross_entropy"):
        losses.get_loss("hinge")
    assert losses.get_loss("bce_with_logits") is losses.bce_with_logits
    with pytest.raises(ValueError, match=r"unknown reduction 'avg'.*mean, sum, none"):
        losses.mse(_t([1.0]), [1.0], reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.cross_entropy(_t(np.zeros((M, K))), LABELS, label_smoothing=1.0)


def test_infinite_logits_on_the_side_of_their_target_cost_nothing():
    inf = np.inf
    with np.errstate(all="raise"):  # no inf - inf or 0 * inf inside
        z = cr.tensor(np.array([[-inf, inf]]), requires_grad=True)
        loss = losses.bce_with_logits(z, np.array([[0.0, 1.0]]))
        assert loss.item() == 0.0
        loss.backward()
        np.testing.assert_array_equal(z.grad, [[0.0, 0.0]])
        wrong = losses.bce_with_logits(cr.tensor(np.array([[-inf, 3.0]])), np.array([[1.0, 0.2]]))
        assert wrong.item() == inf
        z = cr.tensor(np.array([[0.0, -inf, 1.0]]), requires_grad=True)
        loss = losses.cross_entropy(z, np.array([[1.0, 0.0, 0.0]]))  # a masked-out class
        assert np.isfinite(loss.item())
        loss.backward()
        assert np.isfinite(z.grad).all() and z.grad[0, 1] == 0.0
        rows = np.array([[1.0, 0.0, 0.0]])
        lp = cr.log_softmax(cr.tensor(np.array([[2.0, -inf, 0.5]])))
        nll = cr.functional.negative_log_likelihood(lp, rows)  # the same loss, in two steps
        expected = cr.functional.softmax_cross_entropy(
            cr.tensor(np.array([[2.0, -inf, 0.5]])), rows
        )
        assert nll.item() == expected.item()


def test_bool_class_labels_are_refused_by_name_and_bool_one_hot_rows_taken():
    z = cr.tensor(np.zeros((3, 2)))
    with pytest.raises(TypeError, match=r"integer class labels of shape \(3,\), got bool"):
        losses.cross_entropy(z, np.array([True, False, True]))
    rows = np.eye(2, dtype=bool)[[0, 1, 0]]
    assert losses.cross_entropy(z, rows).item() == pytest.approx(np.log(2))


@pytest.mark.parametrize("loss", [losses.mse, losses.mae, losses.cross_entropy, losses.quadratic])
def test_zero_width_predictions_are_refused_by_the_loss(loss):
    # mse divided by zero and cross-entropy's max over an empty row failed inside NumPy
    with pytest.raises(ValueError, match=r"with a value per example, got shape \(3, 0\)"):
        loss(np.zeros((3, 0)), np.zeros((3, 0)))


def test_a_float16_prediction_is_refused_by_the_loss():
    with pytest.raises(
        TypeError, match="mse: expected a float32 or float64 prediction, got float16"
    ):
        losses.mse(np.zeros((3, 1), np.float16), np.zeros((3, 1), np.float16))


def test_an_array_like_prediction_of_another_library_is_still_taken():
    class ArrayLike:  # a dtype NumPy does not name, as torch's tensors have
        dtype = "torch.float32"

        def __array__(self, dtype=None, copy=None):
            return np.array([[0.5, 1.0]], np.float32)

    assert losses.mse(ArrayLike(), np.array([[0.0, 1.0]], np.float32)).item() == pytest.approx(
        0.125
    )


def test_every_loss_says_what_it_reads():
    # the trainer, the config checks and the CLI's targets all read these two tables
    assert set(losses.INPUTS) == set(losses.LOSSES)
    assert set(losses.INPUTS.values()) == {
        "target_scale",
        "probabilities",
        "logits",
        "log_probabilities",
    }
    assert losses.CLASS_INDEX_TARGETS.issubset(losses.LOSSES)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_the_class_index_losses_are_those_that_take_integer_labels(name):
    labels = np.array([0, 1, 1])
    prediction = np.log(np.full((3, 2), 0.5))  # log-probabilities, and logits
    if name in losses.CLASS_INDEX_TARGETS:
        assert np.isfinite(losses.LOSSES[name](prediction, labels).item())
    else:
        with pytest.raises((TypeError, ValueError)):
            losses.LOSSES[name](prediction, labels)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_a_ragged_target_list_is_a_value_error_naming_the_loss(name):
    # it was NumPy's "setting an array element with a sequence...", naming nothing
    prediction = _t(np.full((2, 3), 0.5))
    with pytest.raises(
        ValueError,
        match=rf"^{name}: target expected a rectangular array, got a ragged list "
        r"\[\[1, 0, 0\], \[1\]\]$",
    ):
        losses.LOSSES[name](prediction, [[1, 0, 0], [1]])
