"""Activation layers: parameter-free wrappers around the engine's activation primitives.

Each forward is a single primitive (one graph node). :data:`ACTIVATIONS` maps the names
used by :class:`~chainrule.nn.MLP` and configs to the classes.
"""

from __future__ import annotations

import numbers

from chainrule import _checks
from chainrule.autodiff.ops import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from chainrule.nn.module import Module

__all__ = [
    "ACTIVATIONS",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]


class _Activation(Module):
    """Base of the activation layers: they own no parameters, buffers or generators."""

    @classmethod
    def values_needed(cls, config: dict) -> int:
        """0, whatever the config (see :meth:`Module.values_needed`)."""
        return 0

    def get_config(self) -> dict:
        return {"type": type(self).__name__}


class Sigmoid(_Activation):
    """sigma(z) = 1 / (1 + exp(-z)), computed stably; sigma' = sigma (1 - sigma)."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(_Activation):
    """tanh(z); tanh' = 1 - tanh^2."""

    def forward(self, x):
        return tanh(x)


class ReLU(_Activation):
    """max(0, z); the subgradient at 0 is 0."""

    def forward(self, x):
        return relu(x)


class Identity(_Activation):
    """z, unchanged (no graph node): the linear output of a network that emits logits."""

    def forward(self, x):
        return x


class LeakyReLU(_Activation):
    """max(0, z) + alpha min(0, z) (seed 002's "leaky ReLU"); slope 1 for z > 0, else alpha."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = _checks.real("LeakyReLU", "alpha", alpha, low=0.0, high=1.0, high_open=True)

    def forward(self, x):
        return leaky_relu(x, self.alpha)

    def get_config(self) -> dict:
        return {"type": "LeakyReLU", "alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}"


class Softmax(_Activation):
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j) along ``axis`` (max-shifted, stable).

    For training, prefer logits with :func:`chainrule.losses.cross_entropy`."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(
                f"{type(self).__name__}: axis expected an integer, got {type(axis).__name__} "
                f"{axis!r}"
            )
        self.axis = int(axis)

    def forward(self, x):
        return softmax(x, self.axis)

    def get_config(self) -> dict:
        return {"type": type(self).__name__, "axis": self.axis}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log softmax(z) = z - logsumexp(z) along ``axis``: the input of :func:`losses.nll`."""

    def forward(self, x):
        return log_softmax(x, self.axis)


ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "identity": Identity,
    "linear": Identity,
}


def get_activation(name: str, *, owner: str = "get_activation") -> Module:
    """A new activation layer by name; ``ValueError`` if unknown, starting with ``owner``
    (the function or class given the name), listing the valid names and the closest."""
    try:
        cls = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"{owner}: unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
            + _checks.did_you_mean(name, ACTIVATIONS)
        ) from None
    return cls()
