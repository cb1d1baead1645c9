"""Fixtures of the file tests."""

import pytest

from chainrule import files


@pytest.fixture
def no_tensor_copies(monkeypatch):
    """Fail the test when a file's tensors are copied out of it (``decode_tensors``): a
    file refused by its header must be refused before that."""

    def copy(*args, **kwargs):
        raise AssertionError("a tensor was copied before the references were checked")

    monkeypatch.setattr(files.tree, "decode_tensors", copy)
