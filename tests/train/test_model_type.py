"""A model that is not a chainrule.nn.Module is refused by Trainer, fit and evaluate
before any work, with the TypeError chainrule.save gives; predict takes a wrapper with
train() and eval() too, and refuses the rest."""

import re

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import Trainer, evaluate, fit, predict

_X = np.ones((4, 3), np.float32)
_Y = np.array([0, 1, 0, 1])


class _Wrapper:
    """A callable with a module's mode methods, but no Module: no named_modules, its own
    train() sets the modes inside it."""

    def __init__(self):
        self.net = nn.MLP([3, 4, 2], dropout=0.5, seed=0)
        self.training = True

    def train(self, mode=True):
        self.training = mode
        self.net.train(mode)

    def eval(self):
        self.train(False)

    def __call__(self, x):
        return self.net(x)

    def __repr__(self):
        return "Wrapper()"


_NOT_MODULES = [
    (None, "NoneType None"),
    (nn.Linear, "type <class 'chainrule.nn.linear.Linear'>"),
    ("model.safetensors", "str 'model.safetensors'"),  # a file, not loaded
]
_WRAPPED = " (or a callable wrapping one with train(), eval())"


def _message(owner: str, got: str, expected: str = "") -> str:
    said = f"{owner}: model expected a chainrule.nn.Module{expected}, got {got}"
    return "^" + re.escape(said) + "$"


@pytest.mark.parametrize(("model", "got"), [*_NOT_MODULES, (_Wrapper(), "_Wrapper Wrapper()")])
def test_trainer_and_fit_refuse_a_model_that_is_no_module(model, got):
    # Trainer(None, ...) was built, and fit then raised AttributeError from inside the loop
    opt = optim.SGD(nn.MLP([3, 2], seed=0).parameters())
    with pytest.raises(TypeError, match=_message("Trainer", got)):
        Trainer(model, "cross_entropy", opt)
    with pytest.raises(TypeError, match=_message("Trainer", got)):
        fit(model, "cross_entropy", opt, _X, _Y, progress=False)
    with pytest.raises(TypeError, match=_message("Trainer", got)):  # before the other checks
        fit(model, "cross_entropy", opt, _X, _Y, epochs=-1, progress=False)


@pytest.mark.parametrize(("model", "got"), _NOT_MODULES)
def test_predict_and_evaluate_refuse_a_model_that_is_no_module(model, got):
    with pytest.raises(TypeError, match=_message("predict", got, _WRAPPED)):
        predict(model, _X)
    with pytest.raises(TypeError, match=_message("predict", got, _WRAPPED)):  # before X
        predict(model, "not an array", batch_size=0)
    with pytest.raises(TypeError, match=_message("Trainer", got)):
        evaluate(model, "cross_entropy", _X, _Y)


def test_predict_refuses_a_callable_without_the_mode_methods():
    def plain(x):
        return x

    with pytest.raises(TypeError, match=_message("predict", f"function {plain!r:.80}", _WRAPPED)):
        predict(plain, _X)


def test_a_long_repr_is_cut_in_the_message():
    class Long:
        def __repr__(self):
            return "x" * 500

    with pytest.raises(TypeError) as info:
        predict(Long(), _X)
    assert str(info.value) == (
        f"predict: model expected a chainrule.nn.Module{_WRAPPED}, got Long {'x' * 80}"
    )


def test_predict_gives_a_model_that_is_no_module_its_mode_back_through_train():
    wrapper = _Wrapper()
    assert predict(wrapper, _X).shape == (4, 2)
    assert wrapper.training and all(m.training for _, m in wrapper.net.named_modules())
