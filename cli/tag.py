"""``tagger tag``: stream text, token lines or CoNLL files through ``Tagger.iter_predict`` and write
CoNLL, JSON lines or inline brackets.

Input is read lazily and tagged chunk by chunk (``iter_predict`` keeps the order), and each
sentence is written as soon as its chunk is tagged, so memory stays bounded on any input size.
On the CPU the network runs in NumPy (``tagger.numpy_tagger``) unless ``--engine torch`` is given:
importing torch alone took longer than tagging a 50k-token file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from itertools import tee
from typing import IO, Any, Iterable, Iterator, List, Optional, Sequence, Tuple

import click

from cli.options import (
    STDIN,
    STDIN_NAME,
    UserError,
    allow_download_option,
    atomic_output,
    binary_stream,
    check_output,
    corpus_format_option,
    debug_option,
    decode_error,
    device_option,
    engine_option,
    mixed_precision_option,
    model_option,
    open_text_input,
    stderr_is_terminal,
)
from tagger.tokenize import TokenizedSentence, char_spans

INPUTS = ("text", "tokens", "conll")
OUTPUTS = ("conll", "jsonl", "inline")


@dataclass(frozen=True)
class Item:
    """One sentence to tag and what is needed to write it back.

    Attributes:
        sentence: Tokens and character offsets (into the input for text and token lines, into
            ``" ".join(tokens)`` for CoNLL input).
        file: The input it came from (``-`` for stdin).
        columns: For CoNLL input, the sentence's original columns (written back before the prediction).
    """

    sentence: TokenizedSentence
    file: str
    columns: Optional[Tuple[List[str], ...]] = None


# ----------------------------------------------------------------------------- readers


def read_text(path: str, *, chunk_chars: Optional[int] = None) -> Iterator[Item]:
    """Running text split into sentences and tokens (``tagger.tokenize.split_stream``)."""
    from tagger.tokenize import DEFAULT_CHUNK_CHARS, split_stream

    with open_text_input(path) as handle:
        try:
            for sentence in split_stream(handle, chunk_chars=chunk_chars or DEFAULT_CHUNK_CHARS):
                yield Item(sentence, path)
        except UnicodeDecodeError as exc:
            raise decode_error(path, exc) from None


def read_token_lines(path: str) -> Iterator[Item]:
    """One pre-tokenised sentence per line (tokens separated by whitespace); blank lines are skipped."""
    with open_text_input(path) as handle:
        position = 0
        try:
            for line in handle:
                sentence = TokenizedSentence.from_line(line, position)
                position += len(line)
                if sentence is not None:
                    yield Item(sentence, path)
        except UnicodeDecodeError as exc:
            raise decode_error(path, exc) from None


def read_conll(path: str, corpus_format: str = "auto") -> Iterator[Item]:
    """Sentences of a CoNLL column or CoNLL-U file (its gold tags are ignored)."""
    from corpora.detect import read_sentences
    from tagger.errors import TaggerError

    if path != STDIN:
        for sentence in read_sentences(path, corpus_format):
            yield Item(TokenizedSentence.from_tokens(sentence.tokens), path, tuple(sentence.columns))
        return
    # The corpus readers take a path: spool stdin to a temporary file (on disk, not in memory).
    with tempfile.TemporaryDirectory(prefix="tagger-stdin-") as tmp:
        spooled = os.path.join(tmp, "stdin.conll")
        with open(spooled, "wb") as out:
            stream = binary_stream("stdin")
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                out.write(block)
        try:
            for sentence in read_sentences(spooled, corpus_format):
                yield Item(TokenizedSentence.from_tokens(sentence.tokens), path, tuple(sentence.columns))
        except TaggerError as exc:
            if exc.path == spooled:
                exc.path = STDIN_NAME
            raise


def read_items(paths: Sequence[str], input_format: str, corpus_format: str = "auto") -> Iterator[Item]:
    """The sentences of every input, one file after another."""
    for path in paths:
        if input_format == "text":
            yield from read_text(path)
        elif input_format == "tokens":
            yield from read_token_lines(path)
        else:
            yield from read_conll(path, corpus_format)


# ----------------------------------------------------------------------------- tagging


def nvidia_gpu_visible() -> bool:
    """Whether torch would find an NVIDIA GPU, decided without importing torch.

    A GPU counts as visible when the NVIDIA driver lists one (an entry in /proc/driver/nvidia/gpus)
    or its device file /dev/nvidia0 exists, unless CUDA_VISIBLE_DEVICES hides every GPU (empty, or
    starting with -1).
    """
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and (not hidden.strip() or hidden.strip().startswith("-")):
        return False
    try:
        with os.scandir("/proc/driver/nvidia/gpus") as entries:
            if any(True for _ in entries):
                return True
    except OSError:
        pass
    return os.path.exists("/dev/nvidia0")


def choose_engine(engine: str, device: str, mixed_precision: bool = False) -> str:
    """The engine ``tagger tag`` uses: ``numpy`` or ``torch`` (see ``--engine``).

    Raises:
        UserError: ``--engine numpy`` with a GPU or an unknown ``--device``.
    """
    name = (device or "auto").strip().lower()
    if engine == "numpy":
        if name == "cuda" or name.startswith("cuda:"):
            raise UserError(f"--engine numpy runs on the CPU; --device {device} needs --engine torch (or auto)")
        if name not in ("auto", "cpu"):
            raise UserError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
        return "numpy"
    if engine == "torch" or mixed_precision:
        return "torch"
    return "numpy" if name == "cpu" or (name == "auto" and not nvidia_gpu_visible()) else "torch"


def load_tagger(model_dir: str, engine: str, device: str, mixed_precision: bool, allow_download: bool = False) -> Any:
    """A ``NumpyTagger`` or a ``Tagger`` for ``choose_engine(engine, device, mixed_precision)``; ``--engine auto``
    takes torch for a model with contextual features, which the NumPy engine cannot compute.

    Raises:
        ModelFileError: ``--engine numpy`` with a model with contextual features, or a bad model directory.
    """
    choice = choose_engine(engine, device, mixed_precision)
    if choice == "numpy" and engine == "auto":
        from tagger.serialization import uses_contextual_features

        choice = "torch" if uses_contextual_features(model_dir) else choice
    if choice == "numpy":
        from tagger.numpy_tagger import NumpyTagger

        return NumpyTagger.load(model_dir)
    from tagger.inference import Tagger

    return Tagger.load(model_dir, device=device, mixed_precision=mixed_precision, allow_download=allow_download)


def tag_items(
    tagger: Any, items: Iterable[Item], batch_size: int = 256, chunk_size: Optional[int] = None
) -> Iterator[Tuple[Item, List[str]]]:
    """Tag a stream of items lazily and in order: ``(item, tags)`` pairs, a chunk at a time.

    Args:
        tagger: A ``tagger.Tagger`` or ``NumpyTagger`` (anything with ``iter_predict``).
        items: The sentences.
        batch_size: Sentences per forward pass.
        chunk_size: Sentences read ahead (see ``Tagger.iter_predict``).
    """
    to_write, to_tag = tee(items)  # tee holds at most the chunk iter_predict has read ahead
    predictions = tagger.iter_predict((item.sentence.tokens for item in to_tag), batch_size=batch_size, chunk_size=chunk_size)
    for tags, item in zip(predictions, to_write):
        yield item, tags


# ----------------------------------------------------------------------------- writers


def format_conll(item: Item, tags: Sequence[str]) -> str:
    """Tab-separated rows: the token (or the input's columns) and the predicted tag; a blank line after."""
    columns = item.columns if item.columns is not None else (item.sentence.tokens,)
    rows = ["\t".join(fields) for fields in zip(*columns, tags)]
    return "\n".join(rows) + "\n\n"


def format_jsonl(item: Item, tags: Sequence[str], scheme: str) -> str:
    """One JSON object: file, tokens, token offsets, tags and entity spans with character offsets."""
    record = {
        "file": item.file,
        "tokens": item.sentence.tokens,
        "offsets": [list(pair) for pair in item.sentence.offsets],
        "tags": list(tags),
        "spans": [span.to_dict() for span in char_spans(item.sentence, tags, scheme)],
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def format_inline(item: Item, tags: Sequence[str], scheme: str) -> str:
    """``[PER John Smith] lives in [LOC Paris] .`` (entity tags) or ``John/PROPN lives/VERB`` (plain tags)."""
    tokens = item.sentence.tokens
    if scheme == "plain":
        return " ".join(f"{token}/{tag}" for token, tag in zip(tokens, tags)) + "\n"
    from tagger.schemes import spans_from_tags

    pieces: List[str] = []
    position = 0
    for span in spans_from_tags(tags, scheme):
        pieces.extend(tokens[position : span.start])
        pieces.append(f"[{span.label} {' '.join(tokens[span.start : span.end])}]")
        position = span.end
    pieces.extend(tokens[position:])
    return " ".join(pieces) + "\n"


def write_tagged(pairs: Iterable[Tuple[Item, List[str]]], out: IO[str], output_format: str, scheme: str) -> int:
    """Write tagged sentences in ``output_format``; returns how many were written."""
    count = 0
    for item, tags in pairs:
        if output_format == "conll":
            out.write(format_conll(item, tags))
        elif output_format == "jsonl":
            out.write(format_jsonl(item, tags, scheme))
        else:
            out.write(format_inline(item, tags, scheme))
        count += 1
    return count


# ----------------------------------------------------------------------------- command

EPILOG = """\b
Examples:
  tagger tag article.txt --model models/ner                       # CoNLL: token<TAB>tag
  echo "John Smith lives in Paris." | tagger tag --model models/ner --output inline
  tagger tag sentences.tok --input tokens --output jsonl -o tagged.jsonl
  tagger tag test.conllu --input conll --model models/pos          # columns + prediction

\b
--input text      running text; sentences and tokens by syntok (PTB / CoNLL-2003 style)
--input tokens    one sentence per line, tokens separated by whitespace
--input conll     CoNLL columns or CoNLL-U (gold tags ignored)
--output conll    token<TAB>tag (CoNLL input: its columns<TAB>prediction), blank line between sentences
--output jsonl    {"file", "tokens", "offsets", "tags", "spans": [{"label", "start", "end",
                  "start_char", "end_char", "text"}]}; character offsets into the input file
                  (CoNLL input: into the tokens joined by single spaces)
--output inline   [PER John Smith] lives in [LOC Paris] .   (POS models: John/PROPN ...)"""


@click.command("tag", epilog=EPILOG)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@model_option
@click.option("--input", "input_format", type=click.Choice(INPUTS), default="text", show_default=True, help="What the input files hold.")
@click.option("--output", "output_format", type=click.Choice(OUTPUTS), default="conll", show_default=True, help="What to write.")
@click.option(
    "-o",
    "--out",
    "out_file",
    default=None,
    metavar="FILE",
    help="Write here instead of stdout: a file is replaced atomically (a symlink's target; the link is kept), "
    "a FIFO or device is written to. Never an input or a file of the model.",
)
@corpus_format_option
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Sentences per forward pass.")
@device_option
@mixed_precision_option
@engine_option
@allow_download_option
@debug_option
def tag_command(
    files: Tuple[str, ...],
    model_dir: str,
    input_format: str,
    output_format: str,
    out_file: Optional[str],
    corpus_format: Optional[str],
    batch_size: int,
    device: str,
    mixed_precision: bool,
    engine: str,
    allow_download: bool,
) -> None:
    """Tag FILEs (or stdin: no FILE, or `-`) with a trained model.

    Several FILEs are tagged one after another into the same output. Input is streamed:
    any size is tagged in bounded memory, with a progress bar on stderr when it is a terminal.
    """
    paths = list(files) or [STDIN]
    choose_engine(engine, device, mixed_precision)  # a usage error before any file is read
    if paths.count(STDIN) > 1:
        raise click.UsageError("stdin (-) can be read only once")
    if corpus_format not in (None, "auto") and input_format != "conll":
        raise click.UsageError("--format applies to --input conll")
    for path in paths:
        if path != STDIN:
            from corpora.columns import check_file

            check_file(path)  # fail before loading the model

    check_output(out_file, paths, model_dir)  # never tag a file in place, nor write into the model

    with atomic_output(out_file) as out:  # opened first: an unwritable -o fails before the model loads
        tagger = load_tagger(model_dir, engine, device, mixed_precision, allow_download)
        pairs = tag_items(tagger, read_items(paths, input_format, corpus_format or "auto"), batch_size)
        if stderr_is_terminal():
            from tqdm import tqdm

            pairs = tqdm(pairs, unit=" sentences", desc="tagging", leave=False)
        write_tagged(pairs, out, output_format, tagger.scheme)
