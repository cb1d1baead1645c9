"""``BatchNorm1d``: batch normalization with learned gamma/beta and running statistics."""

from __future__ import annotations

import numpy as np

from chainrule import _checks
from chainrule.autodiff.tensor import Tensor, float_dtype, lift
from chainrule.functional import batch_norm
from chainrule.nn.module import Module, config_size

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Module):
    """Normalize each of ``num_features`` features of an (m, n) batch, then scale and shift.

    Training mode uses the batch mean (summed in float64) and the biased batch variance
    (two-pass, stable for data far from zero) and updates the running estimates as
    exponentially weighted averages, the notes' ``v = beta v + (1 - beta) theta`` with
    ``beta = momentum``::

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * unbiased batch variance

    (so ``momentum=0.9`` here is PyTorch's ``momentum=0.1``). Evaluation mode normalizes
    with the running estimates. See :func:`chainrule.functional.batch_norm` for the math
    and the gradient. A training batch of one example raises ``ValueError``.

    Parameters ``gamma`` (ones) and ``beta`` (zeros); buffers ``running_mean`` (zeros) and
    ``running_var`` (ones), saved in the state dict but never trained, all of ``dtype``:
    ``"float32"`` (default) or ``"float64"`` (anything else raises, naming ``BatchNorm1d``).
    ``load_state_dict`` refuses a negative ``running_var`` and NaN or inf in any of them
    (see :meth:`state_problems`).
    """

    TRAINING_SETTINGS = ("momentum",)  # evaluation does not read it

    def __init__(
        self, num_features: int, momentum: float = 0.9, eps: float = 1e-5, dtype="float32"
    ) -> None:
        super().__init__()
        self.num_features = _checks.integer("BatchNorm1d", "num_features", num_features, low=1)
        self.momentum = _checks.real(
            "BatchNorm1d", "momentum", momentum, low=0.0, high=1.0, high_open=True
        )
        self.dtype = float_dtype("BatchNorm1d", dtype)
        self.eps = _checks.eps("BatchNorm1d", eps, self.dtype, "a constant feature")
        n, dt = num_features, self.dtype
        self.register_parameter("gamma", Tensor(np.ones(n, dt), requires_grad=True))
        self.register_parameter("beta", Tensor(np.zeros(n, dt), requires_grad=True))
        self.register_buffer("running_mean", np.zeros(n, dt))
        self.register_buffer("running_var", np.ones(n, dt))

    @classmethod
    def values_needed(cls, config: dict) -> int | None:
        """``4 * num_features`` (gamma, beta, running mean and variance); None without a
        size (see :meth:`Module.values_needed`)."""
        n = config_size(config.get("num_features"))
        return None if n is None else 4 * n

    def state_problems(self, state: dict[str, np.ndarray]) -> dict[str, str]:
        """NaN or inf in any entry (see :meth:`Module.state_problems`), and a negative
        ``running_var``: training keeps variances >= 0, and evaluation takes the square
        root of ``running_var + eps``."""
        problems = super().state_problems(state)
        var = state["running_var"]
        negative = int((var < 0).sum())
        if negative and "running_var" not in problems:
            problems["running_var"] = (
                f"expected variances >= 0, got {negative} negative among {var.size} values, "
                f"the lowest {float(var.min()):g}"
            )
        return problems

    def forward(self, x):
        x = lift(x, self.gamma)  # arrays and nested lists too (of the layer's dtype)
        shape = x.shape
        if len(shape) != 2 or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expected input of shape "
                f"(m, {self.num_features}), got {shape}"
            )
        return batch_norm(
            x,
            self.gamma,
            self.beta,
            self.running_mean,
            self.running_var,
            self.training,
            self.momentum,
            self.eps,
        )

    def get_config(self) -> dict:
        return {
            "type": "BatchNorm1d",
            "num_features": self.num_features,
            "momentum": self.momentum,
            "eps": self.eps,
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum:g}, eps={self.eps:g}"
