"""The toolkit's one writer of files and directories: atomic, durable, and never destroying data.

What the writers guarantee:

* A regular file (or a path where nothing is yet) is replaced atomically by :func:`atomic_file`
  and :func:`atomic_path`: the new content goes to a temporary file beside it
  (``.NAME.RANDOM.partial``), which is fsynced, given the replaced file's mode (and owner, where
  allowed), renamed over it, and the directory is fsynced. Readers see the old file or the whole
  new one. An error, Ctrl-C, or SIGTERM inside ``tagger.signals.terminate_raises`` (as the CLI
  runs) removes the temporary file and leaves the old file as it was.
* New files are created ``0o666`` and directories ``0o777``, minus the umask, which the kernel
  applies; the process umask is never read or changed.
* A symlink is followed deliberately: the file it points to is replaced and the link is kept (a
  link to a missing file creates that file; a loop is an error).
* Anything else is written through, never replaced: a FIFO, a character device such as
  ``/dev/null``, and ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and ``/proc/self/fd/N``,
  which write to the process's own open descriptor (its offset and append mode kept). Such a
  write cannot be atomic. A directory, a block device and a socket are refused.
* :func:`publish_directory` moves a finished directory into place without a moment where the
  path holds neither the old nor the new one where the OS can exchange two paths (Linux
  ``renameat2(RENAME_EXCHANGE)``); elsewhere the old directory is first moved aside and put back
  if the new one cannot be moved in. It never writes over a directory that appeared meanwhile.
* :func:`exclusive_lock` holds ``.NAME.lock`` beside a path with ``flock``, so a second writer
  fails at once, naming the process that holds it.
* JSON is written without ``NaN`` or ``Infinity`` (which are not JSON): :func:`dumps_json`
  names the key that holds one.
* Every failure is an ``OutputError`` (``ConfigError`` for a non-finite number) naming the
  user's path, never a temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import math
import os
import re
import secrets
import stat
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, Optional, Tuple, Union

from tagger.errors import ConfigError, OutputError

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is then advisory only by name
    fcntl = None  # type: ignore[assignment]  # the module or None: mypy types the name as the module

PathLike = Union[str, "os.PathLike[str]"]

_FD_PATH = re.compile(r"/dev/(?:(stdout)|(stderr)|fd/([0-9]+))|/proc/self/fd/([0-9]+)")
_MAX_LINKS = 40  # the kernel's limit on symlinks followed in one lookup (ELOOP beyond)
_NAME_ROOM = 200  # a temporary name stays under NAME_MAX (255) however long the target's name is

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


# ----------------------------------------------------------------------------- where a path leads


@dataclass(frozen=True)
class OutputTarget:
    """What writing to a path means, after following symlinks.

    Attributes:
        shown: The path as the user gave it (named in every error).
        path: Where to write: the final target of any symlinks.
        kind: ``new`` (nothing there yet), ``file`` (a regular file, replaced atomically),
            ``device`` (a FIFO or character device, written through) or ``descriptor``
            (one of this process's open descriptors, written through).
        stat: The existing file's status (``file`` and ``device``).
        fd: The descriptor number (``descriptor``).
    """

    shown: str
    path: str
    kind: str
    stat: Optional[os.stat_result] = None
    fd: Optional[int] = None


def _descriptor(path: str) -> Optional[int]:
    match = _FD_PATH.fullmatch(os.path.normpath(path))
    if match is None:
        return None
    if match.group(1):
        return 1
    if match.group(2):
        return 2
    return int(match.group(3) or match.group(4))


def resolve_output(path: PathLike) -> OutputTarget:
    """Follows ``path``'s symlinks and says how it would be written (see :class:`OutputTarget`).

    Raises:
        OutputError: a directory, block device or socket, a symlink loop, or a missing directory.
    """
    shown = os.fspath(path)
    current = os.path.abspath(shown)
    for _ in range(_MAX_LINKS):
        fd = _descriptor(current)
        if fd is not None:
            return OutputTarget(shown, current, "descriptor", fd=fd)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            parent = os.path.dirname(current)
            if not os.path.isdir(parent):
                raise OutputError(f"cannot write: directory {parent} does not exist", shown) from None
            return OutputTarget(shown, current, "new")
        except OSError as exc:  # ELOOP or ENOTDIR in a directory on the way, EACCES
            raise _error(exc, shown) from None
        if stat.S_ISLNK(info.st_mode):
            current = os.path.join(os.path.dirname(current), os.readlink(current))
            continue
        if stat.S_ISREG(info.st_mode):
            return OutputTarget(shown, current, "file", info)
        if stat.S_ISDIR(info.st_mode):
            raise OutputError("is a directory", shown)
        if stat.S_ISBLK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            what = "a block device" if stat.S_ISBLK(info.st_mode) else "a socket"
            raise OutputError(f"is {what}; refusing to write to it", shown)
        return OutputTarget(shown, current, "device", info)
    raise OutputError("symlink loop", shown)


def _error(exc: OSError, shown: str) -> OutputError:
    """An OSError as an OutputError naming the user's path (never a temporary file's)."""
    if exc.errno == errno.ELOOP:
        return OutputError("symlink loop", shown)
    return OutputError(f"cannot write: {exc.strerror or exc}", shown)


# ----------------------------------------------------------------------------- files


class _Descriptor(io.RawIOBase):
    """A raw stream over a descriptor whose write errors name the user's path."""

    def __init__(self, fd: int, shown: str):
        super().__init__()
        self._fd = fd
        self._shown = shown

    def writable(self) -> bool:
        """Always writable."""
        return True

    def fileno(self) -> int:
        """The descriptor."""
        return self._fd

    def write(self, data: Any) -> int:
        """Writes what the kernel takes of ``data``; a failure is an OutputError (EPIPE stays as it is)."""
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _error(exc, self._shown) from None

    def close(self) -> None:
        """Closes the descriptor once."""
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()


