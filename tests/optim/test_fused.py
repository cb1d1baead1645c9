"""The compiled Adam step (numba, the ``fast`` extra) against the NumPy rule: bit for bit."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import chainrule as cr
from chainrule import optim
from chainrule.optim import kernels

pytest.importorskip("numba")

SHAPES = [(30, 20), (20,), (), (5, 4, 3), (4000,)]
VARIANTS = {
    "adam": (optim.Adam, {}),
    "adamw": (optim.AdamW, {"weight_decay": 0.1}),
    "no-bias-correction": (optim.Adam, {"bias_correction": False}),
    "schedule": (optim.Adam, {"lr": optim.CosineDecay(0.05, duration=10)}),
}


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (f"p{i}", cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True))
        for i, s in enumerate(SHAPES)
    ]


def _train(make, fused, dtype, steps=12, grads=None):
    params = _params(dtype)
    opt = make(params, fused)
    rng = np.random.default_rng(1)
    for k in range(steps):
        for _, p in params:
            # gradients from 1e-15 to 1e4: the tails of sqrt(s) + eps and of the division,
            # with every moment a normal float (see the flush test below)
            g = rng.standard_normal(p.shape) * 10.0 ** rng.integers(-15, 5, size=p.shape)
            p.grad = g.astype(dtype) if grads is None else grads(k, p, g.astype(dtype))
        opt.step()
    return [p.data.copy() for _, p in params], opt


def _assert_same(a, b):
    (pa, oa), (pb, ob) = a, b
    for x, y in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(x, y)
    for ea, eb in zip(oa.state_dict()["params"], ob.state_dict()["params"], strict=True):
        assert ea["t"] == eb["t"]
        for name in ("v", "s"):
            np.testing.assert_array_equal(ea["state"][name], eb["state"][name])


def _factory(variant):
    cls, kw = VARIANTS[variant]
    kw = dict(kw)
    lr = kw.pop("lr", 0.01)
    return lambda params, fused: cls(params, lr=lr, fused=fused, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fused_step_is_bit_identical_to_the_numpy_rule(variant, dtype):
    make = _factory(variant)
    fused = _train(make, True, dtype)
    assert fused[1].fused is True
    _assert_same(fused, _train(make, False, dtype))


def test_parameters_of_two_dtypes_take_the_compiled_pass_per_group():
    # one group per dtype: each group's gradients go to its own compiled passes
    def run(fused):
        rng = np.random.default_rng(2)
        params = [
            (f"p{i}", cr.tensor(rng.standard_normal(s).astype(d), requires_grad=True))
            for i, (s, d) in enumerate([((6, 5), "float32"), ((5,), "float64"), ((7,), "float32")])
        ]
        opt = optim.Adam(params, lr=0.01, fused=fused)
        for _ in range(5):
            for _, p in params:
                p.grad = rng.standard_normal(p.shape).astype(p.dtype)
            assert opt.step()
        return [p.data.copy() for _, p in params], opt

    fused = run(True)
    assert len(fused[1]._groups) == 2
    _assert_same(fused, run(False))


def test_non_contiguous_and_read_only_gradients_are_read_not_written():
    def grads(k, p, g):
        if p.ndim == 2:  # an F-ordered copy: same values, other strides
            g = np.asfortranarray(g)
        g = np.asarray(g)
        g.flags.writeable = False
        return g

    make = _factory("adam")
    fused = _train(make, True, "float32", grads=grads)
    _assert_same(fused, _train(make, False, "float32", grads=grads))


def test_missing_gradients_then_all_again_match_the_numpy_rule():
    # step 3 leaves p1 without a gradient: the per-parameter NumPy path runs, the
    # counters differ, and later steps keep taking the NumPy path for that group
    def grads(k, p, g):
        return None if (k == 3 and p.shape == (20,)) else g

    make = _factory("adam")
    fused = _train(make, True, "float32", grads=grads)
    _assert_same(fused, _train(make, False, "float32", grads=grads))


def test_non_contiguous_parameter_is_updated_in_place_by_the_numpy_rule():
    results = []
    for fused in (True, False):
        base = np.arange(12, dtype=np.float32).reshape(3, 4)
        w = cr.tensor(base.T, requires_grad=True)  # an F-ordered view: no flat view of it
        opt = optim.Adam([w], lr=0.1, fused=fused)
        w.grad = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        opt.step()
        assert np.shares_memory(w.data, base)  # still the caller's array, written in place
        results.append(base.copy())
    np.testing.assert_array_equal(*results)
    assert not np.array_equal(results[0], np.arange(12).reshape(3, 4))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_raises_and_changes_nothing(bad):
    params = _params("float32")
    opt = optim.Adam(params, lr=0.1, fused=True)
    before = [p.data.copy() for _, p in params]
    for _, p in params:
        p.grad = np.ones(p.shape, np.float32)
    params[3][1].grad[0, 0, 0] = bad
    with pytest.raises(FloatingPointError, match="'p3'"):
        opt.step()
    for (_, p), b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    assert opt.step_count == 0
    skipping = optim.Adam(params, lr=0.1, fused=True, nonfinite="skip")
    assert not skipping.step()
    for (_, p), b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_huge_finite_gradients_are_applied_like_the_numpy_rule():
    # their squares overflow float32, which a sum-of-squares check would have to sort out
    results = []
    for fused in (True, False):
        params = _params("float32")
        opt = optim.Adam(params, lr=0.1, fused=fused)
        for _, p in params:
            p.grad = np.full(p.shape, 3e38, np.float32)
        assert opt.step()  # the NumPy rule squares into inf, as the kernel, without a warning
        results.append([p.data.copy() for _, p in params])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fused_true_without_numba_is_an_import_error(monkeypatch):
    monkeypatch.setattr(kernels, "_numba_module", lambda: None)
    p = cr.tensor(np.zeros(3, np.float32), requires_grad=True)
    with pytest.raises(ImportError, match=r"chainrule\[fast\]"):
        optim.Adam([p], fused=True)
    assert optim.Adam([p]).fused is False  # the default falls back to NumPy


def test_fused_must_be_none_or_bool():
    p = cr.tensor(np.zeros(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="expected fused to be None, True or False, got 'yes'"):
        optim.AdamW([p], fused="yes")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_subnormal_moments_are_flushed_to_zero_and_move_no_weight(dtype):
    tiny = np.finfo(dtype).tiny
    results = []
    for fused in (True, False):
        w = cr.tensor(np.array([0.5, -2.0, 1.0], dtype), requires_grad=True)
        opt = optim.Adam([w], lr=1e-3, fused=fused)
        state = opt.state_dict()
        # a dead unit's first moment after ~800 zero gradients, and a live one's
        state["params"][0]["state"]["v"] = np.array([1.05 * tiny, -1.05 * tiny, 1e-3], dtype)
        state["params"][0]["state"]["s"] = np.array([1e-4, 1e-4, 1e-4], dtype)
        state["params"][0]["t"] = 800
        opt.load_state_dict(state)
        w.grad = np.zeros(3, dtype)
        opt.step()
        results.append((w.data.copy(), opt.state_dict()["params"][0]["state"]["v"]))
    (w_fused, v_fused), (w_numpy, v_numpy) = results
    np.testing.assert_array_equal(w_fused, w_numpy)  # a moment that small moves no weight
    np.testing.assert_array_equal(v_fused[:2], 0.0)  # 1.05 tiny * 0.9 < tiny: flushed
    assert 0 < abs(v_numpy[0]) < tiny  # the NumPy rule keeps the subnormal
    assert v_fused[2] == v_numpy[2] != 0


ALIASES = {  # (w.grad, u.grad) from (w.data, u.data); w is written first
    "other-parameter": lambda w, u: (np.full(8, 0.5, np.float32), w),
    "view-of-it": lambda w, u: (np.full(8, 0.5, np.float32), w.reshape(2, 4).reshape(8)),
    "reversed-view": lambda w, u: (np.full(8, 0.5, np.float32), w[::-1]),
    "own-data-reversed": lambda w, u: (w[::-1], np.full(8, 0.5, np.float32)),
    "own-data": lambda w, u: (w, u),
    # views whose .base is not an ndarray: as_strided's holder, a memoryview
    "as-strided": lambda w, u: (np.full(8, 0.5, np.float32), as_strided(w, w.shape, w.strides)),
    "sliding-window": lambda w, u: (
        np.full(8, 0.5, np.float32),
        sliding_window_view(w, 1)[:, 0],
    ),
    "through-memoryview": lambda w, u: (np.full(8, 0.5, np.float32), np.asarray(memoryview(w))),
}


@pytest.mark.parametrize("alias", list(ALIASES))
def test_a_gradient_sharing_memory_with_a_parameter_is_read_before_any_write(alias):
    # every gradient is read before any parameter is written, fused or not: a gradient
    # that is a parameter's data (or a view of it) must not see this step's update
    results = []
    for fused in (True, False):
        w = cr.tensor(np.linspace(-1, 1, 8, dtype=np.float32), requires_grad=True)
        u = cr.tensor(np.linspace(2, 3, 8, dtype=np.float32), requires_grad=True)
        opt = optim.Adam([("w", w), ("u", u)], lr=0.1, fused=fused)
        for _ in range(3):
            w.grad, u.grad = ALIASES[alias](w.data, u.data)
            assert opt.step()
        results.append(([w.data.copy(), u.data.copy()], opt))
    _assert_same(*results)


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_a_weight_that_is_already_inf_is_written_like_the_numpy_rule(decay):
    # Adam's loop writes p - step, not p - (p * 0 + step), which is NaN for an inf p
    results = []
    for fused in (True, False):
        w = cr.tensor(np.array([np.inf, -np.inf, 1.0], np.float32), requires_grad=True)
        opt = optim.AdamW([w], lr=0.1, weight_decay=decay, fused=fused)
        w.grad = np.ones(3, np.float32)
        opt.step()  # AdamW: inf - (inf * decay + step) is NaN, without a warning
        results.append(w.data.copy())
    np.testing.assert_array_equal(*results)
    assert np.isinf(results[0][:2]).all() == (decay == 0.0)
