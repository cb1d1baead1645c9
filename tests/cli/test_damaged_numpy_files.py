"""``chainrule predict`` and ``evaluate`` on damaged .npy and .npz files: every damage is a
usage error (exit 2) naming the file as damaged, as a bad CRC was; the errors of the
tokenizer, zlib, lzma, bz2 and the zipfile module reached the user as bare library errors
(exit 1)."""

import errno
import io
import struct
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main


@pytest.fixture
def model(tmp_path):
    return cr.save(nn.MLP([3, 2], seed=0), tmp_path / "m.safetensors")


def _archive(method=zipfile.ZIP_DEFLATED) -> bytearray:
    """An .npz archive of X (4 x 3) and y, its members compressed by ``method``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, array in (("X", np.linspace(0, 1, 12).reshape(4, 3)), ("y", np.arange(4) % 2)):
            member = io.BytesIO()
            np.save(member, array)
            archive.writestr(f"{name}.npy", member.getvalue())
    return bytearray(buffer.getvalue())


def _offsets(blob: bytearray, signature: bytes):
    at = blob.find(signature)
    while at >= 0:
        yield at
        at = blob.find(signature, at + 1)


def _first_data(blob: bytearray) -> int:
    """Where the first member's compressed data starts, after its local header."""
    name_length, extra_length = struct.unpack_from("<HH", blob, 26)
    return 30 + name_length + extra_length


def _set_flags_and_method(blob: bytearray, flags: int = 0, method: int | None = None):
    for at in _offsets(blob, b"PK\x03\x04"):  # local headers: flags at 6, method at 8
        blob[at + 6] |= flags
        if method is not None:
            struct.pack_into("<H", blob, at + 8, method)
    for at in _offsets(blob, b"PK\x01\x02"):  # central directory: flags at 8, method at 10
        blob[at + 8] |= flags
        if method is not None:
            struct.pack_into("<H", blob, at + 10, method)
    return blob


def _bad_header_npy() -> bytearray:
    """A .npy file whose header's ``{'descr'`` reads ``{(descr'``: a tokenizer error."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 3)))
    blob = bytearray(buffer.getvalue())
    blob[11] = ord("(")
    return blob


def _corrupt(method, at: int, value: int) -> bytearray:
    """An archive whose first member's compressed data has byte ``at`` set to ``value``:
    a deflate block of type 3 (invalid), a bz2 block without its magic number, lzma
    properties it refuses."""
    blob = _archive(method)
    blob[_first_data(blob) + at] = value
    return blob


def _shifted_directory() -> bytearray:
    """An archive whose end record places the central directory 1000 bytes later than
    it is: every member's header offset is read as 1000 bytes before its place."""
    blob = _archive()
    end = blob.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<I", blob, end + 16)[0]
    struct.pack_into("<I", blob, end + 16, offset + 1000)
    return blob


