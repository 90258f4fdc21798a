"""``tagger train``: load a corpus with ``corpora.load_corpus`` and call ``tagger.api.train``.

Every field of TaggerConfig and TrainConfig a user may set is a flag named like the field
(``word_dropout`` -> ``--word-dropout``). A flag that is not on the command line changes nothing:
the value comes from ``--config FILE`` when it has the key, else from the library's default.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import click

from tagger.cli.corpus import load_training_corpus
from tagger.cli.options import (
    cache_dir_option,
    corpus_format_option,
    debug_option,
    tag_column_option,
)
from tagger.cli.train_options import OPTION_FIELDS, config_options
from tagger.errors import ConfigError
from tagger.evaluation import format_report
from tagger.option_files import read_option_file

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
@config_options
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
        from tagger.cli.options import check_input_file

        check_input_file(options["embeddings"], "embeddings file")

    from tagger.allocator import keep_freed_memory
    from tagger.api import train

    keep_freed_memory()  # the CLI's opt-in: glibc keeps freed buffers for reuse (see tagger.allocator)
    force, resume, allow_download = (bool(values.get(name)) for name in ("force", "resume", "allow_download"))
    tagger = train(dataset, tag_column, out_dir, force=force, resume=resume, allow_download=allow_download, **options)
    for split, report in tagger.meta.get("scores", {}).items():
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
    keys: Dict[str, click.Parameter] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in ("config_file", "debug") or param.name is None:
            continue
        long_names = [o for o in param.opts if o.startswith("--")]
        if long_names:
            keys[long_names[0][2:].replace("-", "_")] = param
    return keys


def read_config(path: str, by_key: Dict[str, click.Parameter], ctx: click.Context) -> Dict[str, Any]:
    """The options of a JSON or YAML file (``tagger.option_files``), converted by the flags' own click types.

    Raises:
        ConfigError: Unreadable file, not a mapping, an unknown key or a bad value (naming the file).
    """
    values = {}
    for key, value in read_option_file(path).items():
        name = key.replace("-", "_")
        param = by_key.get(name)
        if param is None:
            raise ConfigError(f"unknown option {key!r}; known: {', '.join(sorted(by_key))}", path)
        if value is None:
            continue
        try:
            values[name] = param.type.convert(value, param, ctx) if not isinstance(value, (list, dict)) else _bad(value)
        except click.BadParameter as exc:
            raise ConfigError(f"bad value for {key!r}: {exc.format_message()}", path) from None
    return values


def _bad(value: Any) -> Any:
    raise click.BadParameter(f"expected a single value, got {json.dumps(value)}")
