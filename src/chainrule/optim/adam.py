"""Adam (momentum + RMSprop with bias correction) and AdamW (decoupled weight decay)."""

from __future__ import annotations

import math

import numpy as np

from chainrule import _checks
from chainrule.optim import kernels
from chainrule.optim.base import Optimizer
from chainrule.optim.schedules import Schedule

#: The largest float32: step scalars no larger fit the cast to either float dtype
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class Adam(Optimizer):
    """Adaptive Moment Estimation, exactly the notes' equations (003, Kingma and Ba 2015).

    With t the number of this parameter's update, counted from 1, and v, s starting at 0::

        v = beta1 * v + (1 - beta1) * dW            (momentum: EWMA of dW)
        s = beta2 * s + (1 - beta2) * dW**2         (RMSprop: EWMA of dW**2)
        v_hat = v / (1 - beta1**t)                  (bias corrections)
        s_hat = s / (1 - beta2**t)
        W -= alpha * v_hat / (sqrt(s_hat) + eps)    (eps outside the root, after correction)

    The notes call the moments v and s (the paper's m and v); ``state_dict`` uses the
    notes' names. The last line is evaluated in the algebraically identical form
    ``alpha * sqrt(1-beta2**t) / (1-beta1**t) * v / (sqrt(s) + eps * sqrt(1-beta2**t))``
    (Kingma and Ba, section 2), which needs no corrected copies of v and s. Bias
    correction makes the first step about alpha per coordinate (v_hat = dW,
    s_hat = dW**2); ``bias_correction=False`` drops it (v_hat = v, s_hat = s) to show
    why it is there: the first step is then about alpha * (1-beta1) / sqrt(1-beta2),
    3.16 alpha with the defaults.

    (1 - beta2) * dW**2 is computed as the square of (1 - beta1) * dW (the momentum's
    term) times sqrt(1 - beta2) / (1 - beta1): scaled before it is squared, it overflows
    only where it exceeds the dtype's range itself (float32: |dW| above about 5.8e20 with
    the default beta2). There s becomes inf, and that weight's step is 0 from then on
    (beta2 * inf is inf): ``clip_norm`` or ``clip_value`` keep dW below that. The rule runs
    under ``np.errstate(all="ignore")`` (see :meth:`~chainrule.optim.base.Optimizer.step`):
    a caller's ``np.errstate(over="raise")`` neither stops it halfway nor makes the NumPy
    rule differ from the compiled one.

    Parameters
    ----------
    params : Module, dict or iterable of Tensor or of (str, Tensor)
        See :class:`~chainrule.optim.base.Optimizer`.
    lr : float or Schedule
        alpha >= 0, default 1e-3 (it needs tuning).
    beta1, beta2 : float
        In [0, 1), defaults 0.9 and 0.999.
    eps : float
        > 0, default 1e-8.
    bias_correction : bool
        Divide by 1 - beta**t (default True, as in the notes).
    clip_norm, clip_value, nonfinite
        See :class:`~chainrule.optim.base.Optimizer`.
    fused : bool or None
        Run the rule and the write as one compiled pass per parameter
        (:mod:`chainrule.optim.kernels`, needs numba: the ``fast`` extra); the results are
        bit-identical to the NumPy rule except that subnormal moments are flushed to zero,
        which changes a step by a few units in its last place, or, for weights below about
        ``sqrt(tiny) * lr``, by the whole of a step a flushed first moment would make,
        while ``eps * sqrt(1 - beta2)`` (``eps`` without bias correction) is at least
        :func:`~chainrule.optim.kernels.flush_floor` of the parameters' narrowest dtype
        (float32: 1.8e-12, eps >= 5.8e-11 with beta2 = 0.999). None (default): when numba
        can be imported and that holds. True: require both (``ImportError`` without numba,
        ``ValueError`` below the floor, at construction and in :meth:`load_state_dict`).
        False: always NumPy. Copies and pickles are built with the value given (None
        resolves again where a pickle is loaded), except that None which met the floor
        gives False, so that a copy keeps the NumPy rule after :meth:`load_state_dict`
        raises eps.
    **extra_hyperparameters
        A subclass's own hyperparameters (:class:`AdamW`'s ``weight_decay``), checked by
        its ``_check_hyperparameters``; Adam itself takes none (``TypeError``).
    """

    state_names = ("v", "s")
    nonnegative_states = ("s",)
    #: The parameters' dtype of the largest ``kernels.flush_floor``; None until known.
    _narrowest: np.dtype | None = None

    def __init__(
        self,
        params,
        lr: float | Schedule = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        bias_correction: bool = True,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
        fused: bool | None = None,
        **extra_hyperparameters,
    ):
        owner = type(self).__name__
        self.fused = kernels.resolve(owner, fused)
        self._fused_given = fused
        hp = {"beta1": beta1, "beta2": beta2, "eps": eps, "bias_correction": bias_correction}
        super().__init__(
            params,
            lr,
            {**hp, **extra_hyperparameters},
            clip_norm=clip_norm,
            clip_value=clip_value,
            nonfinite=nonfinite,
        )
        self._narrowest = max((d for _, _, d in self._layout), key=kernels.flush_floor)
        why = self._flush_error(self.hyperparameters) if self.fused else None
        if why is not None:
            if fused:
                raise ValueError(f"{owner}(fused=True): {why}; or fused=None for the NumPy rule")
            self.__dict__["fused"] = False  # read-only once built: set as load_state_dict sets
            self._fused_given = False  # its copies keep the NumPy rule, whatever eps they load

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        beta2 = _checks.beta(owner, "beta2", hp["beta2"])
        correct = _checks.boolean(owner, "bias_correction", hp["bias_correction"])
        # with bias correction the first update adds eps * sqrt(1 - beta2) (see _scalars),
        # to float32 weights at the narrowest
        factor, why = _first_eps_term(beta2, correct)
        eps = _checks.eps(owner, hp["eps"], "float32", "a weight with no gradient", factor, why)
        checked = {
            "beta1": _checks.beta(owner, "beta1", hp["beta1"]),
            "beta2": beta2,
            "eps": eps,
            "bias_correction": correct,
            **super()._check_hyperparameters(hp),
        }
        # load_state_dict's check; at construction the dtypes are not known yet (__init__)
        flush = self._flush_error(checked) if self.fused else None
        if flush is not None:
            raise ValueError(
                f"{owner}: {flush}; this optimizer takes the compiled pass: build one with "
                "fused=False to load these hyperparameters"
            )
        return checked

    def _flush_error(self, hp: dict) -> str | None:
        """Why the compiled pass's flush of moments below ``tiny`` could change a step of
        the rule with hyperparameters ``hp`` by more than a rounding, or None (see
        :mod:`chainrule.optim.kernels`): the eps term of the first step, ``eps *
        sqrt(1 - beta2)`` (``eps`` without bias correction), below ``kernels.flush_floor``
        of the parameters' narrowest dtype."""
        dtype = self._narrowest
        if dtype is None:
            return None
        factor, why = _first_eps_term(hp["beta2"], hp["bias_correction"])
        least, tiny = kernels.flush_floor(dtype), kernels.tiny(dtype)
        if hp["eps"] * factor >= least:
            return None
        return (
            f"eps={hp['eps']}{why} is {hp['eps'] * factor:.3g}, below sqrt(tiny) / (machine "
            f"eps / 2) = {least:.3g} of {dtype} (the parameters' narrowest dtype): the compiled "
            f"pass flushes moments below tiny = {tiny:.3g} to 0, which changes the denominator "
            f"sqrt(s) + eps by up to sqrt(tiny) = {math.sqrt(tiny):.3g}, more than a rounding "
            f"of it; expected eps >= {least / factor * 1.001:.3g}"
        )

    def _init_kwargs(self) -> dict:
        # fused as given, not as resolved: a pickle of fused=None loads where numba is
        # missing (taking the NumPy rule there); None that met the flush floor gives False
        return {**super()._init_kwargs(), "fused": self._fused_given}

    def _scalars(self, lr, t) -> tuple[float, ...]:
        """(beta1, 1 - beta1, beta2, root gain, eps term, step scale) at update ``t``; the
        root gain sqrt(1 - beta2) / (1 - beta1) turns (1 - beta1) * dW into the root of
        (1 - beta2) * dW**2."""
        beta1, beta2 = self.beta1, self.beta2
        gain1 = 1.0 - beta1
        if self.bias_correction:
            correction1, root2 = 1.0 - beta1**t, math.sqrt(1.0 - beta2**t)
        else:
            correction1, root2 = 1.0, 1.0
        root_gain = math.sqrt(1.0 - beta2) / gain1
        return beta1, gain1, beta2, root_gain, self.eps * root2, lr * root2 / correction1

    def update(self, g, state, scratch, lr, t):
        v, s = state
        beta1, gain1, beta2, root_gain, eps, scale = self._scalars(lr, t)
        v *= beta1
        g *= gain1
        v += g
        # g holds (1-beta1)*dW; rescaling and squaring gives (1-beta2)*dW**2 in place, so
        # that Adam needs no work array beyond the gradient copy (scaled first: squared
        # first, it overflowed where (1-beta2)*dW**2 does not)
        g *= root_gain
        np.multiply(g, g, out=g)
        s *= beta2
        s += g
        np.sqrt(s, out=g)
        g += eps
        np.divide(v, g, out=g)
        g *= scale

    def fused_step(self, group, grads, lr, t, decay) -> None:
        # the NumPy rule rounds every Python scalar to the arrays' dtype: so does the array,
        # a scalar beyond the dtype's range to inf whatever the caller's np.errstate (as
        # Optimizer.step's rule does): raising here left earlier groups written
        dtype = group.grad.dtype
        values = (*self._scalars(lr, t), decay, kernels.tiny(dtype))
        if max(values) <= _FLOAT32_MAX:  # no cast overflows: errstate's 0.9 us spared a step
            coef = np.array(values, dtype)
        else:
            with np.errstate(all="ignore"):
                coef = np.array(values, dtype)
        params = [p.data.reshape(-1) for p in group.params]
        kernels.adam_step(params, grads, group.flat_states, coef)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter 2019), as in PyTorch/optax.

    Each step takes the decay off with the :class:`Adam` step::

        W -= alpha * (v_hat / (sqrt(s_hat) + eps) + weight_decay * W)

    computed as ``W - (W * (alpha * weight_decay) + step)``, ``step`` being Adam's: the
    decay keeps the precision of the weights' dtype even where 1 - alpha * weight_decay
    rounds to 1 (below about 3e-8 in float32). The new weight is still rounded to its
    dtype, so a change below half its spacing (3e-8 near 1 in float32) is lost: with a
    zero gradient a tiny decay does not move a float32 weight; with Adam's steps it adds
    up as it should.

    This is *not* the L2 penalty (lambda / 2m) * ||W||^2 of
    ``chainrule.regularization``: an L2 term enters dW and so is divided by
    sqrt(s_hat) like the rest of the gradient (weights with large gradients are barely
    decayed), while decoupled decay shrinks every weight by the same factor
    (1 - alpha * weight_decay). With plain SGD the two coincide (for
    weight_decay = lambda / m); with Adam they do not. Keep both available, named apart.

    Parameters
    ----------
    weight_decay : float
        >= 0, default 0.01; multiplied by the current alpha.
    others
        As :class:`Adam`.
    """

    def __init__(
        self,
        params,
        lr: float | Schedule = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.01,
        bias_correction: bool = True,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            lr,
            beta1,
            beta2,
            eps,
            bias_correction=bias_correction,
            clip_norm=clip_norm,
            clip_value=clip_value,
            nonfinite=nonfinite,
            fused=fused,
            weight_decay=weight_decay,
        )

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        decay = _checks.real(owner, "weight_decay", hp["weight_decay"], low=0.0)
        return {"weight_decay": decay, **super()._check_hyperparameters(hp)}

    def decoupled_decay(self, lr: float) -> float:
        return lr * self.weight_decay


def _first_eps_term(beta2: float, bias_correction: bool) -> tuple[float, str]:
    """The factor eps is multiplied by in the first update's denominator (see
    :meth:`Adam._scalars`), ``sqrt(1 - beta2)`` with bias correction, else 1, and the words
    that say so in an error."""
    if bias_correction:
        return math.sqrt(1.0 - beta2), " times sqrt(1 - beta2)"
    return 1.0, ""
