"""Where ``tagger tag`` writes: stdout, or a file replaced atomically, never an input or a file of the model."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import IO, Iterator, Optional, Sequence

from tagger.cli.errors import UserError
from tagger.corpora.inputs import STDIN, STDIN_NAME


def binary_stream(name: str) -> IO[bytes]:
    """The byte stream under ``sys.stdin`` or ``sys.stdout`` (click.get_binary_stream is deprecated in click 8.2+)."""
    stream = getattr(sys, name)
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        raise UserError(f"{name} is not a byte stream; pass a file name instead of '-'")
    return buffer


@contextlib.contextmanager
def atomic_output(path: Optional[str]) -> Iterator[IO[str]]:
    """A UTF-8 text stream for the output: stdout (no path or ``-``), else ``tagger.files.atomic_file``.

    A regular file is replaced atomically (a failed, interrupted or killed run leaves the old
    one intact and no temporary file); a symlink is followed and kept; a FIFO, a device or
    ``/dev/stdout`` is written through. Errors name ``path``.

    Raises:
        OutputError: ``path`` cannot or must not be written.
    """
    if path is None or path == STDIN:
        stream = io.TextIOWrapper(binary_stream("stdout"), encoding="utf-8", newline="\n", line_buffering=False)
        try:
            yield stream
        finally:
            with contextlib.suppress(ValueError, BrokenPipeError):
                stream.flush()
            with contextlib.suppress(ValueError):
                stream.detach()
        return
    from tagger.errors import OutputError
    from tagger.files import atomic_file

    if os.path.isdir(path):
        raise OutputError("is a directory; -o names the output file", path)
    with atomic_file(path) as out:
        yield out


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_output(path: Optional[str], inputs: Sequence[str], model_dir: Optional[str] = None) -> None:
    """Refuse (before any work) an output file that is one of the inputs, the model file or inside the model directory.

    Compared by device and inode, so a symlink or a hard link to an input is caught too. Devices
    and FIFOs are written through, not replaced, and are not compared.

    Raises:
        OutputError: ``path`` is an input, a file of the model, or inside the model directory.
    """
    if path is None or path == STDIN:
        return
    from tagger.errors import OutputError
    from tagger.files import resolve_output

    if os.path.isdir(path):
        raise OutputError("is a directory; -o names the output file", path)
    target = resolve_output(path)
    if target.kind not in ("file", "new"):
        return
    if model_dir is not None and os.path.isfile(model_dir) and target.stat is not None and _same(os.stat(model_dir), target.stat):
        raise OutputError(f"is the model file {model_dir}; write elsewhere", path)
    if model_dir is not None and os.path.isdir(model_dir):
        model = os.path.realpath(model_dir)
        where = os.path.join(os.path.realpath(os.path.dirname(target.path)), os.path.basename(target.path))
        if os.path.commonpath([model, where]) == model:
            raise OutputError(f"is inside the model directory {model_dir}; write elsewhere", path)
        if target.stat is not None:
            with os.scandir(model) as entries:
                for entry in entries:
                    if entry.is_file() and _same(entry.stat(), target.stat):
                        raise OutputError(f"is the model file {entry.path}; write elsewhere", path)
    if target.stat is None:
        return
    for name in inputs:
        try:
            info = _stdin_stat() if name == STDIN else os.stat(name)
        except OSError:
            continue
        if info is not None and _same(info, target.stat):
            shown = STDIN_NAME if name == STDIN else name
            raise OutputError(f"is the input {shown}; tagging in place would replace it, write elsewhere", path)


def _stdin_stat() -> Optional[os.stat_result]:
    """The status of the file behind stdin (``tagger tag -o f < f``), or None when there is none."""
    try:
        return os.fstat(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return None
