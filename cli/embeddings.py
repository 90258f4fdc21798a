"""``tagger embeddings train|info``: train word vectors with gensim, or describe a vector file.

Both call the library (``tagger.vectors.train_vectors``, ``tagger.embeddings.vectors_info``); gensim
is imported there, inside the functions, so the commands' ``--help`` stays fast.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

import click

from tagger.cli.options import debug_option
from tagger.cli.train_options import EMBEDDINGS_FORMATS


def _echo_info(info: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info.to_dict(), ensure_ascii=False, sort_keys=True))
        return
    click.echo(f"file         {info.path}")
    click.echo(f"format       {info.format}{' (with character n-grams: any word gets a vector)' if info.subwords else ''}")
    click.echo(f"vocabulary   {info.vocab_size:,} words")
    click.echo(f"dimension    {info.dim}")
    for word, neighbours in info.neighbours.items():
        click.echo(f"nearest to {word!r}:")
        for other, similarity in neighbours:
            click.echo(f"  {similarity:7.4f}  {other}")


@click.group(
    "embeddings",
    epilog="""\b
Examples:
  tagger embeddings train corpus.txt --out vectors.bin --algorithm word2vec --architecture skipgram
  tagger embeddings info vectors.bin --word Paris""",
)
def embeddings_group() -> None:
    """Train word vectors with gensim (word2vec, fastText), or describe a vector file."""


TRAIN_EPILOG = """\b
Examples:
  tagger embeddings train corpus.txt --out vectors.bin
  tagger embeddings train ../shared/data/conll2003/train.txt --out ft.bin \\
      --algorithm fasttext --architecture skipgram --dim 100 --min-count 2 --buckets 200000
  tagger train --train train.txt --dev dev.txt --embeddings vectors.bin --out models/ner

\b
CORPUS is running text (one sentence per line, tokens separated by whitespace) or a
CoNLL/CoNLL-U file (its tokens). word2vec vectors are saved as word2vec binary, fastText as a
Facebook .bin model (keeps the character n-grams); `tagger train --embeddings` reads both."""


@embeddings_group.command("train", epilog=TRAIN_EPILOG)
@click.argument("corpus", metavar="CORPUS")
@click.option("--out", "-o", "out_file", required=True, metavar="FILE", help="The vector file to write (atomically).")
@click.option("--algorithm", type=click.Choice(["word2vec", "fasttext"]), default="word2vec", show_default=True)
@click.option("--architecture", type=click.Choice(["cbow", "skipgram"]), default="cbow", show_default=True)
@click.option("--dim", type=click.IntRange(min=1), default=100, show_default=True, help="Vector size.")
@click.option("--window", type=click.IntRange(min=1), default=5, show_default=True, help="Context words on each side.")
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True, help="Ignore rarer words.")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True, help="Passes over the corpus.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Training threads; 1 gives identical vectors on every run  [default: up to 4].",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--format",
    "corpus_format",
    type=click.Choice(["auto", "text", "conll", "conllu"]),
    default="auto",
    show_default=True,
    help="Corpus format (auto: CoNLL-U, a column file with 2-20 columns, else running text).",
)
@click.option("--lowercase", is_flag=True, help="Lowercase the corpus first.")
@click.option(
    "--buckets",
    type=click.IntRange(min=1),
    default=None,
    help="fastText: hash buckets for character n-grams; the file holds buckets x dim floats  [default: 2000000].",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--word", "words", multiple=True, metavar="WORD", help="Also print the nearest neighbours of WORD (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@debug_option
def train_vectors_command(
    corpus: str, out_file: str, corpus_format: str, lowercase: bool, force: bool, words: Tuple[str, ...], as_json: bool, **sizes: Any
) -> None:
    """Train word2vec (CBOW or skip-gram) or fastText vectors on CORPUS with gensim."""
    from tagger.corpora.sentences import CorpusSentences
    from tagger.vectors import VectorTrainingConfig, train_vectors

    # sizes: algorithm, architecture, dim, window, min_count, epochs, workers, seed, buckets
    config = VectorTrainingConfig(**sizes)
    info = train_vectors(CorpusSentences(corpus, corpus_format, lowercase=lowercase), out_file, config, force=force, neighbours_of=words)
    _echo_info(info, as_json)
    if not as_json:
        click.echo(f"vectors written to {out_file}")


INFO_EPILOG = """\b
Examples:
  tagger embeddings info vectors.bin --word Paris --word Monday
  tagger embeddings info glove.6B.100d.txt --word paris --topn 5 --limit 100000
  tagger embeddings info vectors.kv --format gensim   # a pickle: only for a file you trust

\b
gensim's own files (.kv, .model) are pickles, which can run code when loaded: they are read
only with --format gensim, never detected."""


@embeddings_group.command("info", epilog=INFO_EPILOG)
@click.argument("file", metavar="FILE")
@click.option("--word", "words", multiple=True, metavar="WORD", help="Print the nearest neighbours of WORD (repeatable).")
@click.option("--topn", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours per word.")
@click.option(
    "--format",
    "vectors_format",
    type=click.Choice(EMBEDDINGS_FORMATS),
    default="auto",
    show_default=True,
    help="The file's format; auto detects all but gensim, whose pickles can run code and are read only when named.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Read only the first N vectors (word2vec and GloVe files).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@debug_option
def info_vectors_command(file: str, words: Tuple[str, ...], topn: int, vectors_format: str, limit: Optional[int], as_json: bool) -> None:
    """Show the vocabulary size and dimension of a vector FILE, and nearest neighbours of --word."""
    from tagger.embeddings import vectors_info

    info = vectors_info(file, words, topn=topn, format=vectors_format, limit=limit)
    _echo_info(info, as_json)
