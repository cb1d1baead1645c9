"""The 8x8 handwritten digits bundled with scikit-learn (an optional dependency)."""

from __future__ import annotations

import numpy as np

from chainrule import _checks

__all__ = ["load_digits"]


def load_digits(flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's 1,797 8x8 digit images (UCI optical digits, test part).

    Returns
    -------
    X : numpy.ndarray of float32, shape (1797, 64) or (1797, 8, 8)
        Pixel intensities (0-16 in the source) divided by 16, so in [0, 1].
    y : numpy.ndarray of int64, shape (1797,)
        Digit labels 0-9.

    Raises
    ------
    TypeError
        ``flatten`` is not a bool.
    ImportError
        scikit-learn is not installed; install the extra: ``pip install 'chainrule[sklearn]'``.
    """
    flatten = _checks.boolean("load_digits", "flatten", flatten)
    try:
        from sklearn.datasets import load_digits as _sklearn_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits needs scikit-learn, which is not installed; "
            "install it with: pip install 'chainrule[sklearn]'"
        ) from exc
    bunch = _sklearn_digits()
    X = np.divide(bunch.data, 16.0).astype(np.float32)
    n = X.shape[0]
    return (X if flatten else X.reshape(n, 8, 8)), bunch.target.astype(np.int64)