def _stream(fd: int, shown: str, mode: str, encoding: str, newline: Optional[str]) -> IO[Any]:
    binary = io.BufferedWriter(_Descriptor(fd, shown), 1 << 16)
    if mode == "wb":
        return binary
    return io.TextIOWrapper(binary, encoding=encoding, newline=newline, write_through=False)


def _temporary_name(path: str, suffix: str) -> str:
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name[:_NAME_ROOM]}.{secrets.token_hex(4)}{suffix}")


def _create_temporary(target: OutputTarget) -> Tuple[str, int]:
    """A new, empty file beside the target (mode 0o666 minus the umask), and its descriptor."""
    for _ in range(100):
        name = _temporary_name(target.path, ".partial")
        try:
            return name, os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _error(exc, target.shown) from None
    raise OutputError("cannot write: no free temporary name beside it", target.shown)


def _take_over(fd: int, old: Optional[os.stat_result]) -> None:
    """Gives the new file the replaced file's owner (where allowed) and mode."""
    if old is None:
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
        with contextlib.suppress(OSError):  # only root may give a file away; a group, only its member
            os.fchown(fd, old.st_uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def fsync_directory(path: PathLike) -> None:
    """Makes a rename or a new entry in directory ``path`` durable (where the OS allows it)."""
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # file systems that cannot
            raise
    finally:
        os.close(fd)


def _replace(tmp: str, target: OutputTarget) -> None:
    try:
        os.replace(tmp, target.path)
        fsync_directory(os.path.dirname(target.path))
    except OSError as exc:
        raise _error(exc, target.shown) from None


def _open_through(target: OutputTarget) -> int:
    """A descriptor writing straight to a device, FIFO or one of the process's descriptors."""
    try:
        if target.kind == "descriptor":
            assert target.fd is not None  # a descriptor target has one
            return os.dup(target.fd)
        return os.open(target.path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _error(exc, target.shown) from None


@contextlib.contextmanager
def atomic_file(path: PathLike, mode: str = "w", *, encoding: str = "utf-8", newline: Optional[str] = "\n") -> Iterator[IO[Any]]:
    r"""A stream whose content replaces ``path`` when the block ends without an error.

    See the module's docstring for what happens to regular files, symlinks, devices and FIFOs.

    Args:
        path: The file to write.
        mode: ``w`` (text) or ``wb`` (bytes).
        encoding: The text encoding.
        newline: As for ``open``: ``\n`` writes ``\n`` on every platform.

    Raises:
        OutputError: the path cannot or must not be written (naming ``path``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    target = resolve_output(path)
    if target.kind in ("device", "descriptor"):
        stream = _stream(_open_through(target), target.shown, mode, encoding, newline)
        try:
            yield stream
        except BaseException:
            with contextlib.suppress(Exception):
                stream.close()
            raise
        stream.close()
        return
    with _replacing(target) as (_tmp, fd):
        stream = _stream(fd, target.shown, mode, encoding, newline)
        try:
            yield stream
            stream.flush()
            _sync(fd, target)
        except BaseException:
            with contextlib.suppress(Exception):
                stream.close()
            raise
        stream.close()


@contextlib.contextmanager
def _replacing(target: OutputTarget) -> Iterator[Tuple[str, int]]:
    """A new temporary file beside ``target`` (its name, an open descriptor the block closes) that
    replaces the target when the block ends without an error, and is removed otherwise.
    """
    tmp, fd = _create_temporary(target)
    try:
        yield tmp, fd
        _replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sync(fd: int, target: OutputTarget) -> None:
    try:
        _take_over(fd, target.stat)
        os.fsync(fd)
    except OSError as exc:
        raise _error(exc, target.shown) from None


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A path to write (for libraries that write by name) whose content then replaces ``path``.

    For a regular file or a new one, this is a fresh temporary file beside ``path``; for a
    device, FIFO or descriptor path it is ``path`` itself, written through. An ``OSError`` in
    the block that names the temporary file, or no file, is reported as an ``OutputError`` for
    ``path``.

    Raises:
        OutputError: the path cannot or must not be written (naming ``path``).
    """
    target = resolve_output(path)
    if target.kind in ("device", "descriptor"):
        yield Path(target.path)
        return
    with _replacing(target) as (tmp, fd):
        os.close(fd)
        try:
            yield Path(tmp)
        except OSError as exc:
            if exc.filename in (None, tmp):
                raise _error(exc, target.shown) from None
            raise
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError as exc:
            raise _error(exc, target.shown) from None
        try:
            _sync(fd, target)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------- JSON


def _non_finite(value: Any, where: str = "") -> Optional[Tuple[str, float]]:
    """The first key (``a.b[2].c``) holding NaN or an infinity, and its value."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "the value", value
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _non_finite(item, f"{where}[{index}]")
            if found:
                return found
    return None


def dumps_json(value: Any, *, source: Optional[str] = None, **options: Any) -> str:
    """``json.dumps(value, **options)``, refusing NaN and infinities (which JSON does not have).

    Args:
        value: What to write.
        source: The file name to put in the error.
        **options: For ``json.dumps`` (``indent``, ``sort_keys``, ...).

    Raises:
        ConfigError: a value is NaN or infinite, naming its key.
    """
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        found = _non_finite(value)
        if found is None:
            raise
        key, number = found
        raise ConfigError(f"{key} is {number}; JSON has no NaN or infinity", source) from None


def write_json(path: PathLike, value: Any) -> None:
    """Writes ``value`` atomically to ``path`` as indented UTF-8 JSON (no NaN; see :func:`dumps_json`)."""
    text = dumps_json(value, source=os.path.basename(os.fspath(path)), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    with atomic_file(path) as stream:
        stream.write(text)


# ----------------------------------------------------------------------------- directories


def new_directory_beside(path: PathLike, suffix: str = ".partial") -> Path:
    """A new empty directory ``.NAME.RANDOM{suffix}`` beside ``path`` (0o777 minus the umask).

    Raises:
        OutputError: the parent cannot be written (naming ``path``).
    """
    for _ in range(100):
        name = _temporary_name(os.path.abspath(os.fspath(path)), suffix)
        try:
            os.mkdir(name, 0o777)
            return Path(name)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _error(exc, os.fspath(path)) from None
    raise OutputError("cannot write: no free temporary name beside it", os.fspath(path))


def fsync_tree(path: PathLike) -> None:
    """Calls fsync on every regular file and directory under ``path`` (symlinks are not followed)."""
    for root, _dirs, names in os.walk(os.fspath(path)):
        for name in names:
            full = os.path.join(root, name)
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            fd = os.open(full, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_directory(root)


@functools.lru_cache(maxsize=None)
def _libc_renameat2() -> Any:
    """The C library's ``renameat2`` (glibc >= 2.28), or None."""
    import ctypes

    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _renameat2(src: str, dst: str, flags: int) -> bool:
    """Linux ``renameat2``; False where the C library, kernel or file system lacks it."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    function = _libc_renameat2()
    if function is None:
        return False
    at_fdcwd = -100
    if function(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), src, None, dst)


def rename_no_replace(src: PathLike, dst: PathLike) -> None:
    """Renames ``src`` to ``dst`` unless ``dst`` exists (FileExistsError); atomic where the OS has it."""
    src, dst = os.fspath(src), os.fspath(dst)
    if _renameat2(src, dst, RENAME_NOREPLACE):
        return
    if os.path.lexists(dst):  # no atomic check here: the window is this line to the next
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


def publish_directory(staging: PathLike, out: PathLike, remove_old: Callable[[Path], None], *, shown: Optional[str] = None) -> None:
    """Moves the finished directory ``staging`` to ``out``, durably.

    ``staging``'s files are fsynced first. Where nothing is at ``out``, it is renamed there
    (never over something that appeared meanwhile). Otherwise the two are exchanged in one step
    where the OS can, or the old one is moved aside and put back if the new one cannot be moved
    in; only once the new one is in place is the old one given to ``remove_old``.

    Args:
        staging: The complete new directory, beside ``out``.
        out: Where it goes.
        remove_old: Deletes the replaced directory (the caller decided it may be deleted).
        shown: The path to name in errors (default ``out``).

    Raises:
        OutputError: a rename failed (``out`` then holds what it held before).
    """
    staging, out = Path(staging), Path(out)
    shown = shown or str(out)
    try:
        fsync_tree(staging)
        if not os.path.lexists(out):
            rename_no_replace(staging, out)
            fsync_directory(out.parent)
            return
        if _renameat2(str(staging), str(out), RENAME_EXCHANGE):
            fsync_directory(out.parent)
            remove_old(staging)  # the old directory, now under the staging name
            return
        aside = Path(_temporary_name(str(out), ".old"))
        os.rename(out, aside)
        try:
            os.rename(staging, out)
        except BaseException:
            os.rename(aside, out)
            raise
        fsync_directory(out.parent)
        remove_old(aside)
    except OSError as exc:
        raise _error(exc, shown) from None


# ----------------------------------------------------------------------------- locks

_held: Dict[str, Tuple[int, int]] = {}  # lock file -> (thread holding it, depth)
_held_guard = threading.Lock()


def lock_path(path: PathLike) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` in the same directory."""
    path = Path(os.path.abspath(os.fspath(path)))
    return path.with_name(f".{path.name[:_NAME_ROOM]}.lock")


@contextlib.contextmanager
def exclusive_lock(path: PathLike, what: str = "it", *, shown: Optional[str] = None) -> Iterator[None]:
    """Holds the ``flock`` on ``path``'s lock file for the block; the file is removed after.

    Re-entrant in the thread that holds it; another process or thread fails at once.

    Args:
        path: The path the lock guards (it need not exist).
        what: Named in the error, e.g. ``"this model"``.
        shown: The path to name in errors (default ``path``).

    Raises:
        OutputError: someone else holds the lock (naming its process id) or it cannot be created.
    """
    shown = shown or os.fspath(path)
    name = str(lock_path(path))
    me = threading.get_ident()
    with _held_guard:
        holder = _held.get(name)
        if holder is not None and holder[0] == me:
            _held[name] = (me, holder[1] + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[name] = (me, _held[name][1] - 1)
        return
    fd = _acquire(name, what, shown)
    with _held_guard:
        _held[name] = (me, 1)
    try:
        yield
    finally:
        with _held_guard:
            del _held[name]
        with contextlib.suppress(OSError):
            os.unlink(name)  # while still holding it: a waiter that opened this file then retries
        os.close(fd)


def _acquire(name: str, what: str, shown: str) -> int:
    while True:
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise OutputError(f"cannot create the lock file {name}: {exc.strerror or exc}", shown) from None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputError(f"cannot lock {name}: {exc.strerror or exc}", shown) from None
            raise OutputError(
                f"another tagger run (pid {holder}) is writing {what}; wait for it to end or choose another path", shown
            ) from None
        try:
            current = os.stat(name)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            return fd
        os.close(fd)  # the previous holder removed this file after we opened it: lock the new one
