"""Output files that a crash never tears and a reader can trust.

- :func:`write_atomic` writes beside the target, flushes the bytes to disk (``fsync``) and only
  then renames over the target (and syncs the folder), so a kill at any moment leaves either
  the old file or the new one, never a torn one.
- :func:`sha256_file` / :func:`check_sha256`: the checksum every stored part and checkpoint
  carries (in its run's manifest, or in its own name), checked before anything is read.
- :func:`folder_lock`: one writer per output folder (an ``flock`` on ``DIR/.lock``), so two
  processes never write into one run or sweep folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from abm.errors import InputError

LOCK = ".lock"


def _fsync(path: Path) -> None:
    """Flush a file's bytes, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames into it) to disk."""
    _fsync(folder)


def write_atomic(path: Path, write: Callable[[Path], object], *, sync: bool = True) -> None:
    """Call ``write`` on a temporary name beside ``path``, fsync it, then rename it over
    ``path`` and fsync the folder, so the rename is on disk when this returns (with
    ``sync=False`` the caller calls :func:`sync_folder` later, once for many files)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if sync:
        sync_folder(path.parent)


def write_bytes(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda p: p.write_bytes(data), sync=sync)


def write_json(path: Path, data: dict, *, sync: bool = True) -> None:
    """Write ``data`` as indented JSON with sorted keys, atomically."""
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), sync=sync)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(path: Path, expected: str, what: str) -> bytes:
    """The bytes of ``path`` if their SHA-256 is ``expected``.

    Raises:
        InputError: naming the file, if it is missing or its checksum differs (damaged,
            truncated or replaced).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, "", f"{what} cannot be read ({exc.strerror})") from None
    if sha256_bytes(data) != expected:
        raise InputError(path, "", f"{what} is damaged: its checksum does not match the one "
                         "recorded when it was written (truncated, edited or replaced); it "
                         "cannot be trusted")
    return data


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created) while writing into it.

    Raises:
        InputError: another process holds the lock (it is writing into the same folder).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise InputError(folder, "", f"another process (pid {holder}) is writing into "
                             "this folder; wait for it to finish or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
