"""Loading the corpora ``tagger train`` and ``tagger evaluate`` read (``corpora.load_corpus``), with a note on repairs.

What is CLI here: the choice between --dataset and files (usage errors), the quiet progress bars
and the one line on stderr that counts repaired tag sequences.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import click

from tagger.cli.options import stderr_is_terminal


def parse_tag_column(value: Union[str, int, None]) -> Union[str, int, None]:
    """A ``--tag-column`` value: an int when it looks like one (``3``, ``-1``), else the name."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else text


@contextlib.contextmanager
def quiet_datasets() -> Iterator[None]:
    """Hide the ``datasets`` progress bars ("Generating train split") unless stderr is a terminal."""
    if stderr_is_terminal():
        yield
        return
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def report_repairs(corpus: Any, splits: Sequence[str], where: str) -> None:
    """One line on stderr when ``load_corpus`` repaired tag sequences of ``splits`` (``--repair-tags``)."""
    from tagger.provenance import repair_counts

    counts = repair_counts(corpus)
    total = sum(n for split in splits for n in counts.get(split, {}).values())
    if total:
        plural = "s" if total != 1 else ""
        click.echo(f"tagger: note: repaired {total} tag sequence{plural} the conlleval way in {where}", err=True)


def load_gold(
    file: Optional[str],
    dataset: Optional[str],
    split: str,
    *,
    corpus_format: str = "auto",
    data_dir: Optional[str] = None,
    tag_column: Union[str, int, None] = None,
    cache_dir: Optional[str] = None,
    repair_tags: Optional[bool] = None,
) -> Tuple[Any, str]:
    """The split to score (a ``datasets.Dataset`` from ``corpora.load_corpus``) and its gold column.

    Raises:
        ConfigError: A known corpus without the split.
    """
    from tagger.corpora.hf import load_corpus
    from tagger.errors import ConfigError
    from tagger.provenance import default_tag_column

    with quiet_datasets():
        if file is not None:
            corpus = load_corpus({"test": file}, format=corpus_format, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair_tags)
            split, where = "test", file
        else:
            assert dataset is not None  # the command checked: a FILE or a --dataset
            corpus = load_corpus(dataset, data_dir, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair_tags)
            where = f"{dataset} {split}"
    if split not in corpus:
        raise ConfigError(f"{dataset} has no {split!r} split here; splits: {', '.join(corpus)}")
    report_repairs(corpus, [split], where)
    return corpus[split], default_tag_column(corpus)


def load_training_corpus(values: Dict[str, Any]) -> Tuple[Any, str]:
    """The DatasetDict to train on and its tag column, from --dataset or --train/--dev/--test.

    Gold tag sequences the file's scheme forbids are refused, or with --repair-tags read the
    conlleval way; one note on stderr says how many were repaired.

    Raises:
        click.UsageError: Neither or both ways of naming the data.
    """
    dataset = values.get("dataset")
    files = {split: values.get(key) for split, key in (("train", "train"), ("validation", "dev"), ("test", "test"))}
    fmt = values.get("format") or "auto"
    tag_column = parse_tag_column(values.get("tag_column"))
    cache_dir = values.get("cache_dir")
    repair = values.get("repair_tags")
    if dataset and any(files.values()):
        raise click.UsageError("give either --dataset NAME or --train/--dev/--test files, not both")
    if not dataset and not files["train"]:
        raise click.UsageError("give --dataset NAME, or --train PATH (with --dev PATH) for your own files")

    from tagger.corpora.hf import load_corpus
    from tagger.provenance import default_tag_column

    if dataset:
        data_dir = values.get("data_dir")
        with quiet_datasets():
            corpus = load_corpus(dataset, data_dir, format=fmt, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair)
        report_repairs(corpus, list(corpus), dataset)
        return corpus, default_tag_column(corpus)
    if values.get("data_dir"):
        raise click.UsageError("--data-dir goes with --dataset; give file paths with --train/--dev/--test")
    if not files["validation"]:
        click.echo("tagger: note: no --dev file: training runs --max-epochs epochs without early stopping", err=True)
    given = {split: path for split, path in files.items() if path}
    with quiet_datasets():
        corpus = load_corpus(given, format=fmt, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair)
    report_repairs(corpus, list(corpus), "the training data")
    return corpus, "tags"