@pytest.mark.parametrize(
    ("name", "blob", "detail"),
    [
        ("x.npy", _bad_header_npy(), "EOF in multi-line statement"),
        ("d.npz", _corrupt(zipfile.ZIP_DEFLATED, 0, 0x07), "invalid block type"),
        ("d.npz", _corrupt(zipfile.ZIP_BZIP2, 4, 0), "Invalid data stream"),
        ("d.npz", _corrupt(zipfile.ZIP_LZMA, 4, 0xFF), "Invalid or unsupported options"),
        (
            "d.npz",
            _set_flags_and_method(_archive(), flags=1),
            "member 'X.npy' is encrypted, which numpy.savez never does",
        ),
        (
            "d.npz",
            _set_flags_and_method(_archive(), method=99),
            "That compression method is not supported",
        ),
        ("d.npz", _set_flags_and_method(_archive(), flags=1 << 6), "strong encryption"),
        ("d.npz", _shifted_directory(), "member 'X.npy' is placed at offset -1000, outside"),
    ],
)
def test_a_damaged_file_is_a_usage_error_naming_it_damaged(
    capsys, model, tmp_path, name, blob, detail
):
    path = tmp_path / name
    path.write_bytes(blob)
    if name.endswith(".npy"):
        args = ["predict", str(model), str(path)]
    else:
        args = ["evaluate", str(model), "--data", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    suffix = path.suffix
    assert f"chainrule: error: {path}: a damaged {suffix} file (" in err
    assert detail in err


def test_the_systems_read_errors_are_not_called_damage(capsys, monkeypatch, model, tmp_path):
    """A file the system fails to read (an OSError with an errno) is not a damaged file."""

    def failing_load(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    path = tmp_path / "d.npz"
    path.write_bytes(_archive())
    monkeypatch.setattr(np, "load", failing_load)
    assert main(["evaluate", str(model), "--data", str(path)]) == 1
    err = capsys.readouterr().err
    assert "OSError: [Errno 5] Input/output error" in err and "damaged" not in err


def _npy_header(shape, descr="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _zip64_claiming(claim: int, data: bytes) -> bytes:
    """A stored zip64 archive of X.npy and y.npy, each ``data``, whose local and central
    headers both declare ``claim`` bytes, compressed and not, for each member."""
    body, directory = b"", b""
    for name in (b"X.npy", b"y.npy"):
        extra = struct.pack("<HHQQ", 1, 16, claim, claim)
        sizes = (0, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra))
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, *sizes)
        directory += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, *sizes, 0, 0, 0, 0, len(body)
            )
            + name
            + extra
        )
        body += local + name + extra + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(directory), len(body), 0)
    return body + directory + end


def test_an_npz_member_claiming_more_than_the_file_holds_is_refused_before_allocating(
    capsys, model, tmp_path
):
    """A 658-byte archive whose members declare 2**40 bytes each (stored, so the declared
    compressed size bounded nothing) made NumPy allocate 1 TiB: a bare MemoryError."""
    path = tmp_path / "huge.npz"
    path.write_bytes(_zip64_claiming(2**40, _npy_header((2**37 - 16,)) + bytes(64)))
    assert main(["evaluate", str(model), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"chainrule: error: {path}: member 'X.npy': a damaged or truncated file" in err
    assert "MemoryError" not in err


@pytest.mark.parametrize(("shape", "descr"), [((0, 2**70), "<f8"), ((2**70, 3), "|V0")])
def test_a_shape_beyond_numpys_limit_is_damage_even_when_empty(
    capsys, model, tmp_path, shape, descr
):
    """A zero dimension (or item size) made the declared bytes 0, so the header passed, and
    NumPy's count of the entries overflowed: a bare OverflowError."""
    path = tmp_path / "z.npy"
    path.write_bytes(_npy_header(shape, descr))
    assert main(["predict", str(model), str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        f"chainrule: error: {path}: a damaged file: its header declares an array of shape {shape}"
        in err
    )
    assert "expected at most 9,223,372,036,854,775,807 (NumPy's limit)" in err


def _npz_of(x_npy: bytes) -> bytes:
    """An .npz archive whose X.npy is ``x_npy`` and whose y.npy is a valid label array."""
    buffer, labels = io.BytesIO(), io.BytesIO()
    np.save(labels, np.arange(4) % 2)
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", x_npy)
        archive.writestr("y.npy", labels.getvalue())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (
            _npy_header((4, 3), "<,8"),
            "its header's descr is not a dtype NumPy parses (invalid syntax: ',8')",
        ),
        (
            _npy_header((True, 12)),
            "its header declares an array of shape (True, 12): expected integers, got a bool",
        ),
    ],
)
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_header_numpys_check_passes_but_its_reader_fails_on_is_damage(
    capsys, model, tmp_path, header, detail, suffix
):
    """A comma-string descr whose repeats do not parse and a bool dimension pass NumPy's
    header check; its reader then raised a bare SyntaxError (from ast.literal_eval) or
    TypeError (from reshape): exit 1, the file not named."""
    npy = header + bytes(96)
    path = tmp_path / f"d{suffix}"
    path.write_bytes(npy if suffix == ".npy" else _npz_of(npy))
    if suffix == ".npy":
        args = ["predict", str(model), str(path)]
    else:
        args = ["evaluate", str(model), "--data", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    member = "" if suffix == ".npy" else "member 'X.npy': "
    assert f"chainrule: error: {path}: {member}a damaged file: {detail}" in err
