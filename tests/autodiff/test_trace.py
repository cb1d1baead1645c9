"""trace_backward: a replayed step equals the eager step bit for bit, and refuses what it
could not replay."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import losses, nn, optim, regularization
from chainrule.autodiff import TraceError


def _data(steps=6, m=8, n_in=12, k=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, m, n_in)).astype(np.float32)
    y = rng.integers(0, k, (steps, m))
    return x, y


def _train(traced: bool, activation: str, loss_fn, rules=None):
    """Losses and final parameters of a few Adam steps, eager or traced."""
    model = nn.MLP([12, 7, 6, 4], activation=activation, seed=0)
    opt = optim.Adam(model.named_parameters(), lr=1e-2)

    def f(x, y):
        return loss_fn(model(x), y) + regularization.l2_penalty(model, 0.1, 48)

    step = cr.trace_backward(f)
    values = []
    for x, y in zip(*_data(), strict=True):
        with rules or cr.enable_grad():
            if traced:
                value = step(x, y)
            else:
                value = f(cr.tensor(x), y)
                value.backward()
        opt.step()
        opt.zero_grad()
        values.append(value.item())
    return values, [p.data.copy() for _, p in model.named_parameters()]


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("rules", [None, cr.numpy_rules], ids=["default", "numpy_rules"])
def test_replayed_steps_equal_eager_steps_bit_for_bit(activation, rules):
    eager = _train(False, activation, losses.cross_entropy, rules and rules())
    traced = _train(True, activation, losses.cross_entropy, rules and rules())
    assert eager[0] == traced[0]
    for a, b in zip(eager[1], traced[1], strict=True):
        np.testing.assert_array_equal(a, b)


def _assert_replays_like_eager(f, params, batches):
    """Each traced call of ``f`` (the first records, the rest replay) gives the eager value
    and gradients, bit for bit; returns the traced function."""
    step = cr.trace_backward(f)
    for inputs in batches:
        value = step(*inputs)
        traced = [p.grad for p in params]
        for p in params:
            p.grad = None
        out = f(*(cr.tensor(a) for a in inputs))
        out.backward()
        assert out.item() == value.item()
        for p, g in zip(params, traced, strict=True):
            np.testing.assert_array_equal(g, p.grad)
            p.grad = None
    return step


def test_many_primitives_replay_like_eager():
    rng = np.random.default_rng(3)
    w = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True, dtype="float64")
    b = cr.tensor(rng.standard_normal(3), requires_grad=True, dtype="float64")

    def f(x, mask):
        h = cr.matmul(x, w) + b
        h = cr.where(mask, cr.leaky_relu(h, 0.1), cr.tanh(h)) - cr.sqrt(cr.exp(-h) + 1.0)
        h = cr.concatenate([h, cr.stack([h.max(axis=1), h.mean(axis=1)], axis=1)], axis=1)
        h = (cr.maximum(h, 0.0) * 2.0 / 3.0 - cr.minimum(h, 0.5).abs() ** 2.0).clip(-3.0, 3.0)
        p = cr.softmax(h.reshape(2, 5).T.reshape(2, 5), axis=1)
        return -(cr.log_softmax(h, axis=0)[1:].sum() + p.log().mean()).astype("float64")

    batches = [(rng.standard_normal((2, 5)), rng.random((2, 3)) < 0.5) for _ in range(3)]
    _assert_replays_like_eager(f, (w, b), batches)


def test_gradients_accumulate_into_existing_grads_like_backward():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: (x * w).sum())
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(3):  # two recordings, then a replay
        step(x)
    assert next(iter(step._plans.values())).confirmed
    np.testing.assert_array_equal(w.grad, 3 * x)


def test_one_hot_targets_and_replays_see_new_inputs():
    model = nn.MLP([12, 5, 4], seed=0)
    step = cr.trace_backward(lambda x, q: losses.cross_entropy(model(x), q))
    xs, ys = _data()
    one_hot = np.eye(4, dtype=np.float32)[ys]
    values = [step(x, q).item() for x, q in zip(xs, one_hot, strict=True)]
    assert len(set(values)) == len(values)  # every replay saw its own batch


def test_a_new_input_shape_gets_its_own_plan():
    w = cr.tensor(np.ones((3, 2)), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: (x @ w).sum())
    step(np.ones((4, 3)))
    step(np.ones((4, 3)))
    value = step(np.ones((1, 3)))  # a smaller last batch: traced anew, not replayed wrong
    assert value.item() == 6.0
    assert len(step._plans) == 2
    np.testing.assert_array_equal(w.grad, np.full((3, 2), 9.0))


def test_a_parameter_that_changes_shape_or_flag_is_traced_again():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    v = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: (x * w * v).sum())
    step(np.ones(3))
    v.requires_grad = False  # frozen: must get no gradient from the replay
    v.grad = None
    step(np.ones(3))
    assert v.grad is None
    w.data = np.ones(1)  # the user replaced the values with another shape
    w.grad = None
    step(np.ones(3))
    np.testing.assert_array_equal(w.grad, [3.0])


def test_labels_out_of_range_raise_at_a_replay_before_any_gradient():
    model = nn.MLP([12, 5, 4], seed=0)
    step = cr.trace_backward(lambda x, y: losses.cross_entropy(model(x), y))
    xs, ys = _data()
    step(xs[0], ys[0])
    step(xs[1], ys[1])  # confirmed: the next call replays
    for _, p in model.named_parameters():
        p.grad = None
    bad = ys[1].copy()
    bad[3] = 4
    with pytest.raises(ValueError, match="class label 4 at position 3 is out of range"):
        step(xs[1], bad)
    assert all(p.grad is None for _, p in model.named_parameters())


def test_ops_that_would_not_replay_are_refused_before_any_gradient():
    model = nn.MLP([12, 5, 4], seed=0)
    rng = np.random.default_rng(0)
    xs, ys = _data()
    refused = {
        "dropout": lambda x, y: losses.cross_entropy(F.dropout(model(x), 0.5, rng), y),
        "an array made inside": lambda x, y: losses.cross_entropy(
            model(x) + cr.tensor(np.ones((8, 4), np.float32)), y
        ),
        "an array argument": lambda x, y: model(x)[np.arange(8), y.data].sum(),
        "backward inside": lambda x, y: losses.cross_entropy(model(x), y).backward(),
    }
    for fn in refused.values():
        with pytest.raises(TraceError, match="cannot replay this function"):
            cr.trace_backward(fn)(xs[0], ys[0])
        assert all(p.grad is None for _, p in model.named_parameters())
    assert rng.random() == np.random.default_rng(0).random()  # dropout drew no mask


@pytest.mark.parametrize(
    "reads",
    [
        lambda x, w: (x * w).sum() / float(x.data.sum()),  # a Python number from the input
        lambda x, w: (x * w).sum() if x.data[0] > 0 else (x * w * w).sum(),  # a branch
    ],
    ids=["number", "branch"],
)
def test_a_function_that_reads_its_inputs_values_is_refused_at_its_second_call(reads):
    w = cr.tensor(np.full(3, 2.0), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: reads(x, w))
    step(np.array([1.0, 2.0, 3.0]))
    before = w.grad.copy()
    with pytest.raises(TraceError, match="its second call applied other primitives"):
        step(np.array([-4.0, 5.0, 6.0]))
    np.testing.assert_array_equal(w.grad, before)  # refused before any gradient
    assert not step._plans


@pytest.mark.parametrize(
    ("first", "later"),
    [((0, 2), (1, 2)), ((0, 1), (1, 0))],
    ids=["another-tensor", "swapped-tensors"],
)
def test_a_second_call_reading_other_outside_tensors_is_refused_then_traced_anew(first, later):
    # a replay reads the tensors the recorded calls read: had the second call's w1 passed
    # for the first's w0, the third would have replayed w0 (loss 3.0 and a gradient on w0
    # where eager gives 15.0 on w1)
    ws = [cr.tensor(np.full(3, v), requires_grad=True, dtype="float64") for v in (1.0, 5.0, 0.5)]
    calls = []

    def f(x):
        a, b = (ws[i] for i in (later if calls else first))
        calls.append(x)
        return (x * a - b).sum()

    step = cr.trace_backward(f)
    x = np.arange(3.0)
    step(x)
    for w in ws:
        w.grad = None
    with pytest.raises(TraceError, match="its second call applied other primitives"):
        step(x)
    assert all(w.grad is None for w in ws) and not step._plans  # refused before any gradient
    a, b = later
    for _ in range(3):  # traced anew: two records, then a replay of what the later calls read
        assert step(x).item() == (x * ws[a].data - ws[b].data).sum()
        np.testing.assert_array_equal(ws[a].grad, x)
        np.testing.assert_array_equal(ws[b].grad, -np.ones(3))
        assert all(ws[i].grad is None for i in {0, 1, 2} - {a, b})
        for w in ws:
            w.grad = None
    assert next(iter(step._plans.values())).confirmed and len(calls) == 4  # the last replayed


@pytest.mark.parametrize("first_inside", [True, False], ids=["inside-first", "outside-first"])
def test_a_constant_that_moves_between_inside_and_outside_the_function_is_refused(first_inside):
    # the two constants hold the same value, so only where they were made tells them apart:
    # a plan confirmed across them would replay the first call's constant, frozen at 2.0 or
    # read afresh, whatever the later calls read
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    outside = cr.tensor(2.0, dtype="float64")  # made before tracing: a replay reads it anew
    calls = []

    def f(x):
        inside = first_inside if not calls else not first_inside
        calls.append(x)
        k = cr.tensor(2.0, dtype="float64") if inside else outside
        return (x * w * k).sum()

    step = cr.trace_backward(f)
    x = np.arange(3.0)
    step(x)
    w.grad = None
    with pytest.raises(TraceError, match="its second call applied other primitives"):
        step(x)
    assert w.grad is None and not step._plans
    outside.data = np.array(3.0)  # seen by the calls that read it, not by the others
    k = 2.0 if not first_inside else 3.0
    for _ in range(3):  # traced anew: two records, then a replay
        assert step(x).item() == 3.0 * k
        np.testing.assert_array_equal(w.grad, k * x)
        w.grad = None
    assert next(iter(step._plans.values())).confirmed and len(calls) == 4


@pytest.mark.parametrize(
    "reads",
    [
        lambda loss: loss * 10.0 if loss > 1.0 else loss,  # a branch on the tensor itself
        lambda loss: loss / loss.item(),
    ],
    ids=["bool", "item"],
)
def test_reading_a_tensors_value_in_python_refuses_the_trace(reads):
    # the first two calls took one branch and confirmed the plan, which a third call with
    # other values replayed: 3.0 where eager gave 30.0
    w = cr.tensor(np.full(3, 2.0), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: reads((x * w).sum()))
    with pytest.raises(TraceError, match=r"value read in Python \((bool|item)\)"):
        step(np.array([1.0, 2.0, 3.0]))
    assert w.grad is None and not step._plans


@pytest.mark.parametrize("flag", [True, None, "fast", object()])
def test_inputs_that_are_not_numbers_are_refused_by_position(flag):
    step = cr.trace_backward(lambda x, f: (x * x).sum())
    with pytest.raises(TypeError, match="input 1: expected an array, a tensor or numbers"):
        step(np.ones(3), flag)


def test_batch_norm_in_training_is_refused():
    net = nn.Sequential(nn.Linear(12, 4, rng=np.random.default_rng(0)), nn.BatchNorm1d(4))
    bn = net[1]
    before = bn.running_mean.copy(), bn.running_var.copy()
    with pytest.raises(TraceError, match="batch_norm updates its running statistics"):
        cr.trace_backward(lambda x: net(x).sum())(_data()[0][0])
    np.testing.assert_array_equal(bn.running_mean, before[0])  # refused before the update
    np.testing.assert_array_equal(bn.running_var, before[1])


def test_inputs_are_data_and_the_output_a_scalar_tensor():
    w = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TraceError, match="input 0 requires a gradient"):
        cr.trace_backward(lambda x: (x * w).sum())(cr.tensor(np.ones(3), requires_grad=True))
    with pytest.raises(TypeError, match="must return a Tensor or a tuple .* got float"):
        cr.trace_backward(lambda x: 1.0)(np.ones(3))
    with pytest.raises(TypeError, match="got Tensor, ndarray"):
        cr.trace_backward(lambda x: ((x * w).sum(), x.data))(np.ones(3))
    with cr.detect_anomaly(), pytest.raises(TypeError, match="got an empty tuple"):
        cr.trace_backward(lambda x: ())(np.ones(3))  # the eager path checks the same
    non_scalar = cr.trace_backward(lambda x: x * w)
    for _ in range(2):  # the failed first call left no plan behind to replay
        with pytest.raises(RuntimeError, match="needs a seed gradient"):
            non_scalar(np.ones(3))
    with pytest.raises(TypeError, match=r"^trace_backward: fn expected a callable, got int"):
        cr.trace_backward(3)


def test_under_no_grad_it_fails_like_backward_every_time():
    w = cr.tensor(np.ones(3), requires_grad=True)
    step = cr.trace_backward(lambda x: (x * w).sum())
    with cr.no_grad():
        for _ in range(2):
            with pytest.raises(RuntimeError, match="does not require a gradient"):
                step(np.ones(3))
    assert w.grad is None


def test_anomaly_mode_runs_eagerly_and_names_the_op():
    w = cr.tensor(np.ones(3), requires_grad=True)
    step = cr.trace_backward(lambda x: (x * w).log().sum())
    step(np.ones(3))
    with (
        cr.detect_anomaly(),
        np.errstate(invalid="ignore"),
        pytest.raises(FloatingPointError, match="op 'log'"),
    ):
        step(-np.ones(3))


def test_user_primitives_made_with_apply_replay():
    def cube_kernel(x):
        return x**3, lambda g: (3 * x**2 * g,)

    def cube(a):
        return cr.autodiff.apply("cube", cube_kernel, (a,))

    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: cube(x * w).sum())
    for x in (np.array([1.0, 1.0]), np.array([2.0, -1.0])):
        w.grad = None
        step(x)
        np.testing.assert_array_equal(w.grad, 3 * x**3 * w.data**2)


@pytest.mark.parametrize("loss", ["bce_with_logits", "binary_cross_entropy"])
def test_binary_losses_replay_like_eager(loss):
    rng = np.random.default_rng(4)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")
    b = cr.tensor(rng.standard_normal(1), requires_grad=True, dtype="float64")

    def f(x, y):
        z = cr.relu(x @ w) - b.broadcast_to((5, 3))
        pred = z if loss == "bce_with_logits" else cr.sigmoid(z)
        return getattr(F, loss)(pred, y)

    batches = [(rng.standard_normal((5, 4)), rng.random((5, 3))) for _ in range(3)]
    step = _assert_replays_like_eager(f, (w, b), batches)
    with pytest.raises(ValueError, match="targets must lie in \\[0, 1\\]; got 2.0"):
        step(batches[0][0], np.full((5, 3), 2.0))


def test_detach_is_replayed_and_still_cuts_the_graph():
    rng = np.random.default_rng(8)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")
    v = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")

    def f(x):  # a target computed by a second set of weights, held fixed
        z = x @ w
        return ((z - (x @ v).detach()) ** 2).sum() + (z * z.detach()).mean()

    batches = [(rng.standard_normal((5, 4)),) for _ in range(4)]
    step = _assert_replays_like_eager(f, (w, v), batches)
    assert next(iter(step._plans.values())).confirmed
    step(*batches[0])
    assert v.grad is None  # detached: no gradient reaches v on a replay either


@pytest.mark.parametrize("target", ["labels", "rows"])
def test_nll_replays_like_eager_and_checks_its_targets_at_every_replay(target):
    rng = np.random.default_rng(6)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")

    def f(x, y):
        return losses.nll(cr.log_softmax(x @ w, axis=1), y)

    def targets(labels):
        return labels if target == "labels" else np.eye(3)[labels]

    batches = [(rng.standard_normal((5, 4)), targets(rng.integers(0, 3, 5))) for _ in range(4)]
    step = _assert_replays_like_eager(f, (w,), batches)
    assert len(step._plans) == 1 and next(iter(step._plans.values())).confirmed
    bad = targets(np.array([0, 1, 2, 0, 1]))
    if target == "labels":
        bad[2], match = 3, "class label 3 at position 2 is out of range"
    else:
        bad[2], match = [-1.0, 2.0, 0.0], "must be finite and non-negative"
    with pytest.raises(ValueError, match=match):
        step(batches[0][0], bad)
    assert w.grad is None


def test_auxiliary_outputs_come_back_beside_the_loss():
    model = nn.MLP([12, 5, 4], seed=0)

    def f(x, y):
        out = model(x)
        return losses.cross_entropy(out, y), out

    step = cr.trace_backward(f)
    for x, y in zip(*_data(), strict=True):
        loss, out = step(x, y)
        with cr.no_grad():
            expected = model(cr.tensor(x))
        np.testing.assert_array_equal(out.data, expected.data)
        assert not out.requires_grad and loss.shape == ()


def test_integer_targets_of_a_float_loss_are_cast_inside_the_replay():
    model = nn.MLP([12, 5, 1], seed=0)
    step = cr.trace_backward(lambda x, y: losses.bce(cr.sigmoid(model(x)), y))
    xs, ys = _data(k=2)
    for x, y in zip(xs, ys, strict=True):
        value = step(x, y[:, None])
        with cr.no_grad():
            expected = losses.bce(cr.sigmoid(model(cr.tensor(x))), y[:, None])
        assert value.item() == expected.item()
    assert len(step._plans) == 1


ROWS = cr.tensor(np.arange(3))


@pytest.mark.parametrize(
    "gather",
    [
        lambda h, i: h[i],
        lambda h, i: h[ROWS, i[:3]],  # beside a tensor made before tracing
        lambda h, i: h[1:, None][i[:2], 0],  # a tensor beside a slice and None
    ],
    ids=["tensor", "rows-and-labels", "mixed"],
)
def test_a_tensor_index_is_read_anew_at_every_replay(gather):
    # the index used to be frozen into the plan as an array, which the trace refused with
    # "pass it as a tensor" although it was one
    rng = np.random.default_rng(2)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")

    def f(x, i):
        return (gather(x @ w, i) ** 2).sum()

    batches = [(rng.standard_normal((4, 4)), rng.integers(0, 3, 5)) for _ in range(4)]
    step = _assert_replays_like_eager(f, (w,), batches)
    assert next(iter(step._plans.values())).confirmed


def test_an_array_index_captured_from_outside_is_still_refused():
    w = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, dtype="float64")
    index = np.array([1, 0])  # the values a replay would reuse, whatever the caller changes
    step = cr.trace_backward(lambda x: (x[index] * w).sum())
    with pytest.raises(TraceError, match="_getitem_kernel was given an array outside its"):
        step(np.ones((2, 3)))
    assert w.grad is None and not step._plans


def test_a_boolean_tensor_index_is_refused_naming_it():
    # the result's shape depends on the mask's values, which a replay does not check
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    step = cr.trace_backward(lambda x: (x * w)[x > 0].sum())
    with pytest.raises(TraceError, match="indexing with a boolean tensor"):
        step(np.array([1.0, -1.0, 2.0]))
    assert w.grad is None


def test_a_comparison_is_replayed_not_frozen():
    # a one-element comparison was stored as a constant: the third call took the branch
    # of the first two (60.0 and gradient [20, 20] where eager gives 15.0 and [5, 5])
    w = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)

    def f(x):
        s = (x * w).sum()
        return cr.where(s > 10.0, s * 0.5, s * 2.0)

    batches = [(np.array(x, np.float32),) for x in ([1, 1], [1, 2], [10, 10], [1, 1])]
    step = _assert_replays_like_eager(f, (w,), batches)
    assert next(iter(step._plans.values())).confirmed


@pytest.mark.parametrize(
    "compare",
    [
        lambda h, x: h > 0,
        lambda h, x: h >= 0.25,
        lambda h, x: 0 < h,  # noqa: SIM300 - reflected: h.__gt__(0)
        lambda h, x: h < x[:, :1],  # two tensors of the trace
        lambda h, x: h <= np.float64(0.0),
    ],
    ids=["gt", "ge", "reflected", "tensors", "numpy-scalar"],
)
def test_where_on_a_comparison_replays_like_eager(compare):
    rng = np.random.default_rng(5)
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")

    def f(x):
        h = x @ w
        return (cr.where(compare(h, x), h, 0.1 * h) ** 2).sum()

    batches = [(rng.standard_normal((6, 4)),) for _ in range(4)]
    step = _assert_replays_like_eager(f, (w,), batches)
    assert next(iter(step._plans.values())).confirmed


def test_a_tensor_of_a_tensor_is_replayed_and_refuses_requires_grad():
    w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True, dtype="float64")

    def f(x):
        s = (x * w).sum()
        gate = cr.tensor(s > 3.0, dtype="float64")  # a copy of a comparison, converted
        return s * cr.Tensor(gate) + cr.tensor(s) * 0.5

    batches = [(np.array(x),) for x in ([1.0, 0.0], [2.0, 0.0], [0.5, 0.5], [3.0, 1.0])]
    _assert_replays_like_eager(f, (w,), batches)
    leaf = cr.trace_backward(lambda x: (cr.tensor(x * w, requires_grad=True) * w).sum())
    with pytest.raises(TraceError, match="a tensor made from a tensor with requires_grad"):
        leaf(np.ones(2))
    assert w.grad is None


@pytest.mark.parametrize(
    ("dtype", "bad", "error"),
    [
        ("float32", [1e39, 1.0], OverflowError),  # the replay gave inf
        ("int8", [300.0, 1.0], OverflowError),  # 44
        ("uint8", [300.0, 1.0], OverflowError),  # 44
        ("int8", [np.nan, 1.0], ValueError),  # 0, with a RuntimeWarning
    ],
)
@pytest.mark.parametrize(
    ("owner", "convert"),
    [
        ("Tensor", lambda x, dtype: cr.tensor(x, dtype=dtype)),
        ("astype", lambda x, dtype: x.astype(dtype)),  # it wrapped, eager too
    ],
)
def test_a_replayed_conversion_checks_its_values_as_eager_does(owner, convert, dtype, bad, error):
    w = cr.tensor(np.ones(2), requires_grad=True, dtype="float64")

    def f(x):
        return (w * convert(x, dtype).astype("float64")).sum()

    step = cr.trace_backward(f)
    for x in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]):
        step(np.array(x))
    assert next(iter(step._plans.values())).confirmed
    w.grad = None
    with pytest.raises(error, match=rf"^{owner}: expected .* for dtype {dtype}, got ") as eager:
        f(cr.tensor(np.array(bad)))
    with pytest.raises(error) as replayed:
        step(np.array(bad))
    assert str(replayed.value) == str(eager.value)
    assert w.grad is None


def test_a_plan_traced_in_evaluation_mode_is_not_replayed_in_training_mode():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 12)).astype(np.float32), np.arange(8) % 4
    model = nn.Sequential(nn.Linear(12, 16, rng=0), nn.Dropout(0.5, rng=1), nn.Linear(16, 4, rng=2))
    step = cr.trace_backward(lambda x, y: losses.cross_entropy(model(x), y))
    model.eval()
    evaluated = [step(x, y).item() for _ in range(3)]  # traced, confirmed, replayed
    assert evaluated[0] == evaluated[2]
    model.train()
    with pytest.raises(TraceError, match="dropout draws a new mask"):
        step(x, y)  # a new record, which dropout refuses; the eval plan replayed no dropout
    model.eval()
    assert step(x, y).item() == evaluated[0]


def test_one_switch_entered_inside_itself_restores_each_level():
    from chainrule.autodiff.mode import MODE

    quiet = cr.no_grad()
    with quiet:
        with quiet:
            assert not MODE.grad_enabled
        assert not MODE.grad_enabled
    assert MODE.grad_enabled  # the inner exit had overwritten the value saved by the outer


def test_another_threads_operations_are_not_recorded_into_a_trace():
    import threading

    started, done, seen = threading.Event(), threading.Event(), {}
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")

    def traced(x):  # thread A: holds the trace open while thread B works
        started.set()
        done.wait(10)
        return (x * w).sum()

    def other():  # thread B: its own backward and its own traced function
        started.wait(10)
        v = cr.tensor(np.ones(2), requires_grad=True, dtype="float64")
        (v * 2.0).sum().backward()
        seen["grad"] = v.grad.tolist()
        u = cr.tensor(np.ones(2), requires_grad=True, dtype="float64")
        seen["traced"] = cr.trace_backward(lambda x: (x * u).sum())(np.ones(2)).item()
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    assert cr.trace_backward(traced)(np.ones(3)).item() == 3.0
    thread.join()
    assert seen == {"grad": [2.0, 2.0], "traced": 2.0}


def test_two_threads_recording_at_once_each_get_the_eager_gradients():
    """One thread records at a time: a second thread that would record while one records
    runs eagerly, with the first's tape untouched (switching threads every 10 us)."""
    import sys
    import threading

    problems = []

    def worker(seed):
        model = nn.MLP([20, 16, 16, 4], activation="relu", seed=seed)
        x, y = _data(steps=1, m=8, n_in=20, seed=seed)
        params = [p for _, p in model.named_parameters()]

        def f(x, y):
            return losses.cross_entropy(model(x), y)

        f(cr.tensor(x[0]), y[0]).backward()
        expected = [p.grad.copy() for p in params]
        try:
            for _ in range(60):
                step = cr.trace_backward(f)  # fresh: its first two calls record
                for _ in range(3):
                    for p in params:
                        p.grad = None
                    step(x[0], y[0])
                    if not all(
                        np.array_equal(p.grad, e) for p, e in zip(params, expected, strict=True)
                    ):
                        problems.append("gradients differ from the eager ones")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            problems.append(f"{type(exc).__name__}: {exc}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert problems == []


def test_a_list_of_integer_labels_stays_integer_as_in_the_eager_call():
    model = nn.MLP([4, 3], seed=0)
    params = [p for _, p in model.named_parameters()]

    def f(x, y):
        return losses.cross_entropy(model(x), y)

    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    eager = f(cr.tensor(x), [0, 2, 1])
    eager.backward()
    expected = [p.grad.copy() for p in params]
    step = cr.trace_backward(f)
    for _ in range(3):  # two records, then a replay
        for p in params:
            p.grad = None
        assert step(x, [0, 2, 1]).item() == eager.item()
        for p, e in zip(params, expected, strict=True):
            np.testing.assert_array_equal(p.grad, e)
    assert step(x, (0, 2, 1)).item() == eager.item()  # a tuple alike
