"""``Linear``: the affine layer z = x W + b, on the engine's fused ``linear`` primitive."""

from __future__ import annotations

from chainrule import _checks
from chainrule.autodiff.ops import linear
from chainrule.autodiff.tensor import Tensor, float_dtype, lift
from chainrule.init import check_spec, initialize, zeros
from chainrule.nn.module import Module, config_size

__all__ = ["Linear"]


class Linear(Module):
    """Fully connected layer ``z = x @ W + b`` (row-major: x is (m, in_features)).

    The notes write ``z = W a + b`` with column vectors; with a batch in the rows this is
    its transpose, so ``weight`` has shape ``(in_features, out_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and the output.
    init : str or dict
        Weight initializer: a name from :data:`chainrule.init.INITIALIZERS` or a dict such
        as ``{"name": "normal", "std": 0.1}``. Default Xavier/Glorot uniform.
    bias : bool
        Add a bias (initialized to zero).
    rng : numpy.random.Generator, int or None
        Source of the initial weights (an int is a seed; None draws fresh entropy).
    dtype : str
        ``"float32"`` (default) or ``"float64"`` (anything else raises, naming ``Linear``).
    """

    _random = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | dict = "xavier_uniform",
        bias: bool = True,
        rng=None,
        dtype="float32",
    ) -> None:
        super().__init__()
        in_features = _checks.integer("Linear", "in_features", in_features, low=1)
        out_features = _checks.integer("Linear", "out_features", out_features, low=1)
        bias = _checks.boolean("Linear", "bias", bias)
        self.in_features = in_features
        self.out_features = out_features
        self.init = check_spec(init)
        self.dtype = float_dtype("Linear", dtype)
        weight = initialize(
            self.init,
            (in_features, out_features),
            _checks.generator("Linear", "rng", rng),
            self.dtype,
        )
        self.register_parameter("weight", Tensor(weight, requires_grad=True))
        self.bias = None
        if bias:
            self.register_parameter(
                "bias", Tensor(zeros((out_features,), dtype=self.dtype), requires_grad=True)
            )

    @classmethod
    def values_needed(cls, config: dict) -> int | None:
        """``in_features * out_features`` weights, plus ``out_features`` biases unless the
        config's ``bias`` is false; None without two sizes (see
        :meth:`Module.values_needed`)."""
        n_in, n_out = (
            config_size(config.get("in_features")),
            config_size(config.get("out_features")),
        )
        if n_in is None or n_out is None:
            return None
        return n_in * n_out + (n_out if config.get("bias", True) else 0)

    def forward(self, x, activation: str | None = None):
        """``x @ W + b``; with ``activation`` ("relu", "sigmoid", "tanh"), act(x @ W + b)
        as one graph node (:func:`chainrule.autodiff.ops.linear`), which is how
        :class:`~chainrule.nn.Sequential` runs a ``Linear`` followed by that activation."""
        x = lift(x, self.weight)  # arrays and nested lists too (of the weight's dtype)
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            got = shape[-1] if shape else "a scalar"
            raise ValueError(
                f"Linear({self.in_features} -> {self.out_features}) expected input with "
                f"{self.in_features} features, got {got}"
            )
        return linear(x, self.weight, self.bias, activation)

    def get_config(self) -> dict:
        return {
            "type": "Linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "init": dict(self.init) if isinstance(self.init, dict) else self.init,
            "bias": self.bias is not None,
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features} -> {self.out_features}{bias}, init={self.init!r}"
