"""gradcheck passes only a gradient its estimates resolve: a gradient small next to the
rounding allowed (1e-9 beside outputs near 1) is INCONCLUSIVE, not PASSED whatever its
value; the check is the same inside no_grad; arrays it cannot check are refused by type."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import node


def tiny_square(k):
    """``1 + 1e-9 * sum(x**2)``, whose rule returns ``k`` times the right gradient."""

    def f(x):
        sq = node(x.data**2, (x,), lambda g: (g * 2 * x.data * k,), "square")
        return 1 + 1e-9 * sq.sum()

    return f


@pytest.mark.parametrize("mode", ["full", "direction"])
@pytest.mark.parametrize("k", [1.0, 1.5, 0.0, -1.0])
def test_a_gradient_within_the_rounding_of_its_output_is_inconclusive(mode, k):
    # a gradient of about 1e-9 next to an output near 1: each entry was allowed about 1e-8,
    # and a zero or sign-flipped rule PASSED with a "relative error" of 1.2e-8
    x = np.random.default_rng(0).standard_normal(4)
    result = cr.gradcheck(tiny_square(k), x, mode=mode)
    assert result.verdict == "INCONCLUSIVE", result
    report = result.inputs[0]
    assert report.within_rounding and report.unresolved == (3 if mode == "direction" else 4)
    assert "not small next to the gradient: at eps=1e-06 a wrong gradient" in str(result)
    larger = cr.gradcheck(tiny_square(k), x, eps=1e-3, mode=mode)
    assert larger.verdict == ("PASSED" if k == 1.0 else "FAILED"), larger


def test_a_vanished_first_layer_is_inconclusive_whatever_its_rule():
    # layer 0 of a 12-layer sigmoid network has gradients of about 1e-9 beside a cost near
    # 0.7: its gradient times 1.5, 0 or -1 PASSED at eps=1e-6, and FAILS at eps=1e-4
    xs, ys = cr.data.make_moons(n=64, seed=0)
    x = cr.tensor(xs.astype("float64"))
    net = cr.nn.MLP([2] + [32] * 12 + [2], activation="sigmoid", seed=0, dtype="float64")
    weight = next(iter(net.parameters()))

    def cost_times(k):
        def cost(w):
            z = net.layers[0](x)
            h = node(z.data.copy(), (z,), lambda g: (g * k,), "times")
            for layer in net.layers[1:]:
                h = layer(h)
            return cr.losses.cross_entropy(h, ys)

        return cost

    for k in (1.0, 1.5, 0.0, -1.0):
        result = cr.gradcheck(cost_times(k), weight)
        assert result.verdict == "INCONCLUSIVE", (k, result)
        larger = cr.gradcheck(cost_times(k), weight, eps=1e-4)
        assert larger.verdict == ("PASSED" if k == 1.0 else "FAILED"), (k, larger)


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_an_exactly_zero_gradient_beside_others_still_passes(mode):
    # a bias before batch norm alone is judged next to x's gradient, not its own 0
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    result = cr.gradcheck(
        lambda x, b: cr.functional.batch_norm(x + b, np.ones(3), np.zeros(3)), x, b, mode=mode
    )
    assert result.verdict == "PASSED", result
    assert not any(report.within_rounding for report in result.inputs)


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_the_check_inside_no_grad_is_the_one_outside(mode):
    # backprop's pass saw gradients disabled: FAILED, "backprop +0" against the estimate
    x = cr.tensor(np.random.default_rng(0).standard_normal(3), requires_grad=True)
    outside = cr.gradcheck(lambda x: (x * x).sum(), x, mode=mode)
    with cr.no_grad():
        inside = cr.gradcheck(lambda x: (x * x).sum(), x, mode=mode)
        assert not (x * x).requires_grad  # and no_grad is left as it was
    assert inside.verdict == outside.verdict == "PASSED", inside
    assert inside.inputs[0].rel_error == outside.inputs[0].rel_error


@pytest.mark.parametrize(
    ("dtype", "says"),
    [
        (np.float16, r"input 0 is float16; expected float64.*pass x.astype\('float64'\)"),
        (np.longdouble, r"input 0 is float\d+; expected float64.*x.astype\('float64'\)"),
        (np.float32, r"input 0 is float32; expected float64.*x.astype\('float64'\)"),
        (np.complex128, r"input 0 is complex128; expected a real float64 array .* complex"),
    ],
)
def test_arrays_of_a_dtype_the_check_cannot_take_are_refused_by_type(dtype, says):
    # float16, longdouble and complex arrays got the tensor's bare "ValueError: unknown dtype"
    if np.dtype(dtype) == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    calls = []

    def f(x):
        calls.append(1)
        return (x * x).sum()

    with pytest.raises(TypeError, match=says):
        cr.gradcheck(f, np.ones(3, dtype=dtype))
    assert calls == []
