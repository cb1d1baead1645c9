import contextlib
import functools
import gzip
import io
import os
import re
import threading
import time

import numpy as np
import pytest

from chainrule.data import IDXFormatError, is_idx, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _idx_bytes(code: int, dims: tuple[int, ...], data: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes() + data


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_type_raw_and_gzip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_reads_mnist_style_header_by_hand():
    labels = bytes([5, 0, 4, 1])
    raw = _idx_bytes(0x08, (4,), labels)
    assert raw[:8].hex() == "0000080100000004"  # the MNIST label magic 2049, then n = 4
    np.testing.assert_array_equal(read_idx(io.BytesIO(raw)), [5, 0, 4, 1])
    np.testing.assert_array_equal(read_idx(io.BytesIO(gzip.compress(raw))), [5, 0, 4, 1])


def test_big_endian_items_are_decoded():
    raw = _idx_bytes(0x0C, (2,), (1).to_bytes(4, "big") + (256).to_bytes(4, "big"))
    np.testing.assert_array_equal(read_idx(io.BytesIO(raw)), [1, 256])


GOOD = _idx_bytes(0x08, (2, 3), bytes(range(6)))

CORRUPT = {
    "header shorter than the magic": (GOOD[:3], "truncated header"),
    "first byte not zero": (b"\x01" + GOOD[1:], "bad magic number 0x01000802"),
    "unknown type code": (GOOD[:2] + b"\x07" + GOOD[3:], "bad magic number 0x00000702"),
    "zero dimensions": (GOOD[:3] + b"\x00", "DD >= 1"),
    "dims cut short": (GOOD[:9], "2 dimensions need 8 bytes, got 5"),
    "data cut short": (GOOD[:-1], r"dimensions \(2, 3\) need 6 bytes of uint8, the file holds 5"),
    "trailing bytes": (GOOD + b"\x00\x00", r"holds 2 more \(trailing data\)"),
    "dims disagree with size": (
        _idx_bytes(0x08, (3, 3), bytes(6)),
        r"dimensions \(3, 3\) need 9 bytes",
    ),
    "int32 data not a whole item": (
        _idx_bytes(0x0C, (2,), bytes(7)),
        "need 8 bytes of int32, the file holds 7",
    ),
    "gzip stream cut short": (gzip.compress(GOOD)[:-12], "corrupt gzip stream"),
}


@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
def test_corrupt_files_raise_clear_errors(tmp_path, case):
    data, message = CORRUPT[case]
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("code", "dims"),
    [(0x0E, (1 << 31, 1 << 31, 1 << 31)), (0x08, (1 << 16,) * 4), (0x0E, (1 << 31, 1 << 31, 4))],
    ids=["huge", "wraps-to-zero", "wraps-to-zero-float64"],
)
def test_absurd_dimensions_are_rejected_without_allocating_them(code, dims):
    raw = _idx_bytes(code, dims, b"")  # sizes whose product wraps to 0 in int64 included
    # a raw file's size is known: the header is compared with it
    with pytest.raises(IDXFormatError, match="truncated data: .* the file holds 0$"):
        read_idx(io.BytesIO(raw))
    # a gzip stream's is not: the allocation fails
    with pytest.raises(IDXFormatError, match="more than can be allocated"):
        read_idx(io.BytesIO(gzip.compress(raw)))


def test_a_truncated_raw_file_is_reported_as_truncated_whatever_its_header_claims(tmp_path):
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x08, (100_000, 1000, 1000), b"abcd"))
    with pytest.raises(IDXFormatError, match=r"need 100000000000 bytes .*, the file holds 4$"):
        read_idx(path)


def _open_idx(tmp_path, raw: bytes, source: str):
    """A binary stream of the IDX bytes ``raw``: a file, a gzip file, or a pipe."""
    path = tmp_path / "empty-idx3-ubyte"
    path.write_bytes(gzip.compress(raw) if source == "gzip" else raw)
    if source != "pipe":
        return open(path, "rb")
    read_end, write_end = os.pipe()
    os.write(write_end, raw)  # a few bytes: the pipe's buffer holds them
    os.close(write_end)
    return open(read_end, "rb")


