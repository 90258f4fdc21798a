"""The options of ``tagger train`` that set TaggerConfig and TrainConfig fields, declared once as data.

Every field a user may set is a flag named like the field (``word_dropout`` -> ``--word-dropout``),
with the help's ``[default: ...]`` taken from the dataclasses, so it cannot drift from the library.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, List, Tuple

import click

from tagger.config import CELLS, CHAR_ENCODERS, OPTIMIZERS, POOLINGS, TRAINING_SCHEMES, TaggerConfig, TrainConfig

# tagger.embeddings.FORMATS, repeated here so that `--help` does not import numpy (a test keeps them equal).
EMBEDDINGS_FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove", "gensim", "fasttext")

# (flag declarations, TaggerConfig/TrainConfig field, click type or "flag", help without the default).
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


def config_options(function: Callable) -> Callable:
    """Every MODEL_OPTIONS and TRAIN_OPTIONS flag on ``function`` (a click command), each defaulting to None (not given)."""
    for declarations, field, kind, help_text in reversed(MODEL_OPTIONS + TRAIN_OPTIONS):
        text = _with_default(declarations, field, help_text)
        kind = None if kind == "flag" else kind  # a flag's type comes from its on/off declaration
        function = click.option(*declarations, field, type=kind, default=None, help=text)(function)
    return function
