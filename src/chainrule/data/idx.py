"""The IDX file format of the MNIST database: reader and writer, raw or gzip-compressed.

An IDX file is a big-endian header followed by the array in row-major order::

    bytes 0-1   zero
    byte  2     data type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64)
    byte  3     number of dimensions d
    4 * d       each dimension as a big-endian uint32
    ...         prod(dims) items, big-endian

The reader checks every part of that and the exact file size (no missing and no trailing
bytes) before it returns anything.
"""

from __future__ import annotations

import gzip
import io
import math
import os
from typing import BinaryIO, NoReturn

import numpy as np

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data._gzip import GZIP_ERRORS, GZIP_MAGIC
from chainrule.files import atomic_write

__all__ = ["IDXFormatError", "is_idx", "read_idx", "write_idx"]

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
# the most dimensions an ndarray can have: NPY_MAXDIMS (64 since NumPy 2.0, the floor)
_MAX_NDIM = 64


class IDXFormatError(ValueError):
    """An IDX file is malformed: bad magic number, truncated, or sized unlike its header."""


def read_idx(file: str | os.PathLike | BinaryIO) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a native-endian array.

    Parameters
    ----------
    file : str, path-like or binary file object
        The file. Gzip compression is recognized by its magic bytes, not by the name. A
        file object is read from its current position; it may be unseekable (a pipe or
        socket).

    Returns
    -------
    numpy.ndarray
        A writable array with the header's shape and data type (``uint8`` for MNIST).

    Raises
    ------
    TypeError
        ``file`` is neither a ``str`` or ``os.PathLike`` (naming a ``str`` path) nor an
        object with a ``read`` method, checked before anything is read; or it is a text
        stream (``open(path)`` without ``"rb"``, ``io.StringIO``, or any object whose
        ``read`` returns ``str``), found by its type before anything is read or at its
        first ``read``.
    IDXFormatError
        The magic number is wrong (first two bytes not zero, unknown type code, zero
        dimensions), it declares more dimensions than a NumPy array can have (64;
        checked before the rest is read), the header or data is
        truncated, the file holds more bytes than the dimensions call for, the dimensions
        describe an array NumPy cannot represent (the non-zero dimensions times the item
        size above the largest ``intp``, even with a zero dimension and no data; checked
        before the data is read), or the gzip stream is corrupt.
    """
    if isinstance(file, str | os.PathLike):
        path = _checks.path("read_idx", "file", file)  # refuses one naming a bytes path
        with open(path, "rb") as f:
            return _read(f, str(path))
    if not hasattr(file, "read"):
        raise TypeError(
            "read_idx: file expected a path (str or os.PathLike) or a binary file object, "
            f"got {type(file).__name__} {file!r:.80}"
        )
    if isinstance(file, io.TextIOBase):
        _not_binary(file, "")
    return _read(file, getattr(file, "name", "<stream>"))


def is_idx(file: str | os.PathLike) -> bool:
    """Whether the file ``file`` starts as :func:`read_idx` requires: an IDX magic number (two
    zero bytes, one of the six type codes, at least one dimension), raw or at the start of a
    gzip stream (recognized by its magic bytes, as :func:`read_idx` does).

    Reads the first 4 bytes, or the first 4 decompressed ones, and no more of the stream:
    the rest is left to :func:`read_idx` to check. A damaged gzip header is no IDX file.
    ``TypeError`` when ``file`` is not a ``str`` or ``os.PathLike``; ``OSError`` when it
    cannot be opened.
    """
    path = _checks.path("is_idx", "file", file)
    with open(path, "rb") as f:
        head = f.read(4)
        if head[:2] == GZIP_MAGIC:
            f.seek(0)
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    head = stream.read(4)
            except GZIP_ERRORS:
                return False
    return _is_magic(head)


def _is_magic(magic: bytes) -> bool:
    """Whether ``magic`` is an IDX magic number: ``0x0000TTDD``, type code ``TT`` one of
    :data:`_DTYPES`, ``DD >= 1`` dimensions."""
    return len(magic) == 4 and magic[:2] == b"\0\0" and magic[2] in _DTYPES and magic[3] != 0


def write_idx(file: str | os.PathLike, array: np.ndarray, *, compress: bool = False) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``), atomically.

    Accepts the six IDX data types: uint8, int8, int16, int32, float32, float64.
    ``TypeError`` when ``file`` is not a ``str`` or ``os.PathLike``, ``compress`` not a
    bool, or the array of another type, and ``ValueError`` for a ragged list, an array of
    0 or more than 255 dimensions or one with a dimension of ``2**32`` or more (a header
    stores each as a uint32); checked before anything is written.
    """
    file = _checks.path("write_idx", "file", file, file=True)
    compress = _checks.boolean("write_idx", "compress", compress)
    array = as_array("write_idx", "array", array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(
            "write_idx: array expected an IDX type: uint8, int8, int16, int32, float32 or "
            f"float64, got {array.dtype}"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: array expected 1 to 255 dimensions, got {array.ndim}")
    if max(array.shape) >= 1 << 32:
        raise ValueError(
            "write_idx: array expected dimensions below 2**32 (the uint32 of an IDX header), "
            f"got shape {array.shape}"
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    # mtime=0: the same array gives the same bytes (gzip stores the time otherwise)
    atomic_write(file, gzip.compress(payload, mtime=0) if compress else payload)


def _read(f: BinaryIO, name: str) -> np.ndarray:
    if getattr(f, "seekable", lambda: False)():
        head = _binary(f, f.read(2))
        f.seek(-len(head), os.SEEK_CUR)
    else:  # a pipe or socket: the first bytes read are put back in front of the rest
        head = b""
        while len(head) < 2 and (more := _binary(f, f.read(2 - len(head)))):
            head += more
        f = io.BufferedReader(_Prefixed(head, f))
    if head == GZIP_MAGIC:
        stream: BinaryIO = gzip.GzipFile(fileobj=f, mode="rb")
        try:
            return _parse(stream, name, None)
        except GZIP_ERRORS as exc:
            raise IDXFormatError(f"{name}: corrupt gzip stream ({exc})") from exc
    return _parse(f, name, _remaining(f))


def _binary(f, data):
    """``data``, read from ``f``; TypeError when it is a text stream's str."""
    if isinstance(data, str):
        _not_binary(f, " whose read() returned str")
    return data


def _not_binary(file, detail: str) -> NoReturn:
    raise TypeError(
        "read_idx: file expected a binary file object (open(path, 'rb')), got a text "
        f"stream, {type(file).__name__}{detail} {file!r:.80}"
    )


class _Prefixed(io.RawIOBase):
    """An unseekable stream with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._head[: len(buffer)] or self._rest.read(len(buffer))
        self._head = self._head[len(data) :] if self._head else b""
        buffer[: len(data)] = data
        return len(data)


def _remaining(f: BinaryIO) -> int | None:
    """How many bytes a seekable raw stream holds from its position on, else None."""
    try:
        if not f.seekable():
            return None
        position = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(position)
    except (OSError, ValueError):
        return None
    return end - position


def _parse(f: BinaryIO, name: str, size: int | None) -> np.ndarray:
    """The array of the IDX stream ``f``; ``size``: the bytes it holds, when known."""
    magic = f.read(4)
    if len(magic) < 4:
        raise IDXFormatError(f"{name}: truncated header: expected 4 magic bytes, got {len(magic)}")
    if not _is_magic(magic):
        raise IDXFormatError(
            f"{name}: bad magic number 0x{magic.hex().upper()}: expected 0x0000TTDD with type "
            f"code TT in {{{', '.join(f'{c:02X}' for c in _DTYPES)}}} and DD >= 1 dimensions"
        )
    dtype, ndim = _DTYPES[magic[2]], magic[3]
    if ndim > _MAX_NDIM:
        raise IDXFormatError(
            f"{name}: expected at most {_MAX_NDIM} dimensions (NumPy's limit), got {ndim} "
            f"(magic number 0x{magic.hex().upper()})"
        )
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise IDXFormatError(
            f"{name}: truncated header: {ndim} dimensions need {4 * ndim} bytes, "
            f"got {len(raw_dims)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw_dims, ">u4"))
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no int64 wrap-around
    if size is not None and size - 4 - 4 * ndim < expected:
        _truncated(name, shape, expected, dtype, size - 4 - 4 * ndim)
    # NumPy bounds an array's extent, the product of its non-zero dimensions times the
    # item size, by the largest intp, even when a zero dimension leaves it empty
    extent = math.prod(d for d in shape if d) * dtype.itemsize
    if extent > np.iinfo(np.intp).max:
        raise IDXFormatError(
            f"{name}: dimensions {shape} of {dtype.newbyteorder('=').name} span {extent} bytes "
            f"(the non-zero dimensions times the item size), more than can be allocated: "
            f"expected at most {np.iinfo(np.intp).max} (NumPy's limit)"
        )
    try:
        # NOTE: pages of an untouched allocation are not committed, so a header that
        # overstates the size costs nothing until the truncation check below rejects it.
        data = np.empty(expected, np.uint8)
    except MemoryError as exc:
        raise IDXFormatError(
            f"{name}: dimensions {shape} call for {expected} bytes, more than can be allocated"
        ) from exc
    got = _read_into(f, data)
    if got < expected:
        _truncated(name, shape, expected, dtype, got)
    extra = len(f.read(1 << 16))
    if extra:
        raise IDXFormatError(
            f"{name}: dimensions {shape} need {expected} data bytes, but the file holds "
            f"{'at least ' if extra == 1 << 16 else ''}{extra} more (trailing data)"
        )
    array = data.view(dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def _truncated(name: str, shape: tuple, expected: int, dtype: np.dtype, got: int) -> NoReturn:
    raise IDXFormatError(
        f"{name}: truncated data: dimensions {shape} need {expected} bytes of "
        f"{dtype.newbyteorder('=').name}, the file holds {got}"
    )


def _read_into(f: BinaryIO, buffer: np.ndarray) -> int:
    """Fill ``buffer`` from ``f`` until it is full or the stream ends; return bytes read."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(view):
        n = f.readinto(view[filled:])
        if not n:
            break
        filled += n
    return filled
