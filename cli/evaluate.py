"""``tagger evaluate``: score a model on a labelled CoNLL/CoNLL-U file (or a known corpus's split)
with seqeval, or token accuracy for POS models.

The gold tags are converted to the model's tag scheme first when the two differ, so a model
trained on the Hub's IOB2 CoNLL-2003 (``--dataset conll2003``) can be scored on the original
IOB1 ``eng.testa`` file; entity spans are the same in both schemes.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import click

from cli.options import (
    cache_dir_option,
    corpus_format_option,
    debug_option,
    device_option,
    mixed_precision_option,
    model_option,
    parse_tag_column,
    quiet_datasets,
    tag_column_option,
)

EPILOG = """\b
Examples:
  tagger evaluate dev.txt --model models/ner
  tagger evaluate en_ewt-ud-dev.conllu --model models/pos --tag-column upos
  tagger evaluate dev.txt --model models/ner --mode strict --json
  tagger evaluate --dataset conll2003 --data-dir ../shared/data --split validation --model models/ner"""

Gold = Tuple[List[List[str]], List[List[str]], str]


def gold_from_file(
    path: str, *, corpus_format: str = "auto", tag_column: Union[str, int, None] = None, cache_dir: Optional[str] = None
) -> Gold:
    """Tokens, gold tags and their scheme (as detected) from a CoNLL column or CoNLL-U file.

    Args:
        path: The file.
        corpus_format: ``auto``, ``conll`` or ``conllu``.
        tag_column: The gold column (default: last column, ``upos`` for CoNLL-U).
        cache_dir: The ``datasets`` cache.
    """
    from corpora.hf import load_corpus, source_scheme
    from tagger.api import column_tags, column_values

    with quiet_datasets():
        corpus = load_corpus({"test": path}, format=corpus_format, tag_column=tag_column, cache_dir=cache_dir)
    tags, _ = column_tags(corpus["test"], "tags")
    return column_values(corpus["test"], "tokens"), tags, source_scheme(corpus, "tags")


def gold_from_dataset(
    name: str,
    split: str,
    *,
    data_dir: Optional[str] = None,
    tag_column: Union[str, int, None] = None,
    cache_dir: Optional[str] = None,
) -> Gold:
    """Tokens, gold tags and their scheme from a split of a known corpus (``corpora.KNOWN_CORPORA``)."""
    from corpora.hf import default_tag_column, load_corpus, tag_scheme
    from tagger.api import column_tags, column_values
    from tagger.errors import ConfigError

    with quiet_datasets():
        corpus = load_corpus(name, data_dir, tag_column=tag_column, cache_dir=cache_dir)
    if split not in corpus:
        raise ConfigError(f"{name} has no {split!r} split here; splits: {', '.join(corpus)}")
    column = default_tag_column(corpus)
    tags, _ = column_tags(corpus[split], column)
    return column_values(corpus[split], "tokens"), tags, tag_scheme(corpus, column)


def to_model_scheme(tags: List[List[str]], scheme: str, model_scheme: str) -> List[List[str]]:
    """Gold tags converted to the scheme the model predicts in (unchanged when either is plain)."""
    if scheme == model_scheme or "plain" in (scheme, model_scheme):
        return tags
    from tagger.schemes import convert_tags

    return [convert_tags(sentence, scheme, model_scheme) for sentence in tags]


def check_known_labels(tags: Sequence[Sequence[str]], known: Sequence[str], where: str) -> None:
    """Refuse gold labels the model cannot predict (the scores would be meaningless).

    Raises:
        ConfigError: Naming the data, the unknown labels and the model's labels.
    """
    from tagger.errors import ConfigError

    unknown = sorted({tag for sentence in tags for tag in sentence} - set(known))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
        raise ConfigError(f"label(s) the model does not know: {shown}; the model's labels: {', '.join(known)}", where)


def evaluate_gold(tagger: Any, gold: Gold, where: str, *, mode: str = "default", batch_size: int = 256) -> Any:
    """Score ``tagger`` on gold data; returns a ``tagger.evaluation.EvaluationReport``."""
    from tagger.evaluation import evaluate_tags

    tokens, tags, scheme = gold
    tags = to_model_scheme(tags, scheme, tagger.scheme)
    check_known_labels(tags, tagger.labels, where)
    predicted = tagger.predict(tokens, batch_size=batch_size)
    return evaluate_tags(tags, predicted, tagger.scheme, mode)


@click.command("evaluate", epilog=EPILOG)
@click.argument("file", metavar="FILE", required=False)
@model_option
@corpus_format_option
@tag_column_option
@click.option("--dataset", default=None, metavar="NAME", help="Instead of FILE: a known corpus (conll2003, wnut17, ud_en_ewt, ...).")
@click.option("--data-dir", default=None, metavar="DIR", help="Directory holding <NAME>/ for --dataset  [default: $TAGGER_DATA].")
@click.option("--split", default="validation", show_default=True, help="The --dataset split to score.")
@click.option(
    "--mode",
    type=click.Choice(["default", "strict"]),
    default="default",
    show_default=True,
    help="seqeval mode: default (conlleval-compatible) or strict (only entities valid in the scheme count).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (f1, precision, recall, accuracy, per_type, ...).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Sentences per forward pass.")
@device_option
@mixed_precision_option
@cache_dir_option
@debug_option
def evaluate_command(
    file: Optional[str],
    model_dir: str,
    corpus_format: Optional[str],
    tag_column: Optional[str],
    dataset: Optional[str],
    data_dir: Optional[str],
    split: str,
    mode: str,
    as_json: bool,
    batch_size: int,
    device: str,
    mixed_precision: bool,
    cache_dir: Optional[str],
) -> None:
    """Score a model on a labelled FILE: the seqeval report (entity precision, recall, F1 per type,
    micro and macro averages, token accuracy); precision/recall per tag for POS models.
    """
    if (file is None) == (dataset is None):
        raise click.UsageError("give a labelled FILE or --dataset NAME (one of them)")
    if dataset is not None and corpus_format not in (None, "auto"):
        raise click.UsageError("--format applies to FILE, not to --dataset")
    if file is not None:
        from corpora.columns import check_file

        check_file(file)  # before the model loads
    from tagger.inference import Tagger

    tagger = Tagger.load(model_dir, device=device, mixed_precision=mixed_precision)
    column = parse_tag_column(tag_column)
    if file is not None:
        gold = gold_from_file(file, corpus_format=corpus_format or "auto", tag_column=column, cache_dir=cache_dir)
        where = file
    else:
        gold = gold_from_dataset(dataset, split, data_dir=data_dir, tag_column=column, cache_dir=cache_dir)
        where = f"{dataset} {split}"
    report = evaluate_gold(tagger, gold, where, mode=mode, batch_size=batch_size)
    click.echo(report.to_json() if as_json else report.format_table())
