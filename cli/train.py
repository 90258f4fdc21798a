"""``tagger train``: load a corpus with ``corpora.load_corpus`` and call ``tagger.api.train``.

Every field of TaggerConfig and TrainConfig a user may set is a flag named like the field
(``word_dropout`` -> ``--word-dropout``). A flag that is not on the command line changes nothing:
the value comes from ``--config FILE`` when it has the key, else from the library's default.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import click

from cli.options import (
    cache_dir_option,
    corpus_format_option,
    debug_option,
    parse_tag_column,
    tag_column_option,
)
from tagger.config import (
    CELLS,
    CHAR_ENCODERS,
    OPTIMIZERS,
    POOLINGS,
    TRAINING_SCHEMES,
    TaggerConfig,
    TrainConfig,
)
from tagger.errors import ConfigError

# tagger.embeddings.FORMATS, repeated here so that `--help` does not import numpy (a test keeps them equal).
EMBEDDINGS_FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove", "gensim", "fasttext")

# TaggerConfig fields train() derives from the data; they are not options.
DERIVED_FIELDS = frozenset({"num_words", "num_chars", "num_tags", "training_scheme", "output_scheme", "contextual_dim"})

# (flag declarations, TaggerConfig/TrainConfig field, click type or "flag", help). The help's
# "[default: ...]" comes from the dataclasses, so it cannot drift from the library.
MODEL_OPTIONS: List[Tuple[Tuple[str, ...], str, Any, str]] = [
    (("--cell",), "cell", click.Choice(CELLS), "Recurrent cell of the word encoder."),
    (("--bidirectional/--unidirectional",), "bidirectional", "flag", "Read sentences in both directions, or left to right only."),
    (("--layers",), "layers", int, "Stacked recurrent layers."),
    (("--hidden-size",), "hidden_size", int, "Hidden units per direction."),
    (("--word-dim",), "word_dim", int, "Word-vector size; taken from --embeddings when given."),
    (
        ("--char-encoder",),
        "char_encoder",
        click.Choice(CHAR_ENCODERS),
        "Character encoder: CNN (Ma & Hovy), BiLSTM (Lample et al.) or none.",
    ),
    (("--char-dim",), "char_dim", int, "Character-embedding size."),
    (("--char-hidden",), "char_hidden", int, "CNN filters, or BiLSTM units (both directions)."),
    (("--char-kernel",), "char_kernel", int, "CNN window in characters."),
    (
        ("--lowercase-words/--cased-words",),
        "lowercase_words",
        "flag",
        "One word vector per lowercase form (casing comes from characters and --case-dim), or per form as written.",
    ),
    (("--case-dim",), "case_dim", int, "Size of the word-shape (casing) embedding; 0 disables it."),
    (("--dropout",), "dropout", float, "Dropout on embeddings, between layers and before the output."),
    (
        ("--shared-dropout/--token-dropout",),
        "shared_dropout",
        "flag",
        "One dropout mask per sentence shared by its tokens (variational), or a new mask per token.",
    ),
    (("--crf/--softmax",), "crf", "flag", "Linear-chain CRF or per-token softmax output."),
    (("--freeze-embeddings/--train-embeddings",), "freeze_embeddings", "flag", "Keep pretrained word vectors fixed, or fine-tune them."),
    (
        ("--contextual-layers",),
        "contextual_layers",
        int,
        "Last hidden layers of the --contextual encoder mixed by a learned scalar mix  [default: 4, at most the encoder's]",
    ),
]
TRAIN_OPTIONS: List[Tuple[Tuple[str, ...], str, Any, str]] = [
    (("--optimizer",), "optimizer", click.Choice(OPTIMIZERS), "Optimiser (sgd: with momentum)."),
    (("--lr",), "lr", float, "Learning rate  [default: 0.002 for adam(w), 0.015 x batch-size / 10 (at most 0.1) for sgd]"),
    (("--momentum",), "momentum", float, "SGD momentum."),
    (("--lr-decay",), "lr_decay", float, "SGD decay: lr / (1 + lr-decay x epoch)."),
    (("--weight-decay",), "weight_decay", float, "L2 penalty (decoupled for adamw)."),
    (("--batch-size",), "batch_size", int, "Sentences per batch."),
    (("--max-epochs",), "max_epochs", int, "Upper bound on passes over the training data."),
    (("--patience",), "patience", int, "Stop after this many epochs without a better dev score."),
    (("--clip",), "clip", float, "Gradient-norm clipping; 0 disables it."),
    (
        ("--weight-average",),
        "weight_average",
        float,
        "Decay of the moving average of the weights that is scored on dev and saved (parameter averaging); 0: the last step's weights.",
    ),
    (("--word-dropout",), "word_dropout", float, "Probability of replacing a training word by <unk>."),
    (("--seed",), "seed", int, "Random seed (same seed and data: same model on CPU)."),
    (("--device",), "device", str, "auto, cpu, cuda or cuda:N; cuda without a GPU is an error."),
    (("--mixed-precision/--full-precision",), "mixed_precision", "flag", "Autocast to float16/bfloat16 on a GPU."),
    (("--scheme",), "scheme", click.Choice(TRAINING_SCHEMES), "Tag scheme the model learns entity tags in; predictions use the corpus's."),
    (
        ("--embeddings",),
        "embeddings",
        str,
        "Pretrained word vectors: word2vec .bin/.txt, GloVe .txt, fastText .bin (detected); gensim .kv/.model only with "
        "--embeddings-format gensim.",
    ),
    (
        ("--embeddings-format",),
        "embeddings_format",
        click.Choice(EMBEDDINGS_FORMATS),
        "Format of --embeddings; auto detects all but gensim, whose files are pickles that can run code and are read only when named.",
    ),
    (
        ("--max-vectors",),
        "max_vectors",
        int,
        "The vector file's first N words beyond the training words get rows that keep their pretrained vectors "
        "(0: training words only)  [default: as many as fit in 50 M numbers, all of GloVe 6B 50d]",
    ),
    (
        ("--vocab-from-eval-splits/--no-vocab-from-eval-splits",),
        "vocab_from_eval_splits",
        "flag",
        "The old transductive vocabulary: rows for the dev/test words the vector file has instead of its first words "
        "(--max-vectors adds to them). It inflates dev/test scores over those of unseen text, whose new words get <unk>.",
    ),
    (("--min-count",), "min_count", int, "Training words seen fewer times (and without a vector) map to <unk>."),
    (
        ("--contextual",),
        "contextual",
        str,
        "A Hugging Face encoder (a local directory, or a Hub name in the local cache) whose frozen hidden states, pooled "
        "per word, are features of the tagger; needs pip install tagger[transformers].",
    ),
    (
        ("--contextual-pooling",),
        "contextual_pooling",
        click.Choice(POOLINGS),
        "A word's --contextual feature from its sub-tokens: the first one's, or their mean.",
    ),
    (("--eval-batch-size",), "eval_batch_size", int, "Sentences per batch when scoring the dev set."),
    (("--max-minutes",), "max_minutes", float, "Stop after this much wall-clock time, keeping the best model."),
    (("--num-threads",), "num_threads", int, "CPU threads for torch  [default: torch's choice]"),
]
OPTION_FIELDS = [field for _, field, _, _ in MODEL_OPTIONS + TRAIN_OPTIONS]

# Keys a --config file may hold besides the configuration fields (the data and output flags).
DATA_KEYS = ("dataset", "data_dir", "train", "dev", "test", "format", "tag_column", "out", "cache_dir")


_DEFAULTS = {f.name: f.default for config in (TaggerConfig, TrainConfig) for f in dataclasses.fields(config)}


def _with_default(declarations: Tuple[str, ...], field: str, help_text: str) -> str:
    """The help text with the library's default appended (unless the text states its own)."""
    if "[default:" in help_text:
        return help_text
    default = _DEFAULTS[field]
    if default is None:
        return help_text
    if isinstance(default, bool):
        on, off = declarations[0].split("/")
        default = (on if default else off).lstrip("-")
    return f"{help_text}  [default: {default}]"


