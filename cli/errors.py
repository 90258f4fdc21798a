"""The CLI's error types and the ``--debug`` switch: what ``tagger: error: ...`` and exit statuses 1 and 2 are made of."""

from __future__ import annotations

import os
from typing import IO, Any, Optional

import click

DEBUG_KEY = "tagger.debug"
"""Key in ``click.Context.meta`` (shared by a command and its group) set by ``--debug``."""


class UserError(click.ClickException):
    """An error the user can fix: printed as one line ``tagger: error: ...``, exit status 2."""

    exit_code = 2

    def show(self, file: Optional[IO[Any]] = None) -> None:
        """Print the one-line message to stderr."""
        click.echo(f"tagger: error: {self.format_message()}", err=True, file=file)


class InternalError(click.ClickException):
    """A bug (an exception nobody expected): one line and a hint, exit status 1."""

    exit_code = 1

    def show(self, file: Optional[IO[Any]] = None) -> None:
        """Print the one-line message and the ``--debug`` hint to stderr."""
        click.echo(f"tagger: internal error: {self.format_message()} (run with --debug for the traceback)", err=True, file=file)


def is_debug(ctx: click.Context) -> bool:
    """Whether tracebacks were asked for (``--debug`` anywhere, or ``TAGGER_DEBUG`` set to a true value)."""
    env = os.environ.get("TAGGER_DEBUG", "").strip().lower()
    return bool(ctx.meta.get(DEBUG_KEY)) or env not in ("", "0", "false", "no", "off")
