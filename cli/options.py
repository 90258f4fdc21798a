"""Options shared by the ``tagger`` commands (click declarations), and two small helpers they use.

Nothing heavy is imported here (no torch, gensim or datasets), so ``tagger --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, TypeVar

import click

from tagger.cli.errors import DEBUG_KEY
from tagger.engines import ENGINES

F = TypeVar("F", bound=Callable[..., Any])


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[DEBUG_KEY] = True
    return value


def debug_option(function: F) -> F:
    """``--debug`` on a command (the group has it too): show tracebacks instead of one-line errors."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show the full traceback of an error (also: TAGGER_DEBUG=1).",
    )(function)


def model_option(function: F) -> F:
    """``--model DIR`` (required): a model directory, or an ``.onnx`` file for the onnx engine."""
    return click.option(
        "--model", "-m", "model_dir", required=True, metavar="DIR", help="A model directory written by `tagger train` (or a .onnx file)."
    )(function)


def device_option(function: F) -> F:
    """``--device auto|cpu|cuda|cuda:N``."""
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        metavar="auto|cpu|cuda[:N]",
        help="Where to run the model; cuda fails (exit 2) when there is no GPU.",
    )(function)


def mixed_precision_option(function: F) -> F:
    """``--mixed-precision/--full-precision`` for tagging."""
    return click.option(
        "--mixed-precision/--full-precision",
        default=False,
        show_default=True,
        help="Run the network in bfloat16/float16 (autocast) on a GPU; no effect on CPU.",
    )(function)


def engine_option(function: F) -> F:
    """``--engine auto|torch|numpy|onnx`` for tagging and scoring."""
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="auto",
        show_default=True,
        help="What computes the network. numpy: NumPy only, on the CPU, without importing torch (starts about "
        "a second sooner; the same tags up to float32 rounding). torch: PyTorch on --device. auto: numpy when "
        "tagging on the CPU without --mixed-precision, that is with --device cpu, or --device auto when torch "
        "would find no GPU (a CPU-only torch build, no GPU driver, or CUDA_VISIBLE_DEVICES empty or -1; "
        "decided without importing torch); torch otherwise. A model with contextual features always runs on torch (auto picks it). "
        "onnx: onnxruntime on the CPU, for a .onnx file written by tagger export (auto picks it for such a file).",
    )(function)


def allow_download_option(function: F) -> F:
    """``--allow-download``: let a contextual model's encoder come from the Hugging Face Hub."""
    return click.option(
        "--allow-download",
        is_flag=True,
        default=False,
        help="Download the contextual encoder from the Hugging Face Hub when it is not in the local cache "
        "(HF_HUB_CACHE); without it nothing is ever downloaded.",
    )(function)


def corpus_format_option(function: F) -> F:
    """``--format auto|conll|conllu`` for corpus files."""
    return click.option(
        "--format",
        "corpus_format",
        type=click.Choice(["auto", "conll", "conllu"]),
        default=None,
        help="Corpus file format  [default: auto: CoNLL-U when the first row has 10 tab-separated fields].",
    )(function)


def tag_column_option(function: F) -> F:
    """``--tag-column NAME|INDEX``."""
    return click.option(
        "--tag-column",
        default=None,
        metavar="NAME|INDEX",
        help="The gold tag column: a 0-based index (negative counts from the end) or a name "
        "(CoNLL-U: upos, xpos, ...; known corpora: ner_tags, pos_tags, chunk_tags)  "
        "[default: the last column; upos for CoNLL-U; the corpus's usual column for --dataset].",
    )(function)


def cache_dir_option(function: F) -> F:
    """``--cache-dir DIR`` for the ``datasets`` Arrow cache."""
    return click.option(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="Where `datasets` caches the loaded corpus  [default: its usual cache, $HF_DATASETS_CACHE].",
    )(function)


def stderr_is_terminal() -> bool:
    """Whether progress bars should be drawn."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def check_input_file(path: str, what: str = "file") -> str:
    """Fail early (exit 2) for an input path that is missing or a directory."""
    from tagger.errors import ConfigError

    if not os.path.exists(path):
        raise ConfigError(f"no such {what}", path)
    if os.path.isdir(path):
        raise ConfigError(f"is a directory, expected a {what}", path)
    return path
