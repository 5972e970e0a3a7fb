"""Output files that a crash never tears and a reader can trust.

- :func:`write_atomic` writes beside the target, flushes the bytes to disk (``fsync``) and only
  then renames over the target (and syncs the folder), so a kill at any moment leaves either
  the old file or the new one, never a torn one.
- :func:`sha256_file` / :func:`check_sha256`: the checksum every stored part and checkpoint
  carries (in its run's manifest, or in its own name), checked before anything is read.
- :func:`folder_lock`: one writer per output folder (an ``flock`` on ``DIR/.lock``), so two
  processes never write into one run or sweep folder.
- :func:`read_input`: every file the tool reads (a scenario, a trace, a stored part) is opened
  only as what it claims to be, a regular file (never a FIFO, a device or a folder: nothing
  blocks), and read only up to a bound the caller names (``abm/config/limits.py``).
- :func:`read_json` / :func:`check_shape`: a stored JSON file is parsed with every failure
  caught (truncated, random bytes, nested too deep) and held to the shape its writer gives it
  (a list where an object belongs, a missing key or a string for a number is an error naming
  the file and the field), so no byte sequence ends in a traceback.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from abm.errors import InputError

LOCK = ".lock"
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _size(n: int) -> str:
    """A byte count as people read it: 64 MiB, 1.5 GiB, 200 bytes."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _open_input(name: str, max_bytes: int, what: str) -> int:
    """A descriptor of the regular file ``name`` of at most ``max_bytes`` (opened without
    blocking, so a FIFO or a device never hangs); an InputError naming it otherwise."""
    if "\x00" in name:
        raise InputError(name, "", f"the path holds a NUL character; expected {what}")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(name, "", f"file not found; expected {what}") from None
    except OSError as exc:
        raise InputError(name, "", f"cannot be read ({exc.strerror}); expected {what}") from None
    try:
        mode = os.fstat(fd)
        for test, kind in _KINDS:
            if test(mode.st_mode):
                raise InputError(name, "", f"is {kind}, not a regular file; expected {what}")
        if not stat.S_ISREG(mode.st_mode):
            raise InputError(name, "", f"is not a regular file; expected {what}")
        if mode.st_size > max_bytes:
            raise InputError(name, "", f"is {_size(mode.st_size)}; {_bound(what, max_bytes)}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _bound(what: str, max_bytes: int) -> str:
    return f"{what} may have at most {_size(max_bytes)} (abm/config/limits.py)"


def check_input(path: str | os.PathLike[str], max_bytes: int, what: str) -> None:
    """Check that ``path`` is a regular file of at most ``max_bytes``, as :func:`read_input`
    reads it, without reading it (for a file another library opens by name).

    Raises:
        InputError: naming the file, as :func:`read_input`.
    """
    os.close(_open_input(os.fspath(path), max_bytes, what))


def read_input(path: str | os.PathLike[str], max_bytes: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them.

    The file is opened without blocking (a FIFO or a device never hangs the reader), checked to
    be a regular file, and read up to ``max_bytes`` (a file that grows, or a ``/proc`` file whose
    size reads 0, is still cut off at the bound). Errors quote the path, never the file's bytes.

    Args:
        path: the file.
        max_bytes: the bound (``abm/config/limits.py``); a larger file is an error.
        what: what the file should be, for the message (``"a scenario file"``).

    Raises:
        InputError: naming the file, if it is missing, unreadable, not a regular file, or larger
            than ``max_bytes``.
    """
    name = os.fspath(path)
    fd = _open_input(name, max_bytes, what)
    try:
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(name, "", f"cannot be read ({exc.strerror}); expected {what}") from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise InputError(name, "", f"holds more than {_size(max_bytes)}; "
                         f"{_bound(what, max_bytes)}")
    return b"".join(chunks)


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
        if sync:
            sync_folder(path.parent)
    except OSError as exc:  # name the file the tool was writing (disk full, read-only, ...)
        code = exc.errno or errno.EIO
        raise OSError(code, exc.strerror or os.strerror(code), str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda p: p.write_bytes(data), sync=sync)


def write_json(path: Path, data: dict, *, sync: bool = True) -> None:
    """Write ``data`` as indented JSON with sorted keys, atomically."""
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), sync=sync)


class Damaged(ValueError):
    """A stored file is not what its writer wrote (``InputError`` names the file)."""


#: a shape: a type (``int`` is a whole number, never a bool; ``float`` any finite number),
#: ``{key: shape}`` (an object with exactly these keys), ``{str: shape}`` (an object of any
#: keys), ``[shape]`` (a list of such items), a set of allowed values, or a tuple of shapes
#: (any one of them)
type Shape = Any


def check_shape(value: Any, shape: Shape, where: str = "") -> None:
    """Raise :class:`Damaged` naming the field where ``value`` (parsed JSON) departs from
    ``shape``."""
    if isinstance(shape, set):  # JSON values in a set are scalars: a list or object is not one
        if isinstance(value, list | dict) or value not in shape:
            raise Damaged(f"{where or 'the file'}: not one of {sorted(map(str, shape))}")
        return
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise Damaged(f"{where or 'the file'}: expected a list")
        for i, item in enumerate(value):
            check_shape(item, shape[0], f"{where}[{i}]")
        return
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise Damaged(f"{where or 'the file'}: expected an object")
        if set(shape) == {str}:
            for key, item in value.items():
                check_shape(item, shape[str], f"{where}.{key}" if where else str(key))
            return
        missing, extra = set(shape) - set(value), set(value) - set(shape)
        if missing or extra:
            names = sorted(map(str, missing or extra))
            raise Damaged(f"{where or 'the file'}: {'lacks' if missing else 'has unknown'} "
                          f"field(s) {', '.join(names[:5])}")
        for key, item in shape.items():
            check_shape(value[key], item, f"{where}.{key}" if where else key)
        return
    if isinstance(shape, tuple):  # any one of these shapes
        errors = []
        for alternative in shape:
            try:
                return check_shape(value, alternative, where)
            except Damaged as exc:
                errors.append(str(exc))
        raise Damaged(" or ".join(errors))
    if not _is(value, shape):
        allowed = "null" if shape is type(None) else shape.__name__
        raise Damaged(f"{where or 'the file'}: expected {allowed}")


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value))
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def parse_json(data: bytes, path: str | os.PathLike[str], shape: Shape, hint: str) -> Any:
    """``data`` (the bytes of stored file ``path``) parsed as JSON of ``shape``.

    Raises:
        InputError: naming the file and the field, with ``hint`` (what to do), if the bytes
            are not UTF-8 JSON (truncated, random) or depart from the shape.
    """
    try:
        doc = json.loads(data)
        check_shape(doc, shape)
    except Damaged as exc:
        raise InputError(path, "", f"is damaged ({exc}); {hint}") from None
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, nested too deep
        raise InputError(path, "", f"is damaged (not valid JSON); {hint}") from None
    return doc


def read_json(path: str | os.PathLike[str], max_bytes: int, shape: Shape, what: str,
              hint: str) -> Any:
    """The stored JSON file ``path``, read as :func:`read_input` reads (a regular file of at
    most ``max_bytes``) and parsed as :func:`parse_json` (of ``shape``, else an error with
    ``hint``)."""
    return parse_json(read_input(path, max_bytes, what), path, shape, hint)


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


def check_sha256(path: Path, expected: str, what: str, max_bytes: int, hint: str = "") -> bytes:
    """The bytes of ``path`` (a regular file of at most ``max_bytes``) if their SHA-256 is
    ``expected``.

    Raises:
        InputError: naming the file, if it is missing, not a regular file, too large or its
            checksum differs (damaged, truncated or replaced); ``hint`` says what to do.
    """
    data = read_input(path, max_bytes, what)
    if sha256_bytes(data) != expected:
        raise InputError(path, "", f"{what} is damaged: its checksum does not match the one "
                         "recorded when it was written (truncated, edited or replaced); it "
                         f"cannot be trusted{'; ' + hint if hint else ''}")
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
