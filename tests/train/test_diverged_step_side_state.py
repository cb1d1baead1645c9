"""A step whose cost, or whose outputs of a classification run, became NaN or Inf ends the
run with NonFiniteLossError, "nothing updated": its forward had already updated batch
norm's running statistics with the failed batch (to inf or NaN where the batch's variance
overflowed: the model could not be saved, and a second fit was refused for X) and drawn
from the layers' generators."""

import os
import signal
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, tensor
from chainrule.nn.module import Module
from chainrule.train import LambdaCallback, NonFiniteLossError, NonFiniteStepError, Trainer, fit


def _side(model) -> dict:
    """Copies of the model's buffers and of its generators' states."""
    side = {name: b.copy() for name, b in model.named_buffers()}
    side.update({name: g.bit_generator.state for name, g in model.named_generators()})
    return side


def _assert_same(side: dict, model) -> None:
    now = _side(model)
    assert now.keys() == side.keys()
    for name, value in side.items():
        if isinstance(value, dict):
            assert now[name] == value, name
        else:
            np.testing.assert_array_equal(now[name], value, err_msg=name)


def _diverging(model, X, y, loss="cross_entropy", trace=True, **options):
    """The side state as the last step that finished left it, and the error of the fit."""
    last = {"side": _side(model)}
    keep = LambdaCallback(on_batch_end=lambda t, b, v: last.update(side=_side(t.model)))
    trainer = Trainer(model, loss, optim.SGD(model.named_parameters(), lr=0.1), epochs=1,
                      batch_size=16, shuffle=False, progress=False, trace=trace,
                      callbacks=[keep], **options)  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(NonFiniteLossError) as info:
        warnings.simplefilter("ignore")  # the overflow
        trainer.fit(X, y)
    return trainer, last["side"], str(info.value)


@pytest.mark.parametrize("trace", [True, False])
def test_a_diverged_step_leaves_batch_norm_and_dropout_as_the_last_step_did(trace):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    y[32:] = 3e38  # targets on a huge scale: the third batch's squared errors overflow
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.8, rng=2), nn.Linear(8, 1, rng=1))  # fmt: skip
    _, side, message = _diverging(model, X, y, loss="mse", trace=trace)
    assert message.startswith("the training cost became inf at epoch 1, step 3;")
    _assert_same(side, model)
    # the model trains on, from the state the last step left
    history = fit(model, "mse", optim.SGD(model.named_parameters(), lr=0.1), X[:32], y[:32],
                  epochs=2, batch_size=16, progress=False, trace=trace)  # fmt: skip
    assert len(history.epochs) == 2 and np.isfinite(model[1].running_var).all()


class _Masking(Module):
    """Counts its training calls in a buffer, draws from its generator at each, and from
    the third call on puts -inf into the first of the two logits: a finite cost for
    targets of class 1, outputs whose classes cannot be read."""

    def __init__(self):
        super().__init__()
        self.register_module("a", nn.Linear(4, 2, rng=1))
        self.register_buffer("calls", np.zeros(1))
        self.register_generator("rng", np.random.default_rng(5))

    def forward(self, x):
        out = self.a(x)
        if not self.training:
            return out
        self.calls += 1
        self.rng.random()
        if self.calls[0] < 3:
            return out
        return out + tensor(np.array([-np.inf, 0.0], dtype=np.float32))


def test_a_step_whose_outputs_diverged_leaves_the_layers_buffers_and_generators():
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    model = _Masking()
    _, side, message = _diverging(model, X, np.ones(64, dtype=np.int64))
    assert message.startswith("the model's outputs for the training batch held NaN or Inf at")
    assert model.calls[0] == 2
    _assert_same(side, model)


class _Counting(Module):
    """Counts its training calls in a buffer and draws from its generator at each: the
    traced step's recording runs it, and then goes eager."""

    def __init__(self):
        super().__init__()
        self.register_module("a", nn.Linear(4, 3, rng=1))
        self.register_buffer("calls", np.zeros(1))
        self.register_generator("rng", np.random.default_rng(5))

    def forward(self, x):
        if self.training:
            self.calls += 1
            self.rng.random()
        return self.a(x)


def test_a_traced_step_that_diverged_leaves_the_layers_buffers_and_generators():
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    X[:16] = 3e38  # the first step, which the trace records, has an infinite cost
    model = _Counting()
    before = _side(model)
    trainer, _, message = _diverging(model, X, np.arange(64) % 3)
    assert message.startswith("the training cost became ")
    assert trainer._traced is None  # the recording ran the layer, whose update ended it
    assert model.calls[0] == 0
    _assert_same(before, model)


@pytest.mark.parametrize("trace", [True, False])
def test_a_batch_batch_norm_refuses_ends_the_run_naming_the_step_with_the_draws_put_back(trace):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    X[32:, 2] *= 1e20  # the third batch's variance of feature 2 is beyond float32
    model = nn.Sequential(nn.Dropout(0.8, rng=2), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=1))
    _, side, message = _diverging(model, X, np.arange(64) % 2, trace=trace)
    assert message.startswith("at epoch 1, step 3: batch_norm: expected the variance")
    assert "feature 2:" in message and message.endswith("(no checkpoint was written after it)")
    _assert_same(side, model)  # the dropout before it had drawn: put back


