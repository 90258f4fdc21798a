"""``tagger tag``: read text, token lines or CoNLL files, tag them with ``Tagger.iter_tag`` and write
CoNLL, JSON lines (with span scores, and per-token probabilities or n best paths when asked) or
inline brackets (``tagger.writers``).

The readers are ``corpora.inputs``'s, the engine rule ``tagger.engines``'s: this command checks the
options, opens the output and connects the three. Input is streamed, so memory stays bounded on any size.
"""

from __future__ import annotations

from typing import Optional, Tuple

import click

from tagger.cli.options import (
    allow_download_option,
    corpus_format_option,
    debug_option,
    device_option,
    engine_option,
    mixed_precision_option,
    model_option,
    stderr_is_terminal,
)
from tagger.cli.output import atomic_output, check_output
from tagger.corpora.inputs import INPUT_FORMATS, STDIN
from tagger.engines import choose_engine
from tagger.writers import WRITERS

EPILOG = """\b
Examples:
  tagger tag article.txt --model models/ner                       # CoNLL: token<TAB>tag
  echo "John Smith lives in Paris." | tagger tag --model models/ner --output inline
  tagger tag sentences.tok --input tokens --output jsonl -o tagged.jsonl
  tagger tag test.conllu --input conll --model models/pos          # columns + prediction
  tagger tag article.txt --model models/ner --output jsonl --probs --nbest 3

\b
--input text      running text; sentences and tokens by syntok (PTB / CoNLL-2003 style)
--input tokens    one sentence per line, tokens separated by whitespace
--input conll     CoNLL columns or CoNLL-U (gold tags ignored)
--output conll    token<TAB>tag (CoNLL input: its columns<TAB>prediction), blank line between sentences
--output jsonl    {"file", "tokens", "offsets", "tags", "spans": [{"label", "start", "end",
                  "start_char", "end_char", "text", "score"}]}; character offsets into the input file
                  (CoNLL input: into the tokens joined by single spaces); "score": the probability
                  that exactly these tokens carry this label
  --probs         adds "labels" (the model's labels, once per line) and "probs": per token, the
                  probability of each label, in "labels" order
  --nbest K       adds "nbest": the K best tag paths, [{"tags", "score", "probability"}], best first
--output inline   [PER John Smith] lives in [LOC Paris] .   (POS models: John/PROPN ...)"""


@click.command("tag", epilog=EPILOG)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@model_option
@click.option(
    "--input", "input_format", type=click.Choice(INPUT_FORMATS), default="text", show_default=True, help="What the input files hold."
)
@click.option("--output", "output_format", type=click.Choice(list(WRITERS)), default="conll", show_default=True, help="What to write.")
@click.option(
    "-o",
    "--out",
    "out_file",
    default=None,
    metavar="FILE",
    help="Write here instead of stdout: a file is replaced atomically (a symlink's target; the link is kept), "
    "a FIFO or device is written to. Never an input or a file of the model.",
)
@click.option("--probs", is_flag=True, help="With --output jsonl: each token's probability of every label.")
@click.option(
    "--nbest",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="With --output jsonl: the K best tag paths of each sentence, with their scores and probabilities.",
)
@corpus_format_option
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Sentences per forward pass.")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=1024),
    default=1,
    show_default=True,
    help="Processes that tag (each loads the model once; the cores are shared out among them). The output is the same, in input order.",
)
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
    probs: bool,
    nbest: Optional[int],
    corpus_format: Optional[str],
    batch_size: int,
    workers: int,
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
    for given, option in ((probs, "--probs"), (nbest, "--nbest")):
        if given and output_format != "jsonl":
            raise click.UsageError(f"{option} applies to --output jsonl")
    if nbest:
        from tagger.confidence import MAX_NBEST  # imported here: numpy is not for --help

        if nbest > MAX_NBEST:
            raise click.UsageError(f"--nbest {nbest} is more than {MAX_NBEST} paths")
    for path in paths:
        if path != STDIN:
            from tagger.corpora.columns import check_file

            check_file(path)  # fail before loading the model

    check_output(out_file, paths, model_dir)  # never tag a file in place, nor write into the model

    from tagger.allocator import keep_freed_memory
    from tagger.corpora.inputs import read_inputs
    from tagger.parallel import iter_tag_parallel
    from tagger.writers import write_sentences

    keep_freed_memory()  # the CLI's opt-in: glibc keeps freed buffers for reuse (see tagger.allocator)
    with atomic_output(out_file) as out:  # opened first: an unwritable -o fails before the model loads
        inputs = read_inputs(paths, input_format, corpus_format or "auto")
        tagged = iter_tag_parallel(
            model_dir,
            inputs,
            workers,
            engine=engine,
            device=device,
            mixed_precision=mixed_precision,
            allow_download=allow_download,
            batch_size=batch_size,
            scores=output_format == "jsonl",  # JSON lines always carry span scores; the other formats have nowhere to put them
            probs=probs,
            nbest=nbest or 0,
        )
        if stderr_is_terminal():
            from tqdm import tqdm

            tagged = tqdm(tagged, unit=" sentences", desc="tagging", leave=False)
        write_sentences(tagged, out, output_format)
