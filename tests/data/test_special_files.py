"""A special file where a source directory should hold a file is refused, naming it, before
it is opened: a FIFO in ``load_mnist``'s ``root`` made the read wait for a writer forever
(``read_limited`` opened it without the special-file check that ``read_tree`` and the
command line apply)."""

import os
import signal

import pytest

from chainrule.data import load_mnist
from chainrule.data.fetch import FetchError, SourceError, read_limited

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")


@pytest.fixture
def no_hang():
    """Fail, rather than hang, a test whose read waits on a FIFO: SIGALRM after 10 s
    interrupts the open (its handler raising, the call is not retried)."""

    def waited(signum, frame):
        raise AssertionError("the read waited on the FIFO for a writer")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_read_limited_refuses_a_fifo_before_opening_it(tmp_path, no_hang):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="expected a regular file, got a FIFO") as caught:
        read_limited(fifo, 100)
    assert str(caught.value) == f"{fifo}: expected a regular file, got a FIFO (named pipe)"


def test_load_mnist_refuses_a_fifo_in_its_root_naming_it(tmp_path, no_hang):
    root, cache = tmp_path / "src", tmp_path / "cache"
    root.mkdir()
    fifo = root / "t10k-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(FetchError) as caught:
        load_mnist("test", root=root, cache_dir=cache, mirrors=(), use_npm=False, progress=False)
    assert f"{fifo}: expected a regular file, got a FIFO (named pipe)" in str(caught.value)
    assert not (cache / "t10k-images-idx3-ubyte").exists()
