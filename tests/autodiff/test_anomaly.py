"""detect_anomaly names the op that produced the first NaN/Inf."""

import numpy as np
import pytest

import chainrule as cr


def test_forward_nan_names_the_op():
    x = cr.tensor(np.array([1.0, -1.0]), requires_grad=True)
    expected = pytest.raises(cr.autodiff.NonFiniteValueError, match="op 'sqrt'.*forward")
    with cr.detect_anomaly(), expected, np.errstate(invalid="ignore"):
        cr.sqrt(x)


def test_backward_inf_names_the_rule():
    x = cr.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with cr.detect_anomaly():
        y = cr.sqrt(x).sum()  # finite forward, infinite derivative at 0
        with (
            pytest.raises(cr.autodiff.NonFiniteValueError, match="rule of op 'sqrt'"),
            np.errstate(divide="ignore"),
        ):
            y.backward()


def test_a_backward_stopped_by_an_anomaly_changes_no_gradient():
    # b is created after sqrt(a), so its gradient came before sqrt's rule failed: it was
    # stored, a's was not, and the leaves were left half-updated
    a = cr.tensor(np.array([0.0, 4.0]), requires_grad=True)
    c = cr.sqrt(a)
    b = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b.grad = np.array([10.0, 10.0])
    with cr.detect_anomaly():
        loss = (c * b).sum()
        with pytest.raises(FloatingPointError), np.errstate(divide="ignore"):
            loss.backward()
    assert a.grad is None
    np.testing.assert_array_equal(b.grad, [10.0, 10.0])


def test_anomaly_mode_ends_with_its_block():
    x = cr.tensor(np.array([-1.0]), requires_grad=True)
    with cr.detect_anomaly():
        cr.log(-x)
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.log(x).data).all()


def test_a_backward_stopped_by_an_anomaly_leaves_the_graph_for_a_retry():
    # the nodes walked before the failing rule were released: the retry blamed "an
    # earlier backward()" and asked for retain_graph=True
    v = cr.tensor(np.array([0.0, 1.0], np.float32), requires_grad=True)
    loss = (v.sqrt() * 2.0).sum()
    with (
        cr.detect_anomaly(),
        pytest.raises(FloatingPointError, match="rule of op 'sqrt'"),
        np.errstate(divide="ignore"),
    ):
        loss.backward()
    assert v.grad is None
    with np.errstate(divide="ignore"):
        loss.backward()
    np.testing.assert_array_equal(v.grad, [np.inf, 1.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):  # released once it succeeded
        loss.backward()


def test_a_batch_norm_stopped_by_an_anomaly_leaves_the_running_statistics_as_they_were():
    # they were updated, with the NaN, before the check raised
    bn = cr.nn.BatchNorm1d(2, dtype="float64")
    x = cr.tensor(np.array([[0.1, np.nan], [0.2, 1.0]]), requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(FloatingPointError, match="op 'batch_norm'"):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, [0.0, 0.0])
    np.testing.assert_array_equal(bn.running_var, [1.0, 1.0])
