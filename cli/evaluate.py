"""``tagger evaluate``: score a model on a labelled CoNLL/CoNLL-U file (or a known corpus's split):
entity precision/recall/F1, or token accuracy for POS models.

This command only parses options, loads the corpus and formats the report: the scoring, the
conversion of the gold tags to the model's scheme (so a model trained on the Hub's IOB2
CoNLL-2003 can be scored on the original IOB1 ``eng.testa``) and the label checks are
``tagger.api.evaluate``'s, the library's one evaluation path.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import click

from cli.options import (
    allow_download_option,
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
  tagger evaluate dev.txt --model models/ner --repair-tags
  tagger evaluate --dataset conll2003 --data-dir ../shared/data --split validation --model models/ner"""


def report_repairs(corpus: Any, splits: Sequence[str], where: str) -> None:
    """One line on stderr when ``load_corpus`` repaired tag sequences of ``splits`` (``--repair-tags``)."""
    from corpora.hf import repair_counts

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
    from corpora.hf import default_tag_column, load_corpus
    from tagger.errors import ConfigError

    with quiet_datasets():
        if file is not None:
            corpus = load_corpus({"test": file}, format=corpus_format, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair_tags)
            split, where = "test", file
        else:
            corpus = load_corpus(dataset, data_dir, tag_column=tag_column, cache_dir=cache_dir, repair_tags=repair_tags)
            where = f"{dataset} {split}"
    if split not in corpus:
        raise ConfigError(f"{dataset} has no {split!r} split here; splits: {', '.join(corpus)}")
    report_repairs(corpus, [split], where)
    return corpus[split], default_tag_column(corpus)


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
@click.option(
    "--repair-tags/--no-repair-tags",
    default=None,
    help="Read gold tag sequences the file's scheme forbids the conlleval way (counted on stderr) instead of "
    "refusing them  [default: refuse for FILE, repair for --dataset, as the Hub copies are].",
)
@device_option
@mixed_precision_option
@cache_dir_option
@allow_download_option
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
    repair_tags: Optional[bool],
    device: str,
    mixed_precision: bool,
    cache_dir: Optional[str],
    allow_download: bool,
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
    from tagger.api import evaluate
    from tagger.inference import Tagger

    tagger = Tagger.load(model_dir, device=device, mixed_precision=mixed_precision, allow_download=allow_download)
    gold, column = load_gold(
        file,
        dataset,
        split,
        corpus_format=corpus_format or "auto",
        data_dir=data_dir,
        tag_column=parse_tag_column(tag_column),
        cache_dir=cache_dir,
        repair_tags=repair_tags,
    )
    report = evaluate(tagger, gold, column, mode=mode, batch_size=batch_size)
    click.echo(report.to_json() if as_json else report.format_table())
