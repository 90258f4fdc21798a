"""SIGTERM as an exception, so that ``finally`` blocks (checkpoints, temporary files) run on it too.

Python turns SIGINT into ``KeyboardInterrupt`` but lets SIGTERM kill the process outright. Inside
:func:`terminate_raises`, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``), so code
that cleans up or saves on Ctrl-C does the same on ``kill``; the previous handler is restored on
exit, leaving the process as it was found.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM inside :func:`terminate_raises`."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"received signal {signum}")


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
