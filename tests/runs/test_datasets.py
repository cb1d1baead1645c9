"""What the config is checked against before loading: the datasets' shapes and part sizes."""

import pytest

from chainrule.runs import config as cfg
from chainrule.runs import datasets


@pytest.mark.parametrize("name", [n for n in datasets.SHAPES if n != "mnist"])
def test_shapes_and_part_sizes_are_those_load_makes(name):
    n_features, n_classes = datasets.SHAPES[name]
    section = cfg.resolve({"data": {"name": name}, "model": {"sizes": [n_features, n_classes]}})
    section = {**section["data"], "n_samples": 301, "split": [0.7, 0.2, 0.1]}
    data = datasets.load(section, seed=0, progress=False)
    assert (data.n_features, len(data.labels)) == (n_features, n_classes)
    loaded = tuple(len(part[1]) for part in (data.train, data.dev, data.test))
    assert datasets.part_sizes(section) == loaded


def test_mnist_part_sizes_come_from_the_config_alone():
    config = cfg.resolve({"model": {"sizes": [784, 10]}, "data": {"n_train": 3000, "n_test": 500}})
    assert datasets.part_sizes(config["data"]) == (2750, 250, 500)
    config = cfg.resolve({"model": {"sizes": [784, 10]}})
    assert datasets.part_sizes(config["data"]) == (55_000, 5_000, 10_000)


@pytest.mark.parametrize("normalize", ["standardize", "minmax", "none"])
def test_each_normalization_fits_its_scaler_on_the_training_part(normalize):
    # swapping minmax's scaler for the Standardizer passed every CLI test
    import numpy as np

    from chainrule import data as crdata

    config = cfg.resolve(
        {"data": {"name": "moons", "normalize": normalize}, "model": {"sizes": [2, 2]}}
    )
    loaded = datasets.load(config["data"], seed=0, progress=False)
    raw = datasets.load({**config["data"], "normalize": "none"}, seed=0, progress=False)
    X = raw.train[0]
    if normalize == "none":
        assert loaded.scaler is None
        np.testing.assert_array_equal(loaded.train[0], X)
        return
    expected = {"standardize": crdata.Standardizer, "minmax": crdata.MinMaxScaler}[normalize]
    assert type(loaded.scaler) is expected
    np.testing.assert_array_equal(loaded.train[0], expected().fit(X).transform(X))
    np.testing.assert_array_equal(loaded.test[0], expected().fit(X).transform(raw.test[0]))
