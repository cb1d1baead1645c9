"""A parameter whose ``.data`` is an ndarray subclass (``np.matrix``, a masked array).

The compiled Adam pass indexed ``p.data.reshape(-1)`` as a 1-D array of ``p.size``
entries: a matrix stays 2-D, ``(1, n)``, so the pass wrote past its row (wrong values,
then a corrupted heap), and numba refused a masked array after earlier groups had been
written (or, once compiled, updated the masked entries). Such data now takes the copy
path, which the NumPy rule (``fused=False``) takes too: the results are the same.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import Adam, AdamW

pytest.importorskip("numba")
# np.matrix warns when one is made; users still hand one over (np.asmatrix, .todense())
pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")

#: Every optimizer with a compiled pass (see test_every_compiled_optimizer_is_covered)
FUSED_MAKERS = {
    "adam": lambda params, fused: Adam(params, lr=0.1, fused=fused),
    "adamw": lambda params, fused: AdamW(params, lr=0.1, weight_decay=0.1, fused=fused),
}
DEFAULT = object()  # build with the constructor's default fused


def _matrix(values):
    return np.asmatrix(values)


def _masked(values):
    mask = np.zeros(values.shape, bool)
    mask[0, 0] = mask[-1, -1] = True
    return np.ma.masked_array(values, mask=mask)


def _masked_nothing(values):
    return np.ma.masked_array(values, mask=False)


SUBCLASSES = {"matrix": _matrix, "masked": _masked, "masked-nothing": _masked_nothing}


def _run(make, fused, subclass, steps=5):
    """Three parameters (two float32, one float64), 'w' with subclass data; the data, its
    type and mask, and the state after each of ``steps`` steps."""
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.normal(size=5), requires_grad=True)
    w = cr.tensor(rng.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    b = cr.tensor(rng.normal(size=4).astype(np.float32), requires_grad=True)
    params = [("a", a), ("w", w), ("b", b)]
    opt = make(params, None) if fused is DEFAULT else make(params, fused)
    w.data = subclass(rng.normal(size=(2, 3)).astype(np.float32))
    history = []
    for _ in range(steps):
        for _, p in params:
            p.grad = rng.normal(size=p.shape).astype(p.dtype)
        assert opt.step()
        history.append(
            (
                type(w.data),
                np.ma.getmaskarray(w.data).copy(),
                [np.asarray(np.ma.getdata(p.data)).copy() for _, p in params],
                opt.state_dict(),
            )
        )
    return opt, history


def _assert_same(got, expected):
    for (kind, mask, data, state), (kind0, mask0, data0, state0) in zip(got, expected, strict=True):
        assert kind is kind0
        np.testing.assert_array_equal(mask, mask0)
        for x, y in zip(data, data0, strict=True):
            np.testing.assert_array_equal(x, y)
        assert state["step_count"] == state0["step_count"]
        for e, e0 in zip(state["params"], state0["params"], strict=True):
            assert e["t"] == e0["t"]
            for name in e0["state"]:
                np.testing.assert_array_equal(e["state"][name], e0["state"][name])


@pytest.mark.parametrize("name", list(FUSED_MAKERS))
@pytest.mark.parametrize("subclass", list(SUBCLASSES))
@pytest.mark.parametrize("fused", [DEFAULT, True], ids=["default", "fused-true"])
def test_subclass_data_gives_the_numpy_rule(name, subclass, fused):
    make = FUSED_MAKERS[name]
    opt, got = _run(make, fused, SUBCLASSES[subclass])
    assert opt.fused is True
    _, expected = _run(make, False, SUBCLASSES[subclass])
    _assert_same(got, expected)


def test_masked_entries_keep_their_values():
    """The NumPy rule's write (``d -= step`` on a masked array) leaves masked entries."""
    w = cr.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    opt = Adam([w], lr=0.1)
    assert opt.fused is True
    w.data = _masked(np.zeros((2, 3), np.float32))
    for _ in range(3):
        w.grad = np.ones((2, 3), np.float32)
        opt.step()
    data = np.ma.getdata(w.data)
    assert data[0, 0] == 0 and data[-1, -1] == 0
    assert (np.ravel(data)[1:-1] < -0.25).all()


@pytest.mark.parametrize("name", list(FUSED_MAKERS))
@pytest.mark.parametrize("subclass", list(SUBCLASSES))
def test_back_to_plain_data_resumes_the_compiled_pass(name, subclass):
    """Plain, then subclass, then plain data again: the same as the NumPy rule throughout."""

    def run(fused):
        rng = np.random.default_rng(1)
        w = cr.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
        opt = FUSED_MAKERS[name]([w], fused)
        out = []
        for make in (np.asarray, SUBCLASSES[subclass], np.asarray):
            w.data = make(np.array(np.ma.getdata(w.data)))
            for _ in range(3):
                w.grad = rng.normal(size=w.shape).astype(np.float32)
                opt.step()
                out.append(np.array(np.ma.getdata(w.data)))
        return out, opt.state_dict()

    got, state = run(None)
    expected, state0 = run(False)
    for x, y in zip(got, expected, strict=True):
        np.testing.assert_array_equal(x, y)
    for e, e0 in zip(state["params"], state0["params"], strict=True):
        for key in e0["state"]:
            np.testing.assert_array_equal(e["state"][key], e0["state"][key])


def test_every_compiled_optimizer_is_covered():
    compiled = {
        cls.__name__
        for cls in vars(optim).values()
        if isinstance(cls, type)
        and issubclass(cls, optim.Optimizer)
        and cls.fused_step is not optim.Optimizer.fused_step
    }
    assert compiled == {"Adam", "AdamW"}
