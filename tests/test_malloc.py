"""keep_freed_memory: glibc's mallopt where there is glibc, a harmless False elsewhere."""

import ctypes
import platform

import numpy as np
import pytest

import chainrule as cr
from chainrule import malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_agrees_and_arrays_still_work():
    assert cr.keep_freed_memory() is True
    a = np.ones((512, 1024), np.float32)  # 2 MiB: from the heap now, not mmap
    del a
    b = np.zeros((512, 1024), np.float32)  # freed blocks are reused: must still be zeroed
    assert not b.any()


def test_without_mallopt_it_is_a_no_op(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: not found")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert malloc.keep_freed_memory() is False
