"""The file an appending export writes (annotate.services.exports._HashingFile): whatever the
sizes of the writes, the file holds exactly those bytes and the hash is theirs, with direct I/O
or, where the filesystem refuses it, through the page cache."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import random

import pytest

from annotate.services import exports
from annotate.services.exports import _fsync_close, _HashingFile

BLOCK = 4096


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch):
    monkeypatch.setattr(_HashingFile, "BLOCK", BLOCK)
    monkeypatch.setattr(_HashingFile, "SYNC_BYTES", 3 * BLOCK)


def _pieces(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sizes = [0, 1, BLOCK - 1, 1, BLOCK, 3 * BLOCK + 17, 5, 0, 2 * BLOCK] + [rng.randrange(1, 9000) for _ in range(40)]
    return [rng.randbytes(n) for n in sizes]


def _write(path, pieces) -> _HashingFile:
    fh = _HashingFile(path)
    for piece in pieces:
        assert fh.write(piece) == len(piece)
    fh.write(bytearray(b"a bytearray"))
    fh.write(memoryview(b"..and a memoryview slice..")[2:-2])
    _fsync_close(fh)
    return fh


def _expected(pieces) -> bytes:
    return b"".join(pieces) + b"a bytearray" + b"and a memoryview slice"


def test_the_file_holds_every_write_in_order_and_the_hash_is_of_those_bytes(tmp_path):
    pieces = _pieces(1)
    fh = _write(tmp_path / "out.tmp", pieces)
    data = (tmp_path / "out.tmp").read_bytes()
    assert data == _expected(pieces) and fh.hexdigest() == hashlib.sha256(data).hexdigest()
    if hasattr(os, "O_DIRECT"):
        assert fh.direct is False  # the tail went without O_DIRECT: a partial block cannot


def test_a_filesystem_that_refuses_direct_io_at_open_gets_the_same_file(tmp_path, monkeypatch):
    real_open = os.open

    def no_direct(path, flags, *args):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(exports.os, "open", no_direct)
    pieces = _pieces(2)
    fh = _HashingFile(tmp_path / "out.tmp")
    assert fh.direct is False
    for piece in pieces:
        fh.write(piece)
    fh.write(b"a bytearray" + b"and a memoryview slice")
    _fsync_close(fh)
    data = (tmp_path / "out.tmp").read_bytes()
    assert data == _expected(pieces) and fh.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no O_DIRECT on this platform")
def test_a_filesystem_that_refuses_direct_writes_gets_the_same_file(tmp_path, monkeypatch):
    real_write = os.write
    refused = []

    def refuse_direct(fd, data):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(exports.os, "write", refuse_direct)
    pieces = _pieces(3)
    fh = _write(tmp_path / "out.tmp", pieces)
    data = (tmp_path / "out.tmp").read_bytes()
    assert refused == [BLOCK]  # the first block, then never again
    assert data == _expected(pieces) and fh.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_full_disk_is_raised_to_the_export_not_lost_in_the_writing_thread(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exports.os, "write", full)
    fh = _HashingFile(tmp_path / "out.tmp")
    with pytest.raises(OSError, match="No space left"):
        for _ in range(4):
            fh.write(b"x" * BLOCK)
        fh.finish()
    fh.close()
    assert fh.closed
