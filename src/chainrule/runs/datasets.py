"""The data of a run, from the ``[data]`` section: splits, normalization, label names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule import data as crdata
from chainrule import losses
from chainrule.train.metrics import predictions_from_outputs

GENERATORS = {
    "moons": crdata.make_moons,
    "circles": crdata.make_circles,
    "spirals": crdata.make_spirals,
    "flower": crdata.make_flower,
    "xor": crdata.make_xor,
}
#: (input features, classes) of each dataset as :func:`load` makes it: what a config's
#: model.sizes is checked against before any data is fetched or generated.
SHAPES = {
    "mnist": (784, 10),
    "moons": (2, 2),
    "circles": (2, 2),
    "spirals": (2, 3),
    "flower": (2, 2),
    "xor": (2, 2),
    "blobs": (2, 3),
}
MNIST_SIZES = {"train": 60_000, "test": 10_000}  # the official training and test images
#: The scaler of each ``data.normalize`` but "none", fitted on the training part.
SCALERS = {"standardize": crdata.Standardizer, "minmax": crdata.MinMaxScaler}


@dataclass
class RunData:
    """Train/dev/test arrays (normalized), the fitted scaler and what the report needs."""

    train: tuple[np.ndarray, np.ndarray]
    dev: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    scaler: object | None
    labels: list[str]
    image_shape: tuple[int, int] | None
    raw_test: np.ndarray  # test inputs before normalization (for images and boundaries)

    @property
    def n_features(self) -> int:
        return int(self.train[0].shape[1])


def load(section: dict, seed: int, progress: bool = True) -> RunData:
    """Load, split and normalize the dataset of a ``[data]`` section.

    MNIST: the dev set is taken from the 60,000 training images (``split = [train, dev]``),
    the test set is the official 10,000. Generated sets: ``split = [train, dev, test]`` of
    ``n_samples`` points, stratified, shuffled with ``seed``.
    """
    name = section["name"]
    if name == "mnist":
        X, y = crdata.load_mnist("train", progress=progress)
        Xt, yt = crdata.load_mnist("test", progress=progress)
        if section["n_train"]:
            X, y = X[: section["n_train"]], y[: section["n_train"]]
        if section["n_test"]:
            Xt, yt = Xt[: section["n_test"]], yt[: section["n_test"]]
        (Xtr, ytr), (Xd, yd) = crdata.train_dev_test_split(
            X, y, section["split"], stratify=True, seed=seed
        )
        test, labels, image_shape = (Xt, yt), [str(d) for d in range(10)], (28, 28)
    else:
        n, noise = section["n_samples"], section["noise"]
        if name == "blobs":
            X, y = crdata.make_blobs(n, seed=seed)
        else:
            X, y = GENERATORS[name](n, noise=noise, seed=seed)
        (Xtr, ytr), (Xd, yd), test = crdata.train_dev_test_split(
            X, y, section["split"], stratify=True, seed=seed
        )
        labels, image_shape = [str(c) for c in range(int(y.max()) + 1)], None
    scaler = SCALERS.get(section["normalize"])
    scaler = scaler().fit(Xtr) if scaler is not None else None

    def norm(a):
        return scaler.transform(a) if scaler is not None else a

    return RunData(
        (norm(Xtr), ytr),
        (norm(Xd), yd),
        (norm(test[0]), test[1]),
        scaler,
        labels,
        image_shape,
        test[0],
    )


def part_sizes(section: dict) -> tuple[int, int, int]:
    """The (train, dev, test) sample counts :func:`load` will give a ``[data]`` section,
    computed from the config alone (the same :func:`chainrule.data.split_sizes`)."""
    if section["name"] == "mnist":
        pool = section["n_train"] or MNIST_SIZES["train"]
        train, dev = crdata.split_sizes(pool, section["split"])
        return train, dev, section["n_test"] or MNIST_SIZES["test"]
    return crdata.split_sizes(section["n_samples"], section["split"])


def targets(y: np.ndarray, loss: str, n_out: int, dtype="float32") -> np.ndarray:
    """Labels in the form ``loss`` takes: the losses of class-index targets
    (:data:`chainrule.losses.CLASS_INDEX_TARGETS`) keep integer labels; elementwise losses
    get one-hot rows (``n_out`` > 1) or an ``(m, 1)`` column, of ``dtype`` (the model's:
    a loss refuses targets of another float dtype than its prediction's)."""
    if loss in losses.CLASS_INDEX_TARGETS:
        return y
    if n_out == 1:
        return y.reshape(-1, 1).astype(dtype)
    return crdata.one_hot(y, n_out, dtype)


def predicted_classes(outputs: np.ndarray, from_logits: bool) -> np.ndarray:
    """Class labels from a model's outputs, as fit and evaluate read them
    (:func:`~chainrule.train.metrics.predictions_from_outputs`): the argmax of several
    outputs; one output is class 1 above 0 as a logit, above 0.5 otherwise. An output that
    is not a logit is read on the targets' scale, never refused: a run's model ends in a
    sigmoid or softmax, whose probabilities are in [0, 1] already, or in a linear layer
    under quadratic, mse or mae, whose outputs may stray outside it."""
    return predictions_from_outputs(outputs, from_logits=from_logits, target_scale=True)
