"""Atomic file writes, and why a path cannot take a file or a directory.

:func:`atomic_write` replaces a file so that a reader sees the old content or the new one,
never half of it: the bytes go to a temporary file beside the target, which is fsynced and
renamed over it, and the folder is fsynced after the rename. :func:`file_blocker` and
:func:`directory_blocker` (with :func:`blocking_file`) say, before any work is done, why
such a write, or a folder to write in, cannot be made at a path, so that a command can
refuse its arguments instead of failing after the work it was to save; and
:func:`special_file` what a path that is no regular file to read is.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from chainrule import _checks


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
    IsADirectoryError, NotADirectoryError, FileExistsError, PermissionError, OSError
        What :func:`file_blocker` finds, checked before writing: ``path`` is a directory;
        a folder above it is a file, or a symbolic link to a path that does not exist
        (``FileExistsError``); ``path`` is a special file (FIFO, device, socket);
        ``path`` is a file this process may not write (a read-only file is not replaced)
        or the nearest existing folder above it is one it may not write in; ``path``
        leads into a loop of symbolic links (``OSError``).
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
    (or enter), and ``"... but <part> leads into a loop of symbolic links"`` or ``"... but
    <part> is a symbolic link to a path that does not exist"`` for ``path`` or a folder
    above it (see :func:`_unfollowable`). ``writable=False`` leaves permissions out, for a
    directory that may only be read."""
    path = Path(path)
    unfollowable = _unfollowable(path)
    if unfollowable is not None:
        return f"expected a directory or a path where one can be made, but {unfollowable}"
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
    existing folder above ``path`` (see :func:`blocking_file`), ``"<folder> is a symbolic
    link to a path that does not exist"`` for a folder above ``path`` (where no folder can
    be made; see :func:`_unfollowable`), ``"<folder> is not writable"`` when this process
    may not write (or enter) the nearest existing folder, and ``"<path> is read-only"``
    for an existing file it may not write. A symbolic link is followed, as
    :func:`atomic_write` follows it, and its target named; ``"<path> leads into a loop of
    symbolic links"`` where following them never ends (``ELOOP``: a link to itself, or
    links to each other, at ``path`` or a folder above it)."""
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


def special_file(path: str | os.PathLike) -> str | None:
    """What ``path`` is (links followed) when it exists but is neither a regular file nor
    a directory: ``"a FIFO (named pipe)"``, ``"a character device"``, ``"a block
    device"``, ``"a socket"`` (or ``"a special file"``); None otherwise, absent included.
    Reading one as a file would block (a FIFO) or read what is no file's content."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else _special_kind(mode)


def _special_kind(mode: int) -> str:
    """The kind of special file of ``mode``, as :data:`_SPECIAL` names it."""
    return next((name for test, name in _SPECIAL if test(mode)), "a special file")


def _file_problem(path: Path) -> tuple[type[OSError], str] | None:
    """(error type, reason) for :func:`file_blocker` and :func:`atomic_write`, or None;
    ``path`` with its links already resolved."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:  # absent, below a file, or below a folder it may not enter
        if exc.errno == errno.ELOOP:
            return OSError, f"{path} leads into a loop of symbolic links"
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        return IsADirectoryError, f"{path} is a directory"
    if mode is not None and not stat.S_ISREG(mode):
        return FileExistsError, f"{path} is {_special_kind(mode)}, not a regular file"
    blocker = blocking_file(path.parent)
    if blocker is not None:
        return NotADirectoryError, f"{blocker} is a file"
    unfollowable = _unfollowable(path.parent)  # a link to nowhere: mkdir cannot pass it
    if unfollowable is not None:
        return FileExistsError, unfollowable
    folder = _nearest_existing(path.parent)
    if not os.access(folder, os.W_OK | os.X_OK):
        return PermissionError, f"{folder} is not writable"
    if mode is not None and not os.access(path, os.W_OK):
        return PermissionError, f"{path} is read-only"
    return None


def _target(path: Path) -> Path:
    """``path``, or the path a symbolic link there leads to (what a write replaces)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _unfollowable(path: Path) -> str | None:
    """Where following symbolic links from the top of ``path`` down fails, so that
    ``mkdir`` cannot make it: ``"<part> leads into a loop of symbolic links"`` (``ELOOP``)
    or ``"<part> is a symbolic link to a path that does not exist"``; None when every part
    exists or the first missing one is no link (one ``mkdir`` can make)."""
    for p in reversed((path, *path.parents)):
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"{p} leads into a loop of symbolic links"
            if os.path.islink(p):
                return f"{p} is a symbolic link to a path that does not exist"
            return None
    return None


def _nearest_existing(path: Path) -> Path:
    """``path`` or the nearest folder above it that exists; one this process may not
    look into counts as the last that exists."""
    return next(p for p in (path, *path.parents) if os.path.exists(p))


def _temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` for writing, and its name: created with the mode of
    ``path`` where that exists, else 0o666 less the umask (the kernel applies it, so the
    process's umask is never touched). Its name stays within 255 bytes however long
    ``path``'s is, counted as the file system gets them (``os.fsencode``: a name that is
    not UTF-8, which ``os.fsdecode`` gave as surrogates, keeps its bytes)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    stem = path.name[:200]  # each character takes at least one byte
    while len(os.fsencode(stem)) > 200:
        stem = stem[:-1]
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