def _config_options(function: Callable) -> Callable:
    for declarations, field, kind, help_text in reversed(MODEL_OPTIONS + TRAIN_OPTIONS):
        text = _with_default(declarations, field, help_text)
        if kind == "flag":
            function = click.option(*declarations, field, default=None, help=text)(function)
        else:
            function = click.option(*declarations, field, type=kind, default=None, help=text)(function)
    return function


EPILOG = """\b
Examples:
  # your own CoNLL files (tags: the last column; CoNLL-U: upos)
  tagger train --train train.txt --dev dev.txt --test test.txt --out models/ner
  # a known corpus from $TAGGER_DATA/conll2003/ (or --data-dir DIR)
  tagger train --dataset conll2003 --data-dir ../shared/data --out models/conll-ner \\
      --embeddings glove.6B.100d.txt --max-epochs 30
  # a small GRU-softmax POS tagger, options from a file, flags win
  tagger train --dataset ud_en_ewt --config pos.yaml --cell gru --softmax --out models/pos
  # after Ctrl-C, a kill or a crash: the same command plus --resume
  tagger train --train train.txt --dev dev.txt --out models/ner --resume

\b
A --config file (JSON or YAML) holds the same keys as the flags, with dashes or
underscores, e.g. {"hidden-size": 100, "optimizer": "adam", "lr": 0.001}."""


