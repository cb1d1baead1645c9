"""Pure-data files: safetensors for arrays, JSON for everything else, written atomically.

A chainrule file is a `safetensors <https://github.com/huggingface/safetensors>`_ file:
an 8-byte little-endian header length, a JSON header describing each tensor (dtype, shape,
byte offsets), then the raw little-endian bytes. chainrule stores a JSON "tree" (nested
dicts and lists of strings, numbers, booleans and None) in the header's ``__metadata__``;
every array of the tree is replaced by a reference ``{"__tensor__": name}`` to a tensor of
the file, and every non-finite float (which JSON cannot hold: a best score still at inf, a
dev loss gone NaN) by ``{"__float__": "inf"}``, ``"-inf"`` or ``"nan"``. Reading parses
JSON and copies bytes: nothing is imported, unpickled or evaluated, so a hostile file can
at worst be rejected.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import struct
from pathlib import Path

import numpy as np

from chainrule import _checks

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
_TREE_KEY = "chainrule.tree"


class FormatError(ValueError):
    """A file is not a valid chainrule file (truncated, malformed, or of another format)."""


# -- atomic writes ---------------------------------------------------------------------
def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, which is flushed, fsynced and
    renamed over ``path`` (an atomic replace on POSIX and Windows); the directory is then
    fsynced so the rename itself survives a crash. As with a plain ``open(path, "w")``:
    a new file gets 0o666 less the umask, an existing one keeps its permissions, and a
    symbolic link has its target replaced (the link stays). Missing folders above
    ``path`` are made. Only a regular file is replaced: a FIFO, a device (``/dev/null``)
    or a socket at ``path`` is refused, never turned into a regular file.

    Raises
    ------
    TypeError
        ``path`` is not a ``str`` or ``os.PathLike``, or ``data`` is not bytes-like (bytes,
        bytearray or memoryview); checked before writing.
    ValueError
        ``path`` is a ``str`` ending in a path separator (``"models/"``: a directory's
        name); checked before writing.
    IsADirectoryError, NotADirectoryError, FileExistsError, PermissionError
        What :func:`file_blocker` finds, checked before writing: ``path`` is a directory;
        a folder above it is a file; ``path`` is a special file (FIFO, device, socket);
        ``path`` is a file this process may not write (a read-only file is not replaced)
        or the nearest existing folder above it is one it may not write in.
    """
    path = _checks.path("atomic_write", "path", path, file=True)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"atomic_write: data expected bytes, got {type(data).__name__} {data!r:.80}"
        )
    path = _target(path)
    problem = _file_problem(path)
    if problem is not None:
        error, why = problem
        raise error(f"cannot write {path}: {why}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def blocking_file(path: str | os.PathLike) -> Path | None:
    """What stops ``path`` from being made a directory (``mkdir(parents=True)``): ``path``
    itself or the nearest existing folder above it, when that exists and is not a
    directory; None when nothing does."""
    existing = _nearest_existing(Path(path))
    return None if existing.is_dir() else existing


def directory_blocker(path: str | os.PathLike, *, writable: bool = True) -> str | None:
    """Why ``path`` cannot be a directory to write in, or None, for the caller to prefix
    with what it was given for: ``"expected a directory or a path where one can be made,
    but <blocker> exists and is not a directory"`` (see :func:`blocking_file`), or, with
    ``writable`` (the default), ``"... but <folder> is not writable"`` when ``path``, or
    the nearest existing folder above it, is a directory this process may not write in
    (or enter). ``writable=False`` leaves permissions out, for a directory that may only
    be read."""
    path = Path(path)
    blocker = blocking_file(path)
    if blocker is not None:
        return (
            f"expected a directory or a path where one can be made, but {blocker} exists and "
            f"is not a directory"
        )
    folder = _nearest_existing(path)
    if writable and not os.access(folder, os.W_OK | os.X_OK):
        return f"expected a directory or a path where one can be made, but {folder} is not writable"
    return None


def file_blocker(path: str | os.PathLike) -> str | None:
    """Why :func:`atomic_write` would refuse to write a file at ``path``, or None; the
    first of: ``"<path> ends with '/' and so names a directory"`` (a ``str`` path, see
    :func:`chainrule._checks.trailing_separator`), ``"<path> is a directory"``, ``"<path>
    is a FIFO (named pipe), not a regular file"`` (or a character device, block device,
    socket: a special file is never replaced), ``"<folder> is a file"`` for the nearest
    existing folder above ``path`` (see :func:`blocking_file`), ``"<folder> is not
    writable"`` when this process may not write (or enter) that folder, and ``"<path> is
    read-only"`` for an existing file it may not write. A symbolic link is followed, as
    :func:`atomic_write` follows it, and its target named."""
    separator = _checks.trailing_separator(path)
    if separator is not None:
        return f"{path} ends with {separator!r} and so names a directory"
    problem = _file_problem(_target(Path(path)))
    return None if problem is None else problem[1]


#: The special files :func:`file_blocker` names (a mode test, then what it says).
_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _file_problem(path: Path) -> tuple[type[OSError], str] | None:
    """(error type, reason) for :func:`file_blocker` and :func:`atomic_write`, or None;
    ``path`` with its links already resolved."""
    try:
        mode = path.stat().st_mode
    except OSError:  # absent, below a file, or below a folder it may not enter
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        return IsADirectoryError, f"{path} is a directory"
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in _SPECIAL if test(mode)), "a special file")
        return FileExistsError, f"{path} is {kind}, not a regular file"
    blocker = blocking_file(path.parent)
    if blocker is not None:
        return NotADirectoryError, f"{blocker} is a file"
    folder = _nearest_existing(path.parent)
    if not os.access(folder, os.W_OK | os.X_OK):
        return PermissionError, f"{folder} is not writable"
    if mode is not None and not os.access(path, os.W_OK):
        return PermissionError, f"{path} is read-only"
    return None


