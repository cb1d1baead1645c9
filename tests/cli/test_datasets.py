"""What the config is checked against before loading: the datasets' shapes and part sizes."""

import pytest

from chainrule.cli import config as cfg
from chainrule.cli import datasets


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