class _InfiniteGradient(Module):
    """Batch norm, then from its third training call on sqrt(0) (finite, with an
    infinite gradient), which the optimizer refuses."""

    def __init__(self):
        super().__init__()
        self.register_module("bn", nn.BatchNorm1d(4))
        self.register_module("a", nn.Linear(4, 2, rng=1))
        self.register_buffer("calls", np.zeros(1))

    def forward(self, x):
        out = self.a(self.bn(x))
        if self.training:
            self.calls += 1
            if self.calls[0] >= 3:
                return out + (out * 0.0).sqrt()
        return out


def test_a_step_whose_gradient_the_optimizer_refuses_leaves_the_layers_buffers():
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    model = _InfiniteGradient()
    last = {"side": _side(model)}
    keep = LambdaCallback(on_batch_end=lambda t, b, v: last.update(side=_side(t.model)))
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                      epochs=1, batch_size=16, shuffle=False, progress=False,
                      callbacks=[keep])  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(NonFiniteStepError, match="at epoch 1, step 3"):
        warnings.simplefilter("ignore")  # sqrt's infinite derivative at 0
        trainer.fit(X, np.arange(64) % 2)
    assert model.calls[0] == 2
    _assert_same(last["side"], model)


class _UserStop(FloatingPointError):
    """A user's own error, of the FloatingPointError family."""


class _RaisingAfterBatchNorm(Module):
    """Batch norm, then, at its third training call, ``error``: raised after batch norm
    had updated its running statistics."""

    def __init__(self, error):
        super().__init__()
        self.register_module("bn", nn.BatchNorm1d(4))
        self.register_module("a", nn.Linear(4, 2, rng=1))
        self.register_buffer("calls", np.zeros(1))
        self.error = error

    def forward(self, x):
        out = self.a(self.bn(x))
        if self.training:
            self.calls += 1
            if self.calls[0] >= 3:
                raise self.error
        return out


@pytest.mark.parametrize("error", [_UserStop("mine"), ValueError("a user's layer refused")])
def test_a_step_that_raises_any_error_leaves_the_layers_and_the_error_as_it_is(error):
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    model = _RaisingAfterBatchNorm(error)
    last = {"side": _side(model)}
    keep = LambdaCallback(on_batch_end=lambda t, b, v: last.update(side=_side(t.model)))
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                      epochs=1, batch_size=16, shuffle=False, progress=False,
                      callbacks=[keep])  # fmt: skip
    with pytest.raises(type(error)) as info:
        trainer.fit(X, np.arange(64) % 2)
    assert info.value is error  # not turned into NonFiniteLossError: it is not the library's
    assert model.calls[0] == 2
    _assert_same(last["side"], model)


def test_a_refused_gradient_of_a_tensor_the_optimizer_holds_beside_the_model():
    # the model's gradients were finite, so the step went to the optimizer unchecked and
    # its refusal came out bare, with the layers' moves of the step kept
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    model = nn.Sequential(nn.Dropout(0.8, rng=2), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=1))
    temperature = tensor(np.ones(1, np.float32), requires_grad=True)
    broken = []

    def loss(out, y):  # after two steps, sqrt(0): a NaN gradient for the temperature
        extra = temperature * 0.0
        return cr.losses.cross_entropy(out, y) + (extra.sqrt() if broken else extra).sum()

    last = {"side": _side(model)}

    def remember(trainer, batch, value):
        last.update(side=_side(trainer.model))
        if batch == 1:
            broken.append(True)

    keep = LambdaCallback(on_batch_end=remember)
    opt = optim.SGD([*model.parameters(), temperature], lr=0.1)
    trainer = Trainer(model, loss, opt, epochs=1, batch_size=16, shuffle=False, progress=False,
                      callbacks=[keep])  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(NonFiniteStepError) as info:
        warnings.simplefilter("ignore")  # sqrt's infinite derivative at 0
        trainer.fit(X, np.arange(64) % 2)
    assert str(info.value).startswith("at epoch 1, step 3: SGD.step(): non-finite gradient")
    assert isinstance(info.value.__cause__, cr.autodiff.NonFiniteValueError)
    _assert_same(last["side"], model)


def test_a_callers_errstate_raise_does_not_stop_a_healthy_fit_at_its_gradient_norms():
    # the README's way to hunt NaNs: numpy_rules() under errstate(all="raise"); the squares
    # of these tiny gradients underflow in the norm the history logs, which raised
    X, y = cr.data.make_moons(64, seed=0)
    model = nn.MLP([2, 8, 2], "sigmoid", seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with cr.numpy_rules(), np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.train.GradientWarning)  # they are tiny
        history = fit(model, "cross_entropy", opt, (X * 1e-20).astype(np.float32), y,
                      epochs=1, batch_size=16, progress=False)  # fmt: skip
    assert history.stopped_reason == "completed"
    assert 0 < history.grad_norms["layers.0.weight"][0] < 1e-18


