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

:func:`decode_header` reads the 8-byte length and the header alone, and checks every field
before anything else is read: a header of at most 100 MiB that lies within the file, JSON
holding at most :data:`MAX_MARKS` of the characters ``{``, ``[`` and ``,``, which bounds
its values (see :func:`parse_json`), a known dtype, at most 32 dimensions, each and the
product of the nonzero ones (in bytes) at most 2**48, each tensor's span exactly its size,
and spans that tile the data section without gap, overlap or trailing byte;
:func:`decode_tensors` then reads the tensors into new arrays, and
:func:`decode_safetensors` does both, from bytes or from a file. They parse JSON and copy
bytes: nothing is imported, unpickled or evaluated, so a hostile file can at worst be
rejected, with :class:`FormatError`. :func:`encode_safetensors` refuses, before it encodes
anything, what :func:`decode_header` would refuse to read back, and also text that UTF-8
cannot encode (see :func:`check_text`), which Python's JSON writes as an escape that other
readers of the format refuse.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from typing import BinaryIO

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
_SHAPES = (
    f"at most {_MAX_DIMS} dimensions, each and the product of the nonzero ones in bytes at "
    "most 2**48"
)
#: The most characters ``{``, ``[`` and ``,`` a JSON text of a file may hold (see
#: :func:`parse_json`). Every JSON value but the first opens an object or array or follows
#: a comma or a key (which follows a ``{`` or a comma), so this bounds what parsing builds,
#: which the 100 MiB bound on the header alone does not (``{}`` parses into 50 times its
#: bytes): a model file at this bound (``{"ab":0.0}`` 2**20 times in its metadata, 14 MB)
#: loads with a peak of 440 MB, one of 100 MiB without it took gigabytes. Real files hold
#: far fewer: a few per tensor and per metadata value, one per step loss in a checkpoint's
#: history (a run of 2 million steps; the shipped configs take 150,000 at most).
MAX_MARKS = 2**21


class FormatError(ValueError):
    """A file is not a valid chainrule file (truncated, malformed, or of another format)."""


def _stored(dtype: np.dtype) -> np.dtype:
    """``dtype`` in little-endian byte order, as a file stores it."""
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def check_storable(arrays: dict[str, np.ndarray]) -> None:
    """Raise naming the first array (by its key) that a file cannot store: ``TypeError``
    for a dtype it cannot hold, listing those it can: float64, float32, float16, int64,
    int32, int16, int8, uint8 and bool, in either byte order (unsigned integers wider than
    8 bits, complex, str, object and datetime arrays are refused), and for a masked array
    (``np.ma.MaskedArray``), whose mask a file has no place for (it would load back as a
    plain array of its data); ``ValueError`` for a shape :func:`decode_header` refuses
    (more than 32 dimensions, or an empty array whose nonzero dimensions span more than
    2**48 bytes). :func:`encode_safetensors` checks this before it encodes anything, and
    :func:`chainrule.io.check_extras` before training."""
    for name, arr in arrays.items():
        if isinstance(arr, np.ma.MaskedArray):
            raise TypeError(
                f"cannot store tensor {name!r} of type MaskedArray: expected a plain array, "
                "as the file cannot hold its mask (x.filled(value) gives one)"
            )
        arr = np.asarray(arr)
        if _stored(arr.dtype) not in _NAMES:
            storable = ", ".join(dt.name for dt in _DTYPES.values())
            raise TypeError(
                f"cannot store tensor {name!r} of dtype {arr.dtype}: expected one of {storable}"
            )
        if not _valid_shape(list(arr.shape), arr.dtype.itemsize):
            raise ValueError(
                f"cannot store tensor {name!r} of shape {arr.shape}: expected {_SHAPES}"
            )


def check_text(text: str, what: str) -> None:
    """``ValueError`` naming ``what`` unless UTF-8 can encode ``text``: a lone surrogate
    (``"\\udcff"``, which ``os.fsdecode`` makes of a file name's byte that is not UTF-8)
    cannot be, so no file holds it (Python's JSON writes it as an escape, which the
    safetensors library and other JSON readers refuse)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot store {what}: expected text UTF-8 can encode, got {text!r:.80}, which "
            f"holds the lone surrogate {text[exc.start]!r} at index {exc.start} (os.fsdecode "
            "makes one of each byte of a file name that is not UTF-8)"
        ) from None


def parse_json(text: bytes | str, source: str, what: str):
    """The value of the JSON ``text`` (UTF-8 bytes or a str), ``what`` of the file
    ``source``; :class:`FormatError` for bad UTF-8 or JSON, an integer of more than 4300
    digits (Python's limit), nesting deeper than Python's parser recurses, and, before
    parsing, a text holding more than :data:`MAX_MARKS` of the characters ``{``, ``[``
    and ``,`` (see there; strings' characters count too)."""
    try:
        text = text.decode("utf-8") if isinstance(text, bytes) else text
        marks = _marks(text)
        if marks > MAX_MARKS:
            raise FormatError(
                f"{source}: {what} holds {marks:,} of the characters '{{', '[' and ',', expected "
                f"at most {MAX_MARKS:,} (chainrule.files.safetensors.MAX_MARKS)"
            )
        return json.loads(text)
    except FormatError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, an int over 4300 digits
        raise FormatError(f"{source}: {what} is not valid JSON ({exc!r:.300})") from None


def _marks(text: str) -> int:
    """How many characters ``{``, ``[`` and ``,`` ``text`` holds (see :data:`MAX_MARKS`)."""
    return text.count("{") + text.count("[") + text.count(",")


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Serialize named arrays and string metadata to safetensors bytes.

    Refused before anything is encoded, as :func:`decode_header` would refuse the bytes:
    an array of a dtype the file cannot store, or a masked array (``TypeError``, see
    :func:`check_storable`); a tensor name that is not a ``str`` or a ``metadata`` that
    is not a dict of ``str`` to ``str`` (``TypeError``); a shape the reader refuses (see
    :func:`check_storable`), a tensor named ``"__metadata__"``, the header's entry for the
    metadata, a tensor name or metadata key or value that UTF-8 cannot encode (see
    :func:`check_text`), or a header of more than 100 MiB or :data:`MAX_MARKS` of the
    characters ``{``, ``[`` and ``,`` (``ValueError``).
    """
    check_storable(tensors)
    tensors = {name: np.asarray(arr) for name, arr in tensors.items()}
    head = encode_header(tensors, metadata)
    chunks = (
        np.ascontiguousarray(tensors[name], dtype=_stored(tensors[name].dtype)).tobytes()
        for name in sorted(tensors)
    )
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def encode_header(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The header :func:`encode_safetensors` writes for ``tensors`` (arrays it can store)
    and ``metadata``, padded to 8 bytes, without its length or the tensors' data; raises
    what that function refuses in a header (its names, its metadata, its size), so that
    what a file's header can hold is checked without encoding the data."""
    _check_header_input(tensors, metadata)
    header: dict = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        header[name] = {
            "dtype": _NAMES[_stored(arr.dtype)],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":"))
    marks = _marks(text)
    if marks > MAX_MARKS:
        raise ValueError(
            f"cannot store a header of {marks:,} of the characters '{{', '[' and ',': "
            f"expected at most {MAX_MARKS:,}, the most a reader takes (see "
            "chainrule.files.safetensors.MAX_MARKS); keep long lists in arrays"
        )
    head = text.encode()
    head += b" " * (-len(head) % 8)
    if len(head) > _MAX_HEADER:
        raise ValueError(
            f"cannot store a header of {len(head)} bytes: expected at most {_MAX_HEADER} "
            "(100 MiB), the most a reader takes; keep bulky data in arrays"
        )
    return head


def _check_header_input(tensors: dict, metadata) -> None:
    """Raise when the tensors' names or ``metadata`` cannot be a header's keys and
    ``"__metadata__"`` entry (see :func:`encode_safetensors`)."""
    for name in tensors:
        if not isinstance(name, str):
            raise TypeError(
                f"cannot store tensor {name!r}: expected a str name, got {type(name).__name__}"
            )
        check_text(name, "a tensor's name")
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
        check_text(key, "a metadata key")
        check_text(value, f"the metadata value at key {key!r:.80}")


def decode_safetensors(
    blob: bytes | BinaryIO, source: str = "file"
) -> tuple[dict[str, np.ndarray], dict]:
    """Parse safetensors bytes, or a binary file, into (arrays, metadata), validating every
    field first (see :func:`decode_header`); the arrays are new, which the caller may
    write to."""
    layout, metadata = decode_header(blob, source)
    return decode_tensors(blob, layout, source), metadata


def decode_header(blob: bytes | BinaryIO, source: str = "file") -> tuple[dict[str, tuple], dict]:
    """Parse and check the header of safetensors ``blob``: bytes, or a binary file open for
    reading that can seek, read from its start. Return (layout, metadata), where ``layout``
    maps each tensor's name to its (dtype, shape, offset from the start of ``blob``) for
    :func:`decode_tensors`. Only the 8-byte length and then the header are read, and every
    field is checked (see the module's docstring) before anything else is: a file costs
    the memory of its header, and of the JSON it parses into (see :func:`parse_json`);
    :class:`FormatError` (naming ``source``) for the first field that is wrong."""
    f = _binary(blob)
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size < 8:
        raise FormatError(f"{source}: {size} bytes is too short for a safetensors header")
    (n,) = struct.unpack("<Q", f.read(8))
    if n > min(_MAX_HEADER, size - 8):
        raise FormatError(
            f"{source}: header length {n} exceeds the file ({size} bytes); "
            "the file is truncated or not a chainrule/safetensors file"
        )
    header = parse_json(f.read(n), source, "the header")
    if not isinstance(header, dict):
        raise FormatError(f"{source}: expected a JSON object header, got {type(header).__name__}")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise FormatError(f"{source}: __metadata__ must map strings to strings")
    size -= 8 + n
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


def decode_tensors(
    blob: bytes | BinaryIO, layout: dict[str, tuple], source: str = "file"
) -> dict[str, np.ndarray]:
    """Read the tensors of ``layout`` (see :func:`decode_header`) out of ``blob``, the
    bytes or binary file it came from, each straight into a new array; :class:`FormatError`
    when a file ends before a tensor does (it shrank after its header was read)."""
    f, tensors = _binary(blob), {}
    for name, (dtype, shape, offset) in layout.items():
        array = np.empty(shape, dtype)
        f.seek(offset)
        if f.readinto(array.reshape(-1).view(np.uint8)) != array.nbytes:
            raise FormatError(
                f"{source}: the file ended within tensor {name!r}, which its header places at "
                f"bytes [{offset}, {offset + array.nbytes})"
            )
        tensors[name] = array
    return tensors


def _binary(blob: bytes | BinaryIO) -> BinaryIO:
    """``blob`` as a binary file: bytes (or a bytearray, a memoryview) in a BytesIO."""
    return io.BytesIO(blob) if isinstance(blob, bytes | bytearray | memoryview) else blob


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
    if not isinstance(shape, list) or not _valid_shape(shape, dtype.itemsize):
        raise FormatError(
            f"{source}: tensor {name!r} has an invalid shape {shape!r:.300} (expected "
            f"{_SHAPES}, of counts >= 0)"
        )
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise FormatError(f"{source}: tensor {name!r} has invalid data_offsets {offsets!r}")
    return dtype, shape, offsets


def _valid_shape(shape: list, itemsize: int) -> bool:
    """Whether a file may hold a tensor of ``shape`` (a list) and ``itemsize``: at most
    32 counts >= 0, each and the product of the nonzero ones, in bytes, at most 2**48
    (zeros count as ones: an empty array's other dimensions must still be sane)."""
    return (
        len(shape) <= _MAX_DIMS
        and all(_is_count(d) and d <= _MAX_BYTES for d in shape)
        and math.prod(max(d, 1) for d in shape) * itemsize <= _MAX_BYTES
    )


def _is_count(x) -> bool:
    return type(x) is int and x >= 0
