"""clip_by_value / clip_by_global_norm refuse an ``out`` that is no sequence, by name."""

import re

import numpy as np
import pytest

from chainrule.optim import clip_by_global_norm, clip_by_value


@pytest.mark.parametrize("clip", [clip_by_value, clip_by_global_norm])
@pytest.mark.parametrize(
    ("out", "got"), [(5, "int"), ((a for a in [np.empty(2)]), "generator")], ids=["int", "gen"]
)
def test_an_out_that_is_no_sequence_is_a_type_error_naming_out(clip, out, got):
    g = np.array([3.0, 4.0])
    expected = (
        f"{clip.__name__}: out expected a sequence (a list or tuple) of 1 numpy.ndarray, "
        f"one per array, got {got}"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(expected)}$"):
        clip([g], 1.0, out=out)
    np.testing.assert_array_equal(g, [3.0, 4.0])


@pytest.mark.parametrize("clip", [clip_by_value, clip_by_global_norm])
def test_a_tuple_out_is_written(clip):
    o = np.empty(2)
    result = clip([np.array([3.0, 4.0])], 1.0, out=(o,))
    clipped = result if clip is clip_by_value else result[0]
    assert clipped[0] is o and np.abs(o).max() <= 1.0
