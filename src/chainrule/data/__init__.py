"""Data for training: MNIST, generated datasets, splits, normalization, mini-batches.

Pure NumPy; nothing here depends on the autodiff engine.
"""

from chainrule.data.batches import BatchLoader, one_hot
from chainrule.data.digits import load_digits
from chainrule.data.fetch import FetchError
from chainrule.data.idx import IDXFormatError, is_idx, read_idx, write_idx
from chainrule.data.mnist import default_cache_dir, fetch_mnist, load_mnist, scale_pixels
from chainrule.data.normalize import MinMaxScaler, Standardizer
from chainrule.data.split import split_sizes, train_dev_test_split
from chainrule.data.synthetic import (
    make_blobs,
    make_circles,
    make_flower,
    make_moons,
    make_sine,
    make_spirals,
    make_xor,
)

__all__ = [
    "BatchLoader",
    "FetchError",
    "IDXFormatError",
    "MinMaxScaler",
    "Standardizer",
    "default_cache_dir",
    "fetch_mnist",
    "is_idx",
    "load_digits",
    "load_mnist",
    "make_blobs",
    "make_circles",
    "make_flower",
    "make_moons",
    "make_sine",
    "make_spirals",
    "make_xor",
    "one_hot",
    "read_idx",
    "scale_pixels",
    "split_sizes",
    "train_dev_test_split",
    "write_idx",
]
