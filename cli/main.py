"""The ``tagger`` command line: a click group whose one error handler turns user errors into one line, exit 2.

Exit statuses: 0 success; 2 an error the user can fix (bad option or file, not a model, unknown
labels, no GPU: ``tagger: error: ...`` on stderr, and click's own usage errors); 1 an internal
error (a bug: one line, the traceback with ``--debug``); 130 interrupted (Ctrl-C); 143 terminated
(SIGTERM, which raises inside a command so that temporary files are removed); 141 the reader of
stdout went away (``tagger tag ... | head``). Python warnings print as one line ``tagger: warning: ...``.

Heavy libraries (torch, gensim, datasets) are imported inside the command bodies, so ``--help``
and ``--version`` answer at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Any, Iterator

import click

from tagger import __version__
from tagger.cli.embeddings import embeddings_group
from tagger.cli.errors import DEBUG_KEY, InternalError, UserError, is_debug
from tagger.cli.evaluate import evaluate_command
from tagger.cli.export import export_command
from tagger.cli.info import info_command
from tagger.cli.serve import serve_command
from tagger.cli.tag import tag_command
from tagger.cli.train import train_command
from tagger.errors import TaggerError, UnsafeFormatWarning
from tagger.signals import Terminated, terminate_raises

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141

_FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)


class TaggerGroup(click.Group):
    """A click group that reports exceptions as one line with a deliberate exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, translating exceptions (re-raised as they are with ``--debug``)."""
        if ctx.params.get("debug"):
            ctx.meta[DEBUG_KEY] = True
        try:
            with terminate_raises(), _warnings_as_lines():
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Terminated:  # SIGTERM, raised so that temporary files are removed and checkpoints written
            if is_debug(ctx):
                raise
            click.echo("tagger: terminated", err=True)
            raise click.exceptions.Exit(EXIT_TERMINATED) from None
        except KeyboardInterrupt:
            if is_debug(ctx):
                raise
            click.echo("tagger: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except TaggerError as exc:
            if is_debug(ctx):
                raise
            raise UserError(str(exc)) from None
        except _FILE_ERRORS as exc:
            if is_debug(ctx):
                raise
            where = f"{exc.filename}: " if exc.filename is not None else ""
            raise UserError(f"{where}{exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            if is_debug(ctx):
                raise
            raise UserError(f"input is not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except Exception as exc:  # a bug: one line, the traceback only when asked for
            if is_debug(ctx):
                raise
            raise InternalError(f"{type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """For the command's duration, a Python warning prints as one line ``tagger: warning: MESSAGE``.

    The warning that a file can run code is always shown, even where warnings are errors or once-only.
    """
    previous = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        click.echo(f"tagger: warning: {' '.join(str(message).split())}", err=True)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():  # restores the filters afterwards
            warnings.simplefilter("always", UnsafeFormatWarning)
            yield
    finally:
        warnings.showwarning = previous


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file descriptor (e.g. under CliRunner)
        pass


@click.group(
    cls=TaggerGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  tagger train --train train.txt --dev dev.txt --out models/ner
  tagger tag article.txt --model models/ner --output inline
  tagger evaluate dev.txt --model models/ner
  tagger embeddings train corpus.txt --out vectors.bin
  tagger info --model models/ner
  tagger export --model models/ner --format onnx ner.onnx
  tagger serve --model models/ner                       # http://127.0.0.1:8080/

Run `tagger COMMAND --help` for the options of a command.""",
)
@click.version_option(__version__, "--version", "-V", prog_name="tagger", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error (also: TAGGER_DEBUG=1).")
def cli(debug: bool) -> None:
    """Sequence labelling (NER, POS, chunking) with BiLSTM/GRU/RNN taggers and a CRF or softmax output.

    Errors you can fix print one line `tagger: error: ...` and exit with status 2.
    """
    del debug  # read by TaggerGroup.invoke


cli.add_command(train_command)
cli.add_command(tag_command)
cli.add_command(evaluate_command)
cli.add_command(embeddings_group)
cli.add_command(info_command)
cli.add_command(export_command)
cli.add_command(serve_command)


def main() -> None:
    """Console entry point (``python -m tagger``)."""
    cli(prog_name="tagger")


if __name__ == "__main__":
    main()
