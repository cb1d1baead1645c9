"""keep_freed_memory: glibc's mallopt where there is glibc, a harmless False elsewhere."""

import ctypes
import platform
import subprocess
import sys

import pytest

from chainrule import malloc

# In a fresh process (the setting is the whole process's, for good): a freed 2 MiB block
# (above glibc's default mmap threshold, 128 KiB) and the address of the next one.
REUSE = """
import numpy as np
import chainrule as cr
print(cr.keep_freed_memory())
a = np.ones((512, 1024), np.float32)
address = a.ctypes.data
del a
b = np.empty((512, 1024), np.float32)
print(b.ctypes.data == address)
print(not np.zeros((512, 1024), np.float32).any())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_with_glibc_the_next_array_reuses_the_freed_block():
    done = subprocess.run(
        [sys.executable, "-c", REUSE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    agreed, reused, zeroed = done.stdout.split()
    assert agreed == "True"
    assert reused == "True"  # with glibc's defaults: munmap'd, then a block elsewhere
    assert zeroed == "True"  # np.zeros still zero on a reused block (calloc)


def test_without_mallopt_it_is_a_no_op(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: not found")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert malloc.keep_freed_memory() is False
