"""Input normalization fitted on the training set and reused unchanged on dev and test.

The notes normalize inputs with the training set's statistics: subtract the mean,
``mu = (1/m) sum_i x_i``, then divide by the standard deviation ``sigma``, where
``sigma^2 = (1/m) sum_i (x_i - mu)^2`` (the biased, population variance), per feature,
and apply the same ``mu`` and ``sigma`` to dev and test data. (Seed 002 misprints the
divisor as the variance ``sigma^2``; dividing by ``sigma``, as the course does, gives
every feature unit variance.) Both scalers keep their
state as plain arrays (:meth:`state_dict`) so it is saved with a model.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data._checks import check_finite

__all__ = ["MinMaxScaler", "Standardizer"]

_S = TypeVar("_S", bound="_Scaler")

# Rows per block when accumulating statistics in float64: bounds the temporary copy.
_BLOCK = 4096


class _Scaler:
    """Shared plumbing: input checks, fit_transform, config and state round trips."""

    _state_keys: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._state: dict[str, np.ndarray] | None = None

    def fit(self: _S, X: np.ndarray) -> _S:
        """Compute per-feature statistics of ``X`` (statistics over axis 0); return self."""
        X = self._check(X, "fit", fitting=True)
        self._state = self._statistics(X)
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as a dict of arrays (copies)."""
        return {k: v.copy() for k, v in self._fitted().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore statistics saved by :meth:`state_dict`.

        Raises TypeError when ``state`` is not a mapping, and ValueError unless it holds
        exactly the expected keys as finite floating arrays of one shape that :meth:`fit`
        could have produced (see the class docstring); both before anything is replaced.
        """
        if not isinstance(state, Mapping):
            keys = ", ".join(repr(k) for k in sorted(self._state_keys))
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: state expected a mapping of {keys} "
                f"to arrays (a state_dict()), got {type(state).__name__} {state!r:.80}"
            )
        if set(state) != set(self._state_keys):
            raise ValueError(
                f"{type(self).__name__} state expects keys {sorted(self._state_keys)}, "
                f"got {sorted(state, key=repr)}"  # by repr: keys of mixed types compare
            )
        owner = f"{type(self).__name__}.load_state_dict"
        arrays = {k: as_array(owner, f"state[{k!r}]", state[k]).copy() for k in self._state_keys}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or any(a.dtype.kind != "f" for a in arrays.values()):
            raise ValueError(
                f"{type(self).__name__} state expects floating arrays of one shape, got "
                + ", ".join(f"{k}: {a.dtype} {a.shape}" for k, a in arrays.items())
            )
        for k, a in arrays.items():
            if not np.isfinite(a).all():
                raise ValueError(
                    f"{type(self).__name__} state {k!r} must be finite, got "
                    f"{int(np.count_nonzero(~np.isfinite(a)))} NaN or Inf values"
                )
        self._check_state(arrays)
        self._state = arrays

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, so ``type(s)(**s.get_config())`` rebuilds an unfitted copy."""
        return {}

    @classmethod
    def from_config(cls: type[_S], config: dict[str, Any]) -> _S:
        """Build an unfitted scaler from :meth:`get_config`'s output."""
        return cls(**config)

    def _fitted(self) -> dict[str, np.ndarray]:
        if self._state is None:
            raise RuntimeError(
                f"{type(self).__name__} is not fitted: call fit(X_train) or load_state_dict()"
            )
        return self._state

    def _check(
        self, X: np.ndarray, method: str, name: str = "X", fitting: bool = False
    ) -> np.ndarray:
        """``X`` (argument ``name`` of ``method``) as an array once checked: floating, at
        least 1-D, one sample or more when ``fitting``, else of the fitted features' shape,
        finite. The errors start with ``"<class>.<method>: "``, except the NaN/Inf one
        (:func:`~chainrule.data._checks.check_finite`), which names ``name`` only."""
        owner = f"{type(self).__name__}.{method}"
        X = as_array(owner, name, X)
        if X.dtype.kind != "f":
            raise TypeError(
                f"{owner}: expected floating-point {name}, got {X.dtype}; "
                f"convert explicitly, e.g. {name}.astype(np.float32)"
            )
        if X.ndim < 1 or (fitting and X.shape[0] == 0):
            raise ValueError(f"{owner}: expected {name} of shape (n >= 1, ...), got {X.shape}")
        if not fitting:
            features = next(iter(self._fitted().values())).shape
            if X.shape[1:] != features:
                raise ValueError(
                    f"{owner}: fitted on features of shape {features}, got {name} of shape "
                    f"{X.shape}"
                )
        check_finite(X, name)
        return X

    def _statistics(self, X: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _check_state(self, state: dict[str, np.ndarray]) -> None:
        """Raise ValueError for loaded statistics that :meth:`fit` never produces."""
        raise NotImplementedError


class Standardizer(_Scaler):
    """Per-feature standardization: ``(x - mean) / std`` with the training statistics.

    ``fit`` computes, over axis 0, ``mean = (1/m) sum x`` and the population standard
    deviation ``std = sqrt((1/m) sum (x - mean)^2)`` in two passes, accumulating in float64
    (blocks of rows, so the temporary stays small), and stores both as float64, whatever
    the dtype of ``X``. As ``hypot`` does, the second pass divides each feature's deviations
    by ``s = 2**(e - 1)``, ``e`` the binary exponent of its largest ``|x - mean|``, before
    squaring, and takes ``std = s * sqrt((1/m) sum ((x - mean) / s)^2)``: the squares of a
    spread near ``1e-160`` do not underflow (to a ``std`` of 0, stored as 1 as if the
    feature were constant), nor do those of one near ``1e160`` overflow, and a power of two
    scales exactly, so data of ordinary scale gets the bits of the unscaled sum. A constant
    feature (its min equal to its max, found in the first pass) gets that value exactly as
    ``mean`` and ``std = 1``: it is only centred, never divided by zero, so its training
    values map to exactly 0 (the float64 mean of ``m`` copies of 0.1 would miss 0.1 by an
    ulp and leave a ``std`` near 1e-17). ``state_dict()`` holds exactly the ``mean`` and
    ``std`` used, so ``inverse_transform`` undoes ``transform``. ``fit`` rejects a feature
    that is not constant and whose sum or deviations from the mean overflow float64;
    ``load_state_dict`` takes floating arrays of any precision (earlier versions stored
    them in the data's dtype) and rejects a negative ``std`` (taking a zero one, which
    earlier versions could store, as 1).

    Arrays keep their dtype: ``transform`` and ``inverse_transform`` apply the statistics
    in float64, a block of rows at a time, and write the result into a new array of the
    input's dtype. A float32 feature far from 0 (``1e4`` plus noise of ``1e-2``) is centred
    exactly, not on its mean rounded to float32, and a spread too small for the dtype
    (float32 ``[0, 1e-45]``) is still scaled, to ``[-1, 1]``. A result beyond the
    range of a dtype narrower than float64 (float32 data far outside a tiny fitted spread)
    raises ValueError naming the features, instead of being written as ``inf``.
    """

    _state_keys = ("mean", "std")

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean) / std``, computed in float64, as a new array of ``X``'s dtype."""
        X = self._check(X, "transform")
        mean, std = self._float64()
        return _affine(X, mean, std, 1.0, 0.0, "Standardizer.transform", "X")

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Return ``Z * std + mean``, computed in float64, as a new array of ``Z``'s dtype."""
        Z = self._check(Z, "inverse_transform", "Z")
        mean, std = self._float64()
        return _affine(Z, 0.0, 1.0, std, mean, "Standardizer.inverse_transform", "Z")

    def _float64(self) -> tuple[np.ndarray, np.ndarray]:
        """``mean`` and ``std`` in float64, a ``std`` of 0 (a loaded state) replaced by 1."""
        state = self._fitted()
        return state["mean"].astype(np.float64), _nonzero(state["std"].astype(np.float64))

    def _statistics(self, X: np.ndarray) -> dict[str, np.ndarray]:
        m = X.shape[0]
        mean = np.zeros(X.shape[1:], np.float64)
        low, high = np.array(X[0]), np.array(X[0])  # copies, in X's dtype
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
            for start in range(0, m, _BLOCK):
                block = X[start : start + _BLOCK]
                mean += block.sum(axis=0, dtype=np.float64)
                np.minimum(low, block.min(axis=0), out=low)
                np.maximum(high, block.max(axis=0), out=high)
            mean /= m
            # a constant feature: its rounded sum / m can miss the value by an ulp, which
            # left a spread of ~1e-17 instead of 0; centre it on the value itself
            constant = low == high
            mean[constant] = low[constant]
            # deviations divided by 2**(e - 1), e the exponent of the largest |x - mean|,
            # lie in (-2, 2): their squares neither underflow nor overflow; a power of two
            # scales exactly, so elsewhere the sum has the bits of the unscaled one
            _, exponent = np.frexp(np.maximum(high - mean, mean - low))
            scale = np.ldexp(1.0, exponent - 1)
            sq = np.zeros_like(mean)
            for start in range(0, m, _BLOCK):
                d = X[start : start + _BLOCK] - mean
                d /= scale
                sq += np.einsum("i...,i...->...", d, d)
            sq /= m
            std = np.sqrt(sq) * scale
        wide = ~(np.isfinite(mean) & np.isfinite(std))
        if wide.any():
            raise ValueError(
                f"Standardizer: expected features whose sum and deviations from the mean fit "
                f"in float64, got {int(wide.sum())} that overflow (values near 1e308 in size "
                "or apart); rescale X first"
            )
        return {"mean": mean, "std": _nonzero(std)}

    def _check_state(self, state: dict[str, np.ndarray]) -> None:
        # a std of 0 is accepted: earlier versions' fit stored it for a spread too small
        # for the data's dtype, and transform divides by 1 there, as for a constant feature
        if (state["std"] < 0).any():
            bad = state["std"][state["std"] < 0]
            raise ValueError(
                f"Standardizer state 'std' must be >= 0 (fit stores 1 for a constant "
                f"feature), got {bad.size} negative values, e.g. {bad.flat[0]}"
            )


class MinMaxScaler(_Scaler):
    """Per-feature min-max scaling onto ``feature_range = (lo, hi)``.

    ``transform(x) = (x - min) / (max - min) * (hi - lo) + lo`` with ``min`` and ``max``
    over the training set (axis 0), computed in float64 (blocks of rows) and cast to the
    input's dtype. The ratio is exactly 0 at ``min`` and exactly 1 at ``max``, so the
    training set maps into ``[lo, (hi - lo) + lo]``: exactly ``[0, 1]`` for the default
    range (targets of a binary cross-entropy stay in it). A constant feature (``max ==
    min``) divides by 1 instead, so a training value maps to ``lo`` there. Values outside
    the training range map outside ``feature_range``; nothing is clipped. ``fit`` and
    ``load_state_dict`` reject a span ``max - min`` that overflows float64 (values more
    than 1.8e308 apart), and ``load_state_dict`` a ``max`` below ``min``. As for
    :class:`Standardizer`, a result beyond the range of a dtype narrower than float64 raises
    ValueError naming the features, instead of being written as ``inf``.
    """

    _state_keys = ("min", "max")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        try:
            lo, hi = feature_range
        except (TypeError, ValueError):
            raise TypeError(
                f"MinMaxScaler: feature_range expected a pair (lo, hi) of finite numbers, "
                f"got {type(feature_range).__name__} {feature_range!r}"
            ) from None
        lo = _checks.real("MinMaxScaler", "feature_range lo", lo)
        hi = _checks.real("MinMaxScaler", "feature_range hi", hi)
        if not lo < hi:
            raise ValueError(
                f"MinMaxScaler: feature_range expected (lo, hi) with lo < hi, got ({lo}, {hi})"
            )
        if not math.isfinite(hi - lo):  # the span every value is scaled by
            raise ValueError(
                f"MinMaxScaler: feature_range expected a span hi - lo within the float64 "
                f"range, got ({lo}, {hi})"
            )
        super().__init__()
        self.feature_range = (lo, hi)

    def get_config(self) -> dict[str, Any]:
        return {"feature_range": self.feature_range}

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - min) / (max - min) * (hi - lo) + lo`` in ``X``'s dtype."""
        X = self._check(X, "transform")
        low, span = self._span()
        lo, hi = self.feature_range
        return _affine(X, low, span, hi - lo, lo, "MinMaxScaler.transform", "X")

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Return ``(Z - lo) / (hi - lo) * (max - min) + min`` in ``Z``'s dtype."""
        Z = self._check(Z, "inverse_transform", "Z")
        low, span = self._span()
        lo, hi = self.feature_range
        return _affine(Z, lo, hi - lo, span, low, "MinMaxScaler.inverse_transform", "Z")

    def _span(self) -> tuple[np.ndarray, np.ndarray]:
        """``min`` and ``max - min`` in float64, a span of 0 replaced by 1."""
        state = self._fitted()
        low = state["min"].astype(np.float64)
        return low, _nonzero(state["max"].astype(np.float64) - low)

    def _statistics(self, X: np.ndarray) -> dict[str, np.ndarray]:
        # arrays, also the 0-d ones of a 1-D X (whose reductions NumPy returns as scalars)
        state = {"min": np.asarray(X.min(axis=0)), "max": np.asarray(X.max(axis=0))}
        self._check_span(state)
        return state

    def _check_span(self, state: dict[str, np.ndarray]) -> None:
        with np.errstate(over="ignore"):
            wide = ~np.isfinite(state["max"].astype(np.float64) - state["min"])
        if wide.any():
            raise ValueError(
                f"MinMaxScaler: expected features whose max - min fits in float64, got "
                f"{int(wide.sum())} wider, e.g. min {state['min'][wide].flat[0]}, max "
                f"{state['max'][wide].flat[0]}"
            )

    def _check_state(self, state: dict[str, np.ndarray]) -> None:
        self._check_span(state)
        below = state["max"] < state["min"]
        if below.any():
            raise ValueError(
                f"MinMaxScaler state needs max >= min, got max < min in {int(below.sum())} "
                f"features, e.g. min {state['min'][below].flat[0]} > max "
                f"{state['max'][below].flat[0]}"
            )


