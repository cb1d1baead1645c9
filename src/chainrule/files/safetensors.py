"""The safetensors codec: named arrays and string metadata as bytes, and back.

The layout (https://github.com/huggingface/safetensors), every integer little-endian:

1. 8 bytes: ``N``, the length of the header in bytes, an unsigned 64-bit integer;
2. ``N`` bytes: the header, a JSON object in UTF-8. It maps each tensor's name to
   ``{"dtype": D, "shape": [d0, d1, ...], "data_offsets": [begin, end]}``, where ``D`` is
   one of F64, F32, F16, I64, I32, I16, I8, U8 and BOOL and the byte offsets count from the
   start of the data section; the optional key ``"__metadata__"`` maps strings to strings
   (so no tensor can have that name). :func:`encode_safetensors` writes it without spaces,
   then pads it with spaces to a multiple of 8 bytes;
3. the data section: each tensor's elements in C order, little-endian, at
   ``[begin, end)``. :func:`encode_safetensors` lays the tensors end to end in the sorted
   order of their names.

:func:`decode_header` checks every field before anything but the header is allocated: a
header of at most 100 MiB that lies within the file, a known dtype, at most 32 dimensions,
each and the product of the nonzero ones (in bytes) at most 2**48, each tensor's span
exactly its size, and spans that tile the data section without gap, overlap or trailing
byte; :func:`decode_tensors` then copies the tensors out, and :func:`decode_safetensors`
does both. They parse JSON and copy bytes: nothing is imported, unpickled or evaluated, so
a hostile file can at worst be rejected, with :class:`FormatError`.
:func:`encode_safetensors` refuses, before it encodes anything, what :func:`decode_header`
would refuse to read back.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

# The closed set of tensor dtypes (safetensors names), little-endian on disk.
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {dt: name for name, dt in _DTYPES.items()}
_MAX_HEADER = 100 * 2**20
_MAX_DIMS = 32  # NumPy allows 64; no tensor of a model or checkpoint has more than 2
_MAX_BYTES = 2**48  # no array NumPy could allocate: a bound on a shape's product


class FormatError(ValueError):
    """A file is not a valid chainrule file (truncated, malformed, or of another format)."""


def _stored(dtype: np.dtype) -> np.dtype:
    """``dtype`` in little-endian byte order, as a file stores it."""
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def check_storable(arrays: dict[str, np.ndarray]) -> None:
    """Raise TypeError naming the first array (by its key) whose dtype a file cannot store,
    and listing the dtypes it can: float64, float32, float16, int64, int32, int16, int8,
    uint8 and bool, in either byte order. Unsigned integers wider than 8 bits, complex,
    str, object and datetime arrays are refused, and so is a masked array
    (``np.ma.MaskedArray``), whose mask a file has no place for (it would load back as a
    plain array of its data). :func:`encode_safetensors` checks this before it encodes
    anything, and :func:`chainrule.io.check_extras` before training."""
    for name, arr in arrays.items():
        if isinstance(arr, np.ma.MaskedArray):
            raise TypeError(
                f"cannot store tensor {name!r} of type MaskedArray: expected a plain array, "
                "as the file cannot hold its mask (x.filled(value) gives one)"
            )
        dtype = np.asarray(arr).dtype
        if _stored(dtype) not in _NAMES:
            storable = ", ".join(dt.name for dt in _DTYPES.values())
            raise TypeError(
                f"cannot store tensor {name!r} of dtype {dtype}: expected one of {storable}"
            )


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Serialize named arrays and string metadata to safetensors bytes.

    Refused before anything is encoded, as :func:`decode_header` would refuse the bytes:
    an array of a dtype the file cannot store, or a masked array (``TypeError``, see
    :func:`check_storable`); a tensor name that is not a ``str`` or a ``metadata`` that
    is not a dict of ``str`` to ``str`` (``TypeError``); a tensor named ``"__metadata__"``,
    the header's entry for the metadata, or a header of more than 100 MiB (``ValueError``).
    """
    check_storable(tensors)
    _check_header_input(tensors, metadata)
    tensors = {name: np.asarray(arr) for name, arr in tensors.items()}
    header: dict = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name]
        header[name] = {
            "dtype": _NAMES[_stored(arr.dtype)],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    if len(head) > _MAX_HEADER:
        raise ValueError(
            f"cannot store a header of {len(head)} bytes: expected at most {_MAX_HEADER} "
            "(100 MiB), the most a reader takes; keep bulky data in arrays"
        )
    chunks = (
        np.ascontiguousarray(tensors[name], dtype=_stored(tensors[name].dtype)).tobytes()
        for name in sorted(tensors)
    )
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def _check_header_input(tensors: dict, metadata) -> None:
    """Raise when the tensors' names or ``metadata`` cannot be a header's keys and
    ``"__metadata__"`` entry (see :func:`encode_safetensors`)."""
    for name in tensors:
        if not isinstance(name, str):
            raise TypeError(
                f"cannot store tensor {name!r}: expected a str name, got {type(name).__name__}"
            )
    if "__metadata__" in tensors:
        raise ValueError(
            "cannot store tensor '__metadata__': expected another name, as the header keeps "
            "its metadata under this one"
        )
    if not isinstance(metadata, dict):
        raise TypeError(
            f"encode_safetensors: metadata expected a dict of str to str, got "
            f"{type(metadata).__name__} {metadata!r:.80}"
        )
    for key, value in metadata.items():
        if not (isinstance(key, str) and isinstance(value, str)):
            raise TypeError(
                f"encode_safetensors: metadata expected a dict of str to str, got "
                f"{type(key).__name__} {key!r:.80}: {type(value).__name__} {value!r:.80}"
            )


def decode_safetensors(blob: bytes, source: str = "file") -> tuple[dict[str, np.ndarray], dict]:
    """Parse safetensors bytes into (arrays, metadata), validating every field first (see
    :func:`decode_header`); the arrays are copies, which the caller may write to."""
    layout, metadata = decode_header(blob, source)
    return decode_tensors(blob, layout), metadata


def decode_header(blob: bytes, source: str = "file") -> tuple[dict[str, tuple], dict]:
    """Parse and check the header of safetensors bytes; return (layout, metadata), where
    ``layout`` maps each tensor's name to its (dtype, shape, offset in ``blob``) for
    :func:`decode_tensors`. Every field is checked (see the module's docstring) before
    anything but the header is allocated; :class:`FormatError` (naming ``source``) for the
    first that is wrong."""
    if len(blob) < 8:
        raise FormatError(f"{source}: {len(blob)} bytes is too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(_MAX_HEADER, len(blob) - 8):
        raise FormatError(
            f"{source}: header length {n} exceeds the file ({len(blob)} bytes); "
            "the file is truncated or not a chainrule/safetensors file"
        )
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, an int over 4300 digits
        raise FormatError(f"{source}: the header is not valid JSON ({exc!r:.300})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{source}: expected a JSON object header, got {type(header).__name__}")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise FormatError(f"{source}: __metadata__ must map strings to strings")
    size = len(blob) - 8 - n
    spans, layout = [], {}
    for name, entry in header.items():
        dtype, shape, (begin, end) = _check_entry(name, entry, source)
        expected = math.prod(shape) * dtype.itemsize
        if end - begin != expected or end > size:
            raise FormatError(
                f"{source}: tensor {name!r} of shape {tuple(shape)} needs {expected} bytes at "
                f"[{begin}, {end}), but the data section has {size} bytes"
            )
        spans.append((begin, end))
        layout[name] = (dtype, tuple(shape), 8 + n + begin)
    _check_tiling(spans, size, source)
    return layout, metadata


def decode_tensors(blob: bytes, layout: dict[str, tuple]) -> dict[str, np.ndarray]:
    """Copy the tensors of ``layout`` (see :func:`decode_header`) out of ``blob``."""
    return {
        name: np.frombuffer(blob, dtype, math.prod(shape), offset).reshape(shape).copy()
        for name, (dtype, shape, offset) in layout.items()
    }


def _check_tiling(spans: list[tuple[int, int]], size: int, source: str) -> None:
    """FormatError unless the byte spans tile a data section of ``size`` bytes without gap,
    overlap or trailing byte."""
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise FormatError(f"{source}: tensor data has a gap or overlap at byte {begin}")
        position = end
    if position != size:
        raise FormatError(f"{source}: {size - position} trailing bytes after the last tensor")


def _check_entry(name, entry, source):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise FormatError(f"{source}: tensor {name!r} needs exactly dtype, shape, data_offsets")
    dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise FormatError(
            f"{source}: tensor {name!r} has dtype {entry['dtype']!r:.80}; "
            f"expected one of {', '.join(_DTYPES)}"
        )
    shape, offsets = entry["shape"], entry["data_offsets"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_DIMS
        or not all(_is_count(d) and d <= _MAX_BYTES for d in shape)
        # zeros count as ones: an empty array's other dimensions must still be sane
        or math.prod(max(d, 1) for d in shape) * dtype.itemsize > _MAX_BYTES
    ):
        raise FormatError(
            f"{source}: tensor {name!r} has an invalid shape {shape!r} (expected at most "
            f"{_MAX_DIMS} counts >= 0, each and the product of the nonzero ones in bytes at "
            f"most {_MAX_BYTES})"
        )
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise FormatError(f"{source}: tensor {name!r} has invalid data_offsets {offsets!r}")
    return dtype, shape, offsets


def _is_count(x) -> bool:
    return type(x) is int and x >= 0
