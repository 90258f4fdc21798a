"""``tagger evaluate``: score a model on a labelled CoNLL/CoNLL-U file (or a known corpus's split):
entity precision/recall/F1, or token accuracy for POS models.

This command only parses options, loads the corpus and formats the report: the scoring, the
conversion of the gold tags to the model's scheme (so a model trained on the Hub's IOB2
CoNLL-2003 can be scored on the original IOB1 ``eng.testa``) and the label checks are
``tagger.api.evaluate``'s, the library's one evaluation path.
"""

from __future__ import annotations

from typing import Optional

import click

from tagger.cli.corpus import load_gold, parse_tag_column
from tagger.cli.options import (
    allow_download_option,
    cache_dir_option,
    corpus_format_option,
    debug_option,
    device_option,
    engine_option,
    mixed_precision_option,
    model_option,
    tag_column_option,
)

EPILOG = """\b
Examples:
  tagger evaluate dev.txt --model models/ner
  tagger evaluate en_ewt-ud-dev.conllu --model models/pos --tag-column upos
  tagger evaluate dev.txt --model models/ner --mode strict --json
  tagger evaluate dev.txt --model models/ner --repair-tags
  tagger evaluate dev.txt --model ner.onnx                         # the exported model, on onnxruntime
  tagger evaluate --dataset conll2003 --data-dir ../shared/data --split validation --model models/ner"""


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
@engine_option
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
    engine: str,
    cache_dir: Optional[str],
    allow_download: bool,
) -> None:
    """Score a model on a labelled FILE: the seqeval report (entity precision, recall, F1 per type,
    micro and macro averages, token accuracy); precision/recall per tag for POS models.

    The model runs on the engine `tagger tag` would use with the same --engine and --device.
    """
    if (file is None) == (dataset is None):
        raise click.UsageError("give a labelled FILE or --dataset NAME (one of them)")
    if dataset is not None and corpus_format not in (None, "auto"):
        raise click.UsageError("--format applies to FILE, not to --dataset")
    if file is not None:
        from tagger.corpora.columns import check_file

        check_file(file)  # before the model loads
    from tagger.allocator import keep_freed_memory
    from tagger.api import evaluate
    from tagger.engines import choose_engine, load

    choose_engine(engine, device, mixed_precision)  # a usage error before the corpus is read
    keep_freed_memory()  # the CLI's opt-in: glibc keeps freed buffers for reuse (see tagger.allocator)

    tagger = load(model_dir, engine=engine, device=device, mixed_precision=mixed_precision, allow_download=allow_download)
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