@pytest.mark.parametrize("source", ["raw", "gzip", "pipe"])
@pytest.mark.parametrize(
    ("code", "dims", "extent"),
    [
        (0x08, (0, (1 << 32) - 1, (1 << 32) - 1), ((1 << 32) - 1) ** 2),
        (0x0E, (0, 1 << 30, 1 << 30), 1 << 63),
    ],
    ids=["uint8", "float64"],
)
def test_an_empty_array_numpy_cannot_shape_is_a_format_error(tmp_path, source, code, dims, extent):
    # a zero dimension makes it 0 bytes, but NumPy bounds the other dimensions' product too
    raw = _idx_bytes(code, dims, b"")
    with _open_idx(tmp_path, raw, source) as f, pytest.raises(IDXFormatError) as info:
        read_idx(f)
    message = str(info.value)
    assert message.startswith(f"{f.name}: dimensions {dims} of ")
    assert f"span {extent} bytes" in message
    assert message.endswith(f"expected at most {np.iinfo(np.intp).max} (NumPy's limit)")


@pytest.mark.parametrize("source", ["raw", "gzip", "pipe"])
@pytest.mark.parametrize(
    ("code", "dims"),
    [(0x08, (0, 1 << 31, 1 << 31)), (0x0E, (0, 1 << 30, (1 << 30) - 1))],
    ids=["uint8", "float64"],
)
def test_an_empty_array_within_numpys_limit_is_read(tmp_path, source, code, dims):
    with _open_idx(tmp_path, _idx_bytes(code, dims, b""), source) as f:
        array = read_idx(f)
    assert array.shape == dims
    assert array.size == 0


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("buffering", [0, -1], ids=["raw", "buffered"])
def test_reads_from_an_unseekable_pipe(tmp_path, compress, buffering):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array, compress=compress)
    data = (tmp_path / "a.idx").read_bytes()
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, data), os.close(write_end)))
    writer.start()
    with open(read_end, "rb", buffering=buffering) as pipe:
        assert not pipe.seekable()
        np.testing.assert_array_equal(read_idx(pipe), array)
    writer.join()


def test_write_rejects_types_idx_cannot_store(tmp_path):
    expected = "uint8, int8, int16, int32, float32 or float64, got int64$"
    with pytest.raises(TypeError, match="^write_idx: array expected an IDX type: " + expected):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="^write_idx: array expected 1 to 255 dimensions, got 0$"):
        write_idx(tmp_path / "x", np.uint8(3))
    assert not (tmp_path / "x").exists()


def test_write_compress_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="write_idx: compress expected True or False, got 'no'"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint8), compress="no")
    assert not (tmp_path / "x").exists()


def test_a_failed_write_leaves_the_file_there_whole(tmp_path, monkeypatch):
    from chainrule.data import idx

    path = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(path, np.arange(3, dtype=np.uint8), compress=True)
    before = path.read_bytes()

    def fails(data, mtime=None):
        raise MemoryError("no room to compress")

    monkeypatch.setattr(idx.gzip, "compress", fails)
    with pytest.raises(MemoryError):
        write_idx(path, np.arange(5, dtype=np.uint8), compress=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_gzip_file_read_from_an_offset_past_the_buffer(tmp_path):
    # peek would have seen only the buffer's last byte, 0x1f, and taken the file as raw
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array, compress=True)
    (tmp_path / "b").write_bytes(b"x" * 8191 + (tmp_path / "a.idx").read_bytes())
    with open(tmp_path / "b", "rb") as f:
        f.read(8191)
        np.testing.assert_array_equal(read_idx(f), array)


def test_a_pipe_whose_first_write_is_one_byte():
    array = np.arange(6, dtype=np.uint8)
    data = gzip.compress(bytes([0, 0, 8, 1]) + np.asarray([6], ">u4").tobytes() + bytes(range(6)))
    read_end, write_end = os.pipe()

    def feed():
        os.write(write_end, data[:1])
        time.sleep(0.05)
        os.write(write_end, data[1:])
        os.close(write_end)

    writer = threading.Thread(target=feed)
    writer.start()
    with open(read_end, "rb") as pipe:
        np.testing.assert_array_equal(read_idx(pipe), array)
    writer.join()


def test_compressed_files_of_one_array_are_the_same_bytes(tmp_path, monkeypatch):
    # gzip stored the write time in its header
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "a.idx.gz", array, compress=True)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    write_idx(tmp_path / "b.idx.gz", array, compress=True)
    assert (tmp_path / "a.idx.gz").read_bytes() == (tmp_path / "b.idx.gz").read_bytes()


class _TextPipe:
    """An unseekable text stream, like sys.stdin: ``read`` returns str."""

    def __init__(self, text):
        self._text = io.StringIO(text)

    def read(self, n=-1):
        return self._text.read(n)

    def close(self):
        self._text.close()


