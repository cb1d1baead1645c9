import numpy as np
import pytest

from chainrule.data import make_moons, train_dev_test_split


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(600, noise=0.15, seed=0)
    (X_train, y_train), (X_dev, y_dev), _ = train_dev_test_split(
        X, y, ratios=(0.6, 0.2, 0.2), seed=0
    )
    return X_train, y_train.astype(np.int64), X_dev, y_dev.astype(np.int64)


def rendered(text: str) -> list[str]:
    """The lines a terminal shows for ``text``: a carriage return goes back to the line's
    start, and what follows overwrites what was there."""
    lines = []
    for raw in text.split("\n"):
        shown = ""
        for part in raw.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return lines