def test_a_last_update_that_leaves_a_parameter_inf_from_finite_gradients_ends_the_run():
    # each step's cost finds such a parameter at the next step; the run's last step went
    # unseen, and fit returned a model of inf weights
    rng = np.random.default_rng(0)
    X = (1000 * rng.standard_normal((8, 4))).astype(np.float32)
    model = nn.MLP([4, 5, 3], seed=0)
    opt = optim.SGD(model.named_parameters(), lr=1e37)
    with warnings.catch_warnings(), pytest.raises(NonFiniteStepError) as info:
        warnings.simplefilter("ignore")  # the overflow
        fit(model, "cross_entropy", opt, X, np.arange(8) % 3, epochs=1, batch_size=8,
            progress=False)  # fmt: skip
    assert str(info.value).startswith(
        "the update at epoch 1, step 1 left parameter 'layers.0.weight' NaN or Inf from finite "
        "gradients"
    )


def test_a_ctrl_c_after_an_update_that_left_a_parameter_inf_names_that_step(tmp_path):
    # the interrupted run's checkpoint refused the inf weights with a bare error
    rng = np.random.default_rng(0)
    X = (1000 * rng.standard_normal((32, 4))).astype(np.float32)
    model = nn.MLP([4, 5, 3], seed=0)

    def interrupt(trainer, batch, value):
        if batch == 0:
            os.kill(os.getpid(), signal.SIGINT)

    with warnings.catch_warnings(), pytest.raises(NonFiniteStepError) as info:
        warnings.simplefilter("ignore")  # the overflow
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=1e37), X,
            np.arange(32) % 3, epochs=1, batch_size=8, progress=False, checkpoint_dir=tmp_path,
            callbacks=[LambdaCallback(on_batch_end=interrupt)])  # fmt: skip
    assert str(info.value).startswith("the update at epoch 1, step 1 left parameter")
    assert list(tmp_path.glob("checkpoint-*")) == []


def test_a_fresh_run_from_a_parameter_holding_inf_is_refused_before_any_work():
    # it trained, and at the epoch's end its -inf was blamed on an update
    model = nn.MLP([2, 4, 2], seed=0)
    model.layers[0].bias.data[0] = -np.inf  # before a ReLU: the cost stays finite
    X, y = cr.data.make_moons(16, seed=0)
    with pytest.raises(ValueError, match=r"^parameter 'layers.0.bias' expected finite values"):
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y,
            epochs=1, batch_size=8, progress=False)  # fmt: skip


def test_a_dev_set_refused_by_detect_anomaly_ends_the_run_naming_the_epoch():
    X, y = cr.data.make_moons(16, seed=0)
    huge = np.full((4, 2), 3e38, np.float32)  # finite, but the outputs overflow
    huge[:2] = 0.0  # ... past the samples fit checks before training
    model = nn.MLP([2, 4, 2], seed=0)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    with cr.detect_anomaly(), warnings.catch_warnings(), pytest.raises(NonFiniteLossError) as info:
        warnings.simplefilter("ignore")  # the overflow
        fit(model, "cross_entropy", opt, X, y, dev=(huge, np.zeros(4, np.int64)), epochs=1,
            batch_size=8, progress=False)  # fmt: skip
    assert str(info.value).startswith("at the end of epoch 1, for the dev set (X_dev): ")
    assert isinstance(info.value.__cause__, cr.autodiff.NonFiniteValueError)


def test_an_update_that_overflows_the_optimizers_state_of_a_tensor_beside_the_model():
    # its squares were not part of the check: the run completed with the tensor frozen by
    # an infinite average of squares (or its checkpoint refused it, naming no step)
    X, y = cr.data.make_moons(32, seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    s = tensor(np.zeros((), np.float32), requires_grad=True)

    def loss(out, target):  # a finite gradient for s whose square float32 cannot hold
        return cr.losses.cross_entropy(out, target) + tensor(np.float32(1e21)) * s

    opt = optim.Adam([*model.named_parameters(), ("s", s)], lr=0.01)
    with warnings.catch_warnings(), pytest.raises(NonFiniteStepError) as info:
        warnings.simplefilter("ignore")  # the overflow
        fit(model, loss, opt, X, y, epochs=1, batch_size=8, progress=False)
    assert str(info.value).startswith("the update at epoch 1, step 1 left Adam's state 's' of "
                                      "parameter 's' NaN or Inf")  # fmt: skip


def test_the_gradient_warning_follows_the_epochs_callbacks_and_names_the_callers_line():
    # it came between a progress bar's live line and its summary, and named a line of the
    # training loop
    X, y = cr.data.make_moons(200, seed=0)
    model = nn.MLP([2] + [16] * 6 + [2], "sigmoid", seed=0)
    counted = []
    count = LambdaCallback(on_epoch_end=lambda t, e, logs: counted.append(len(caught)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
            batch_size=50, progress=False, callbacks=[count])  # fmt: skip
    gradient = [w for w in caught if issubclass(w.category, cr.train.GradientWarning)]
    assert counted == [0] and len(gradient) == 1
    assert gradient[0].filename == __file__