def _nonzero(a: np.ndarray) -> np.ndarray:
    """``a`` with its zeros replaced by 1, in ``a``'s dtype (the divisor guard)."""
    return np.where(a == 0, a.dtype.type(1), a)


def _affine(X: np.ndarray, shift, divisor, factor, offset, owner: str, name: str) -> np.ndarray:
    """``(X - shift) / divisor * factor + offset`` in float64, a block of rows at a time
    (the temporary stays small), written into a new array of ``X``'s dtype.

    For a dtype narrower than float64, each written block is checked for values that
    overflowed to Inf (``X`` is finite), and ValueError names the features, after all
    blocks, before anything is returned. float64 and wider dtypes are written unchecked.
    """
    out = np.empty(X.shape, X.dtype)
    narrow = np.finfo(X.dtype).max < np.finfo(np.float64).max
    beyond = np.zeros(X.shape[1:], bool)
    # narrow: a float64 overflow, or a cast one, is found below instead of warned about
    with np.errstate(over="ignore") if narrow else contextlib.nullcontext():
        for start in range(0, X.shape[0], _BLOCK):
            rows = slice(start, start + _BLOCK)
            block = np.subtract(X[rows], shift, dtype=np.float64)
            block /= divisor
            block *= factor
            block += offset
            out[rows] = block
            if narrow:
                finite = np.isfinite(out[rows])
                if not finite.all():
                    beyond |= ~finite.all(axis=0)
    if beyond.any():
        raise ValueError(
            f"{owner}: expected results within {X.dtype}'s range "
            f"(+-{np.finfo(X.dtype).max:.4g}), got values beyond it in {_which(beyond)}; "
            f"pass {name}.astype(np.float64) for a float64 result, or check that {name} is "
            "on the scale of the data the scaler was fitted on"
        )
    return out


def _which(mask: np.ndarray, shown: int = 5) -> str:
    """``"3 features (0, 5, 7)"``: how many features ``mask`` marks, and the first few."""
    count = int(np.count_nonzero(mask))
    text = f"{count} feature" + ("s" if count != 1 else "")
    if mask.ndim == 0:
        return text
    where = np.argwhere(mask)[:shown]
    labels = [str(int(i[0])) if mask.ndim == 1 else str(tuple(int(j) for j in i)) for i in where]
    return f"{text} ({', '.join(labels)}{', ...' if count > shown else ''})"
