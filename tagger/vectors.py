"""Train word vectors with gensim (Word2Vec CBOW/skip-gram or FastText) and save them.

The library twin of ``tagger embeddings train``. Training takes any re-iterable of token lists
(``corpora.sentences.CorpusSentences`` reads one from a raw-text or CoNLL/CoNLL-U file) and writes
a file ``tagger train --embeddings`` reads: word2vec vectors as word2vec binary, FastText as a
Facebook ``.bin`` model (which keeps the character n-grams, so words outside the vocabulary still
get vectors). Reading vector files is ``tagger.embeddings``'s job alone (``vectors_info``,
``load_vectors``). gensim is imported only inside the functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from tagger.embeddings import VectorsInfo, nearest_neighbours
from tagger.errors import ConfigError
from tagger.files import atomic_path

ALGORITHMS = ("word2vec", "fasttext")
ARCHITECTURES = ("cbow", "skipgram")

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class VectorTrainingConfig:
    """How gensim trains the vectors; every field is checked on construction.

    Attributes:
        algorithm: ``word2vec`` or ``fasttext``.
        architecture: ``cbow`` or ``skipgram``.
        dim: Vector size.
        window: Context words on each side.
        min_count: Ignore words seen fewer times.
        epochs: Passes over the corpus.
        workers: Training threads (default: up to 4); use 1 for bit-identical vectors across runs.
        seed: Random seed.
        buckets: fastText only: hash buckets for the character n-grams (default gensim's
            2,000,000; the file holds ``buckets x dim`` floats, 800 MB at 100d).

    Raises:
        ConfigError: A choice that is not one of the known ones, or a size below 1.
    """

    algorithm: str = "word2vec"
    architecture: str = "cbow"
    dim: int = 100
    window: int = 5
    min_count: int = 5
    epochs: int = 5
    workers: Optional[int] = None
    seed: int = 42
    buckets: Optional[int] = None

    def __post_init__(self) -> None:
        _check_choice("algorithm", self.algorithm, ALGORITHMS)
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        for name in ("dim", "window", "min_count", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be >= 1 (an integer), got {value!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1):
            raise ConfigError(f"workers must be >= 1 (an integer), got {self.workers!r}")
        if self.buckets is not None and (self.algorithm != "fasttext" or not isinstance(self.buckets, int) or self.buckets < 1):
            raise ConfigError(f"buckets applies to fasttext and must be >= 1, got {self.buckets} for {self.algorithm}")


def train_vectors(
    sentences: Iterable[List[str]],
    out: PathLike,
    config: Optional[VectorTrainingConfig] = None,
    *,
    force: bool = False,
    neighbours_of: Sequence[str] = (),
    topn: int = 10,
) -> VectorsInfo:
    """Train word vectors on ``sentences`` with gensim and write them atomically to ``out``.

    Args:
        sentences: The corpus's token lists, iterable more than once (gensim makes several passes),
            e.g. ``corpora.sentences.CorpusSentences(path)``; its ``path``, when it has one, names
            the corpus in errors.
        out: The vector file to write: word2vec binary for ``word2vec``, a Facebook fastText
            ``.bin`` for ``fasttext``.
        config: The algorithm and its sizes (default: ``VectorTrainingConfig()``).
        force: Replace an existing ``out``.
        neighbours_of: Words whose nearest neighbours the returned info lists.
        topn: Neighbours per word.

    Returns:
        The written file's description.

    Raises:
        ConfigError: ``out`` exists without ``force`` (or cannot be written there), ``sentences`` is a
            one-pass iterator, or no word is frequent enough.
        CorpusFormatError: The corpus cannot be read.
    """
    config = config or VectorTrainingConfig()
    out_path = _check_out(out, force)
    if iter(sentences) is sentences:
        raise ConfigError("sentences must be iterable more than once (gensim makes several passes), not a one-pass iterator")
    model = _fit_gensim(sentences, config)
    _save(model, out_path, config.algorithm)
    fmt = "fasttext" if config.algorithm == "fasttext" else "word2vec-binary"
    neighbours = nearest_neighbours(model.wv, neighbours_of, topn, str(out_path))
    return VectorsInfo(str(out_path), fmt, len(model.wv), int(model.wv.vector_size), config.algorithm == "fasttext", neighbours)


def _check_out(out: PathLike, force: bool) -> Path:
    """``out`` as a Path, refused when it cannot or must not be written.

    Raises:
        ConfigError: a directory, an existing file without ``force``, or a missing parent directory.
    """
    out_path = Path(out)
    if out_path.is_dir():
        raise ConfigError("is a directory; --out names the vector file to write", out_path)
    if out_path.exists() and not force:
        raise ConfigError("already exists; pass --force (force=True) to replace it", out_path)
    if not out_path.parent.is_dir():
        raise ConfigError("parent directory does not exist", out_path.parent)
    return out_path


def _fit_gensim(sentences: Iterable[List[str]], config: VectorTrainingConfig) -> Any:
    """The trained gensim Word2Vec or FastText model.

    Raises:
        ConfigError: no word occurs ``min_count`` times.
    """
    from gensim.models import FastText, Word2Vec

    options: Dict[str, Any] = {} if config.buckets is None else {"bucket": config.buckets}
    model_class = FastText if config.algorithm == "fasttext" else Word2Vec
    model = model_class(
        vector_size=config.dim,
        window=config.window,
        min_count=config.min_count,
        sg=1 if config.architecture == "skipgram" else 0,
        workers=config.workers or min(4, os.cpu_count() or 1),
        seed=config.seed,
        **options,
    )
    model.build_vocab(corpus_iterable=sentences)
    if not len(model.wv):
        source = getattr(sentences, "path", None)
        raise ConfigError(f"no word occurs min_count={config.min_count} times in the corpus; lower --min-count", source)
    model.train(corpus_iterable=sentences, total_examples=model.corpus_count, epochs=config.epochs)
    return model


def _save(model: Any, out_path: Path, algorithm: str) -> None:
    """Writes ``model``'s vectors atomically: a Facebook ``.bin`` for fastText, else word2vec binary."""
    with atomic_path(out_path) as tmp:
        if algorithm == "fasttext":
            from gensim.models.fasttext import save_facebook_model

            save_facebook_model(model, str(tmp))
        else:
            model.wv.save_word2vec_format(str(tmp), binary=True)


def _check_choice(option: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
