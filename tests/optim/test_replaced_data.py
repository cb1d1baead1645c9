"""A parameter's ``.data`` replaced after the optimizer was built.

The optimizer sizes its state (and the compiled pass its loops) by the data each parameter
had when it was built. A larger array made the compiled Adam write past its moments (the
next parameter's, or past the end of the buffer); a read-only one failed the step after
earlier parameters were written. Now every step refuses such data first, naming the
parameter; data of the same shape and dtype (``layer.weight.data = new_w``) is fine.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, kernels

NEEDS_NUMBA = pytest.mark.skipif(not kernels.available(), reason="needs numba")
FUSED = [pytest.param(True, id="fused", marks=NEEDS_NUMBA), pytest.param(False, id="numpy")]


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


REPLACEMENTS = {  # new data for 'b', which was float32 of shape (2,); its gradient
    "larger": (lambda: np.ones(4, np.float32), r"got an array of shape \(4,\) and dtype float32"),
    "smaller": (lambda: np.ones(1, np.float32), r"got an array of shape \(1,\) and dtype float32"),
    "other-dtype": (lambda: np.ones(2), r"got an array of shape \(2,\) and dtype float64"),
    "read-only": (
        lambda: _read_only(np.ones(2, np.float32)),
        r"got a read-only array of shape \(2,\) and dtype float32",
    ),
    "0-d": (lambda: np.ones((), np.float32), r"got an array of shape \(\) and dtype float32"),
}


def _build(make, fused, first):
    a = cr.tensor(np.linspace(1, 2, 3, dtype=np.float32), requires_grad=True)
    b = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    named = [("b", b), ("a", a)] if first else [("a", a), ("b", b)]
    return a, b, make(named, fused)


def _snapshot(opt):
    state = opt.state_dict()
    return (
        [p.data.copy() for p in opt.params],
        state["step_count"],
        [e["t"] for e in state["params"]],
        [s.copy() for e in state["params"] for s in e["state"].values()],
    )


def _assert_unchanged(opt, before):
    data, step_count, ts, states = _snapshot(opt)
    for x, y in zip(data, before[0], strict=True):
        np.testing.assert_array_equal(x, y)
    assert (step_count, ts) == (before[1], before[2])
    for x, y in zip(states, before[3], strict=True):
        np.testing.assert_array_equal(x, y)


MAKERS = {
    "adam": lambda p, fused: Adam(p, lr=0.1, fused=fused),
    "adamw": lambda p, fused: AdamW(p, lr=0.1, weight_decay=0.1, fused=fused),
    "sgd-momentum": lambda p, fused: SGD(p, lr=0.1, momentum=0.9),
}
BUILDS = [
    pytest.param("adam", True, id="adam-fused", marks=NEEDS_NUMBA),
    pytest.param("adam", False, id="adam-numpy"),
    pytest.param("adamw", True, id="adamw-fused", marks=NEEDS_NUMBA),
    pytest.param("adamw", False, id="adamw-numpy"),
    pytest.param("sgd-momentum", None, id="sgd-momentum"),
]


@pytest.mark.parametrize(("make", "fused"), BUILDS)
@pytest.mark.parametrize("first", [True, False], ids=["resized-first", "resized-last"])
@pytest.mark.parametrize("replacement", list(REPLACEMENTS))
def test_data_replaced_by_another_shape_dtype_or_read_only_is_refused_before_any_write(
    make, fused, first, replacement
):
    new, got = REPLACEMENTS[replacement]
    a, b, opt = _build(MAKERS[make], fused, first)
    for _ in range(2):  # moments and counters that are not zero
        a.grad, b.grad = np.full(3, 0.5, np.float32), np.full(2, -0.5, np.float32)
        opt.step()
    b.data = new()
    before = _snapshot(opt)
    a.grad, b.grad = np.ones(3, np.float32), np.full(b.data.shape, 5.0, b.data.dtype)
    index = 0 if first else 1
    expected = (
        rf"{type(opt).__name__}.step\(\): parameter {index} \('b'\) expected writable data of "
        r"shape \(2,\) and dtype float32 \(what the optimizer was built for\), "
        rf"{got}; no parameter was changed"
    )
    with pytest.raises(ValueError, match=expected):
        opt.step()
    _assert_unchanged(opt, before)


@pytest.mark.parametrize("fused", FUSED)
def test_data_made_read_only_in_place_is_refused(fused):
    a, b, opt = _build(MAKERS["adam"], fused, first=False)
    b.data.flags.writeable = False
    before = _snapshot(opt)
    a.grad, b.grad = np.ones(3, np.float32), np.ones(2, np.float32)
    with pytest.raises(ValueError, match=r"'b'\) expected writable data .* got a read-only array"):
        opt.step()
    _assert_unchanged(opt, before)


@pytest.mark.parametrize("fused", FUSED)
def test_data_that_is_no_array_is_a_type_error(fused):
    a, b, opt = _build(MAKERS["adam"], fused, first=True)
    b.data = [1.0, 1.0]
    a.grad, b.grad = np.ones(3, np.float32), np.ones(2, np.float32)
    with pytest.raises(TypeError, match=r"parameter 0 \('b'\) expected writable data .*got list"):
        opt.step()
    np.testing.assert_array_equal(a.data, np.linspace(1, 2, 3, dtype=np.float32))
    assert opt.step_count == 0


def test_the_hint_says_what_to_do():
    a, b, opt = _build(MAKERS["adam"], False, first=True)
    a.grad, b.grad = np.ones(3, np.float32), np.ones(2, np.float32)
    b.data = np.ones(4, np.float32)
    b.grad = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="build a new optimizer for the new parameters"):
        opt.step()
    b.data = _read_only(np.ones(2, np.float32))
    b.grad = np.ones(2, np.float32)
    with pytest.raises(ValueError, match=r"give it writable data \(p.data = p.data.copy\(\)\)"):
        opt.step()


def test_a_gradient_of_the_old_shape_for_new_data_names_the_data():
    # the data is what changed: the message says so rather than blaming the gradient
    a, b, opt = _build(MAKERS["adam"], False, first=False)
    b.data = np.ones(4, np.float32)
    a.grad, b.grad = np.ones(3, np.float32), np.ones(2, np.float32)
    with pytest.raises(ValueError, match=r"'b'\) expected writable data .* got an array of shape"):
        opt.step()


@pytest.mark.parametrize("fused", FUSED)
def test_data_replaced_by_one_of_the_same_shape_and_dtype_is_updated(fused, monkeypatch):
    calls = []
    adam_step = kernels.adam_step
    monkeypatch.setattr(kernels, "adam_step", lambda *args: calls.append(1) or adam_step(*args))
    results = []
    for replace in (False, True):
        a, b, opt = _build(MAKERS["adam"], fused, first=True)
        for k in range(3):
            if replace and k == 1:
                new = np.array(b.data, copy=True)  # layer.weight.data = new_w
                b.data = new
            a.grad = np.full(3, 0.5 + k, np.float32)
            b.grad = np.full(2, -0.5 * k, np.float32)
            assert opt.step()
        if replace:
            assert b.data is new  # written in place: the new array holds the update
        results.append(_snapshot(opt))
    assert len(calls) == (6 if fused else 0)  # the compiled pass took every step
    for x, y in zip(results[0][0] + results[0][3], results[1][0] + results[1][3], strict=True):
        np.testing.assert_array_equal(x, y)