def _target(path: Path) -> Path:
    """``path``, or the path a symbolic link there leads to (what a write replaces)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _nearest_existing(path: Path) -> Path:
    """``path`` or the nearest folder above it that exists; one this process may not
    look into counts as the last that exists."""
    return next(p for p in (path, *path.parents) if os.path.exists(p))


def _temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` for writing, and its name: created with the mode of
    ``path`` where that exists, else 0o666 less the umask (the kernel applies it, so the
    process's umask is never touched). Its name stays within 255 bytes however long
    ``path``'s is."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    stem = path.name.encode()[:200].decode(errors="ignore")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{stem}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666 if mode is None else mode)
        except FileExistsError:
            continue
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # the umask applied at creation; an overwrite keeps the mode
        return fd, tmp


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms where directories cannot be opened (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- safetensors codec -----------------------------------------------------------------
def _stored(dtype: np.dtype) -> np.dtype:
    """``dtype`` in little-endian byte order, as a file stores it."""
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def check_storable(arrays: dict[str, np.ndarray]) -> None:
    """Raise TypeError naming the first array (by its key) whose dtype a file cannot store,
    and listing the dtypes it can: float64, float32, float16, int64, int32, int16, int8,
    uint8 and bool, in either byte order. Unsigned integers wider than 8 bits, complex,
    str, object and datetime arrays are refused. :func:`encode_safetensors` checks this
    before it encodes anything, and :func:`chainrule.io.check_extras` before training."""
    for name, arr in arrays.items():
        dtype = np.asarray(arr).dtype
        if _stored(dtype) not in _NAMES:
            storable = ", ".join(dt.name for dt in _DTYPES.values())
            raise TypeError(
                f"cannot store tensor {name!r} of dtype {dtype}: expected one of {storable}"
            )


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Serialize named arrays and string metadata to safetensors bytes; TypeError (see
    :func:`check_storable`) for an array of a dtype the file cannot store."""
    tensors = {name: np.asarray(arr) for name, arr in tensors.items()}
    check_storable(tensors)
    header: dict = {"__metadata__": dict(metadata)} if metadata else {}
    chunks, offset = [], 0
    for name in sorted(tensors):
        arr = tensors[name]
        dtype = _stored(arr.dtype)
        raw = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        header[name] = {
            "dtype": _NAMES[dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def decode_safetensors(blob: bytes, source: str = "file") -> tuple[dict[str, np.ndarray], dict]:
    """Parse safetensors bytes into (arrays, metadata), validating every field first."""
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
    buffer = memoryview(blob)[8 + n :]
    spans, tensors = [], {}
    for name, entry in header.items():
        dtype, shape, (begin, end) = _check_entry(name, entry, source)
        expected = math.prod(shape) * dtype.itemsize
        if end - begin != expected or end > len(buffer):
            raise FormatError(
                f"{source}: tensor {name!r} of shape {tuple(shape)} needs {expected} bytes at "
                f"[{begin}, {end}), but the data section has {len(buffer)} bytes"
            )
        spans.append((begin, end))
        tensors[name] = np.frombuffer(buffer, dtype, math.prod(shape), begin).reshape(shape).copy()
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise FormatError(f"{source}: tensor data has a gap or overlap at byte {begin}")
        position = end
    if position != len(buffer):
        raise FormatError(
            f"{source}: {len(buffer) - position} trailing bytes after the last tensor"
        )
    return tensors, metadata


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


# -- trees of JSON and arrays ----------------------------------------------------------
_FLOAT_KEY = "__float__"
_NON_FINITE = ("inf", "-inf", "nan")
_MARKERS = ("__tensor__", _FLOAT_KEY)


def split_tree(tree, prefix: str = "") -> tuple[object, dict[str, np.ndarray]]:
    """Replace every array in a nested dict/list by a reference; return (skeleton, arrays).

    An array is named by its path of keys and indices joined by dots; where that name is
    taken (``{"a.b": x, "a": {"b": y}}``), ``#2``, ``#3``, ... is appended, so that no
    array replaces another. Dicts whose only key is one of the markers the skeleton uses
    (``__tensor__``, ``__float__``) are refused: they would read back as something else.
    """
    arrays: dict[str, np.ndarray] = {}

    def name(path):
        taken, n = path, 1
        while taken in arrays:
            n += 1
            taken = f"{path}#{n}"
        return taken

    def walk(node, path):
        if isinstance(node, np.ndarray):
            path = name(path)
            arrays[path] = node
            return {"__tensor__": path}
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise TypeError(f"keys must be strings, got {key!r} at {path or 'root'}")
            if len(node) == 1 and next(iter(node)) in _MARKERS:
                raise TypeError(
                    f"cannot store a dict whose only key is {next(iter(node))!r} at "
                    f"{path or 'root'}: the file uses it as a marker"
                )
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        if isinstance(node, np.generic):
            node = node.item()
        if isinstance(node, float) and not math.isfinite(node):
            return {_FLOAT_KEY: repr(node)}  # 'inf', '-inf' or 'nan'
        if node is None or isinstance(node, str | bool | int | float):
            return node
        raise TypeError(f"cannot store {type(node).__name__} at {path or 'root'}: not pure data")

    return walk(tree, prefix), arrays


def json_text(tree, indent: int | None = 1) -> str:
    """Strict JSON of a tree of plain data (no arrays), as the file header writes it: NumPy
    scalars as Python numbers, a non-finite float as ``{"__float__": "inf"}`` (``"-inf"``,
    ``"nan"``) instead of the ``Infinity`` and ``NaN`` that JSON parsers other than
    Python's refuse. ``TypeError`` for anything else."""
    skeleton, arrays = split_tree(tree)
    if arrays:
        raise TypeError(f"json_text: expected plain data, got arrays at {sorted(arrays)}")
    return json.dumps(skeleton, indent=indent, allow_nan=False)


def join_tree(skeleton, arrays: dict[str, np.ndarray], source: str = "file"):
    """Inverse of :func:`split_tree`; every reference must name an array of the file."""

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"__tensor__"}:
                name = node["__tensor__"]
                if not isinstance(name, str) or name not in arrays:
                    raise FormatError(f"{source}: reference to missing tensor {name!r}")
                return arrays[name]
            if set(node) == {_FLOAT_KEY}:
                value = node[_FLOAT_KEY]
                if value not in _NON_FINITE:
                    raise FormatError(
                        f"{source}: expected a non-finite float 'inf', '-inf' or 'nan', "
                        f"got {value!r:.40}"
                    )
                return float(value)
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(skeleton)


def write_tree(path: str | os.PathLike, tree: dict) -> None:
    """Atomically write a tree of JSON data and arrays as one safetensors file.

    ``TypeError``, before anything is written, for a ``path`` that is not a ``str`` or
    ``os.PathLike``, a ``tree`` that is not a dict (which :func:`read_tree` would refuse)
    or one that holds something that is not pure data (see :func:`split_tree`);
    ``ValueError`` for a ``str`` path ending in a path separator; then what
    :func:`atomic_write` raises for a path it cannot write."""
    path = _checks.path("write_tree", "path", path, file=True)
    if not isinstance(tree, dict):
        raise TypeError(f"write_tree: tree expected a dict, got {type(tree).__name__} {tree!r:.80}")
    skeleton, arrays = split_tree(tree)
    meta = {_TREE_KEY: json.dumps(skeleton, allow_nan=False, separators=(",", ":"))}
    atomic_write(path, encode_safetensors(arrays, meta))


def read_tree(path: str | os.PathLike) -> dict:
    """Read a file written by :func:`write_tree`; raises :class:`FormatError` if invalid,
    ``TypeError`` when ``path`` is not a ``str`` or ``os.PathLike``."""
    path = _checks.path("read_tree", "path", path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    tensors, metadata = decode_safetensors(path.read_bytes(), source=str(path))
    if _TREE_KEY not in metadata:
        raise FormatError(f"{path}: a safetensors file, but not one written by chainrule")
    try:
        skeleton = json.loads(metadata[_TREE_KEY])
    except (ValueError, RecursionError) as exc:  # bad JSON, an int over 4300 digits
        raise FormatError(
            f"{path}: malformed JSON in the chainrule metadata ({exc!r:.300})"
        ) from None
    if not isinstance(skeleton, dict):
        raise FormatError(f"{path}: expected a JSON object, got {type(skeleton).__name__}")
    try:
        return join_tree(skeleton, tensors, source=str(path))
    except RecursionError as exc:
        raise FormatError(f"{path}: malformed JSON in the chainrule metadata ({exc!r})") from None
