"""The gzip rules shared by the IDX reader and the fetcher: how a gzip stream starts, and
which exceptions mean that one is corrupt."""

from __future__ import annotations

import gzip
import zlib

# The two bytes every gzip stream starts with (RFC 1952): compression is recognized by
# them, never by a file's name.
GZIP_MAGIC = b"\x1f\x8b"

# What reading a damaged gzip stream raises: truncated (EOFError), a bad header or CRC
# (gzip.BadGzipFile), damaged deflate data (zlib.error).
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