@click.command("train", epilog=EPILOG)
@click.option("--dataset", default=None, metavar="NAME", help="A known corpus: conll2003, conll2000, wnut17 or ud_en_ewt.")
@click.option("--data-dir", default=None, metavar="DIR", help="Directory holding <NAME>/ folders for --dataset  [default: $TAGGER_DATA].")
@click.option("--train", "train_file", default=None, metavar="PATH", help="Training file (CoNLL columns or CoNLL-U).")
@click.option("--dev", "dev_file", default=None, metavar="PATH", help="Development file: early stopping and model selection.")
@click.option("--test", "test_file", default=None, metavar="PATH", help="Test file, scored once at the end.")
@corpus_format_option
@tag_column_option
@click.option("--out", "-o", "out_dir", default=None, metavar="DIR", help="The model directory to write (required).")
@click.option("--force", is_flag=True, default=None, help="Replace an existing model in --out (and start afresh over a checkpoint).")
@click.option(
    "--resume",
    is_flag=True,
    default=None,
    help="Continue the interrupted run checkpointed in <out>.checkpoint; give the same options and data.",
)
@click.option("--config", "config_file", default=None, metavar="FILE", help="JSON or YAML file of options; flags override it.")
@cache_dir_option
@click.option("--repair-tags/--no-repair-tags", default=None, help="Read gold tag sequences the scheme forbids the conlleval way.")
@click.option(
    "--allow-download",
    is_flag=True,
    default=None,
    help="Let --contextual download its encoder from the Hugging Face Hub when the local cache lacks it (never otherwise).",
)
@_config_options
@debug_option
@click.pass_context
def train_command(ctx: click.Context, **params: Any) -> None:
    """Train a tagger on CoNLL/CoNLL-U files or a known corpus and write a model directory.

    Shows a progress bar per epoch (on a terminal) and, at the end, the seqeval report on the
    dev set (and the test set when given) and where the model was written. The run is
    checkpointed in <out>.checkpoint at the end of every epoch and on Ctrl-C or SIGTERM;
    --resume continues it to the model an uninterrupted run would have written.
    """
    values = _merged_values(ctx, params)
    out_dir = values.pop("out", None)
    if not out_dir:
        raise click.UsageError("--out DIR is required (the model directory to write)")
    dataset, tag_column = load_training_corpus(values)
    options = {field: values[field] for field in OPTION_FIELDS if field in values}
    if options.get("embeddings"):
        from cli.options import check_input_file

        check_input_file(options["embeddings"], "embeddings file")

    from tagger.api import train

    flags = {name: bool(values.get(name)) for name in ("force", "resume", "allow_download")}
    tagger = train(dataset, tag_column, out_dir, **flags, **options)
    scores = tagger.meta.get("scores", {})
    for split, report in scores.items():
        click.echo(f"{split}:")
        click.echo(format_report(report))
        click.echo("")
    click.echo(f"model written to {out_dir}")


def _merged_values(ctx: click.Context, params: Dict[str, Any]) -> Dict[str, Any]:
    """Option values: the --config file's, overridden by the flags actually given."""
    by_key = _config_keys(ctx.command)
    values: Dict[str, Any] = {}
    if params.get("config_file"):
        values.update(read_config(params["config_file"], by_key, ctx))
    for key, param in by_key.items():
        source = ctx.get_parameter_source(param.name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT"):
            values[key] = params[param.name]
    return values


def _config_keys(command: click.Command) -> Dict[str, click.Parameter]:
    """Config key (a flag's long name, dashes as underscores) -> its click parameter."""
    keys = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in ("config_file", "debug") or param.name is None:
            continue
        long_names = [o for o in param.opts if o.startswith("--")]
        if long_names:
            keys[long_names[0][2:].replace("-", "_")] = param
    return keys


def read_config(path: str, by_key: Dict[str, click.Parameter], ctx: click.Context) -> Dict[str, Any]:
    """Read a JSON or YAML option file; keys may use dashes or underscores.

    Raises:
        ConfigError: Unreadable file, not a mapping, an unknown key or a bad value (naming the file).
    """
    from cli.options import check_input_file

    check_input_file(path, "config file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path) from None
    if Path(path).suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
    else:
        import yaml

        try:
            raw = yaml.safe_load(text)  # YAML is a superset of JSON: either kind of file reads
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"not valid YAML or JSON ({problem})", path, mark.line + 1 if mark else None) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping of option -> value, got {type(raw).__name__}", path)
    values = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        param = by_key.get(name)
        if param is None:
            known = ", ".join(sorted(by_key))
            raise ConfigError(f"unknown option {key!r}; known: {known}", path)
        if value is None:
            continue
        try:
            values[name] = param.type.convert(value, param, ctx) if not isinstance(value, (list, dict)) else _bad(value)
        except click.BadParameter as exc:
            raise ConfigError(f"bad value for {key!r}: {exc.format_message()}", path) from None
    return values


def _bad(value: Any) -> Any:
    raise click.BadParameter(f"expected a single value, got {json.dumps(value)}")


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

    from cli.evaluate import report_repairs
    from cli.options import quiet_datasets
    from corpora.hf import default_tag_column, load_corpus

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


def format_report(report: Any) -> str:
    """A seqeval-style table for a report or its ``to_dict()`` form (as stored in meta.json)."""
    from tagger.evaluation import EvaluationReport, TypeScores

    if isinstance(report, EvaluationReport):
        return report.format_table()
    try:
        per_type = {name: TypeScores(**scores) for name, scores in report.get("per_type", {}).items()}
        return EvaluationReport(**{**report, "per_type": per_type}).format_table()
    except (TypeError, AttributeError):  # written by another version: show what is there
        return json.dumps(report, indent=2, sort_keys=True)