class _SeekableText(_TextPipe):
    """A seekable text stream that is no io.TextIOBase."""

    def seekable(self):
        return True

    def seek(self, offset, whence=os.SEEK_SET):
        return self._text.seek(offset, whence)


@pytest.mark.parametrize("opener", ["open-text", "StringIO", "text-pipe", "seekable-text"])
def test_a_text_stream_is_refused_as_not_binary(tmp_path, opener):
    # open(path) without "rb": io.UnsupportedOperation "can't do nonzero cur-relative
    # seeks"; StringIO: OSError; an unseekable text stream: "can't concat str to bytes"
    path = tmp_path / "a.idx"
    write_idx(path, np.arange(6, dtype=np.uint8))
    text = path.read_bytes().decode("latin-1")
    make = {
        "open-text": functools.partial(open, path, encoding="latin-1"),
        "StringIO": lambda: io.StringIO(text),
        "text-pipe": lambda: _TextPipe(text),
        "seekable-text": lambda: _SeekableText(text),
    }[opener]
    with (
        contextlib.closing(make()) as stream,
        pytest.raises(
            TypeError,
            match=r"read_idx: file expected a binary file object \(open\(path, 'rb'\)\), "
            r"got a text stream",
        ),
    ):
        read_idx(stream)


@pytest.mark.parametrize("file", [7, None, b"x.idx", ["x.idx"]], ids=lambda f: type(f).__name__)
def test_a_file_that_is_neither_a_path_nor_a_file_object_is_refused_by_name(
    tmp_path, monkeypatch, file
):
    # read: AttributeError "'int' object has no attribute 'read'"; write: pathlib's
    # TypeError naming nothing, after the array was encoded
    monkeypatch.chdir(tmp_path)
    got = rf", got {type(file).__name__}"
    with pytest.raises(
        TypeError,
        match=r"read_idx: file expected a path \(str or os.PathLike\) "
        r"or a binary file object" + got,
    ):
        read_idx(file)
    with pytest.raises(
        TypeError, match=r"write_idx: file expected a path \(str or os.PathLike\)" + got
    ):
        write_idx(file, np.zeros(3, np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_write_idx_refuses_a_path_ending_in_a_separator(tmp_path):
    # Path dropped the "/" and wrote a file named "images"
    with pytest.raises(ValueError, match="write_idx: file expected a file path, got .* names a"):
        write_idx(f"{tmp_path / 'images'}/", np.zeros((2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("ndim", [65, 255])
def test_more_dimensions_than_numpy_allows_are_refused_before_the_rest_is_read(
    tmp_path, compress, ndim
):
    # only the magic number: the dimension count is refused before the dimensions are read
    raw = bytes([0, 0, 0x08, ndim])
    path = tmp_path / "many-dims-idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(
        IDXFormatError, match=rf"^{path}: expected at most 64 dimensions .*, got {ndim} "
    ):
        read_idx(path)


def test_a_zero_size_array_of_65_dimensions_is_refused_by_its_count():
    raw = _idx_bytes(0x08, (0,) + (1,) * 64, b"")
    with pytest.raises(IDXFormatError, match="expected at most 64 dimensions .*, got 65"):
        read_idx(io.BytesIO(raw))


@pytest.mark.parametrize("shape", [(0, 1 << 32), (1 << 32 | 5, 0)])
def test_write_refuses_a_dimension_a_uint32_cannot_hold(tmp_path, shape):
    with pytest.raises(
        ValueError,
        match=r"^write_idx: array expected dimensions below 2\*\*32 .*, got shape "
        + re.escape(f"{shape}")
        + "$",
    ):
        write_idx(tmp_path / "x", np.zeros(shape, np.uint8))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("compress", [False, True])
def test_is_idx_recognizes_what_write_idx_writes_whatever_its_name(tmp_path, compress):
    path = tmp_path / "points.bin"
    write_idx(path, np.zeros((2, 3), np.float32), compress=compress)
    assert is_idx(path)


@pytest.mark.parametrize(
    "content",
    [
        b"x,y\n1,2\n",  # a CSV file
        bytes([0, 0, 0x07, 1]),  # 0x07 is no IDX type code
        bytes([0, 0, 0x08, 0]),  # no dimensions
        b"\x1f\x8b\x08\x00broken",  # a damaged gzip header
        gzip.compress(b"PK\x03\x04"),  # a gzip stream holding no IDX magic
    ],
)
def test_is_idx_refuses_other_files(tmp_path, content):
    path = tmp_path / "data.idx"
    path.write_bytes(content)
    assert not is_idx(path)
