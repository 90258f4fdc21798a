"""The two configurations of a tagger: its architecture (TaggerConfig) and its training (TrainConfig)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Type, TypeVar

from tagger.errors import ConfigError

FORMAT_VERSION = 1
"""Version of the model-directory format; a model written by a newer format is refused."""

CELLS = ("lstm", "gru", "rnn")
CHAR_ENCODERS = ("cnn", "lstm", "none")
OPTIMIZERS = ("sgd", "adam", "adamw")
TRAINING_SCHEMES = ("iobes", "iob2", "same")

C = TypeVar("C", bound="_JsonConfig")


class _JsonConfig:
    """JSON (de)serialisation shared by both configurations: unknown keys and bad values are refused."""

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls: Type[C], values: Dict[str, Any], *, source: str = "config") -> C:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", source)
        return cls(**values)

    @classmethod
    def from_json(cls: Type[C], text: str, *, source: str = "config") -> C:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"not valid JSON ({error.msg})", source, error.lineno) from None
        if not isinstance(values, dict):
            raise ConfigError("expected a JSON object", source)
        return cls.from_dict(values, source=source)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _check_choice(option: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def _check_positive(option: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{option} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class TaggerConfig(_JsonConfig):
    """Architecture of a SequenceTagger; the only input to its constructor.

    The sizes of the vocabularies are part of it so that a saved model can be rebuilt from
    ``config.json`` alone before its weights are loaded.
    """

    cell: str = "lstm"  # recurrent cell of the word encoder: lstm | gru | rnn
    bidirectional: bool = True  # read each sentence in both directions
    layers: int = 1  # stacked recurrent layers
    hidden_size: int = 200  # hidden units per direction
    word_dim: int = 100  # word-vector size (taken from the pretrained vectors when given)
    char_encoder: str = "cnn"  # cnn (Ma & Hovy) | lstm (Lample et al.) | none
    char_dim: int = 30  # character-embedding size
    char_hidden: int = 100  # CNN filters, or BiLSTM units (both directions together)
    char_kernel: int = 3  # CNN window in characters
    lowercase_words: bool = True  # one word vector per lowercase form (casing comes from chars and case features)
    case_dim: int = 10  # size of the word-shape (casing) embedding; 0 disables it
    dropout: float = 0.5  # on embeddings, between layers and before the output layer
    shared_dropout: bool = True  # one dropout mask per sentence (per word for characters), shared across positions
    crf: bool = True  # linear-chain CRF output; False: per-token softmax
    freeze_embeddings: bool = False  # keep pretrained word vectors fixed
    num_words: int = 2  # rows of the word-embedding matrix (vocabulary incl. <pad>, <unk>)
    num_chars: int = 2  # character vocabulary incl. <pad>, <unk>
    num_tags: int = 1  # labels the model predicts (in the training scheme)
    training_scheme: str = "plain"  # scheme of the labels the model predicts (IOBES, IOB2, ..., plain)
    output_scheme: str = "plain"  # scheme of the corpus; predictions are converted back to it

    def __post_init__(self) -> None:
        _check_choice("cell", self.cell, CELLS)
        _check_choice("char_encoder", self.char_encoder, CHAR_ENCODERS)
        for option in ("layers", "hidden_size", "word_dim", "num_words", "num_chars", "num_tags"):
            _check_positive(option, getattr(self, option))
        if self.char_encoder != "none":
            for option in ("char_dim", "char_hidden", "char_kernel"):
                _check_positive(option, getattr(self, option))
            if self.char_encoder == "lstm" and self.char_hidden % 2:
                raise ConfigError(f"char_hidden must be even for a BiLSTM character encoder, got {self.char_hidden}")
        _check_positive("case_dim", self.case_dim, allow_zero=True)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")


@dataclass(frozen=True)
class TrainConfig(_JsonConfig):
    """How a tagger is trained. The defaults are the reference recipe (see README)."""

    optimizer: str = "adam"  # adam | adamw | sgd (with momentum, Ma & Hovy)
    lr: Optional[float] = None  # learning rate; None: 2e-3 for adam(w), 0.015 x batch_size / 10 (at most 0.1) for sgd
    momentum: float = 0.9  # SGD momentum
    lr_decay: float = 0.05  # lr_t = lr / (1 + lr_decay * epoch), epoch counted from 0
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    batch_size: int = 32  # sentences per batch (batches are bucketed by length)
    max_epochs: int = 50  # upper bound on passes over the training data
    patience: int = 8  # stop after this many epochs without a better dev score
    clip: float = 5.0  # gradient-norm clipping; 0 disables it
    word_dropout: float = 0.05  # probability of replacing a training word by <unk> (teaches the <unk> row)
    seed: int = 42  # seeds Python, NumPy and torch; same seed and data -> same weights on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    mixed_precision: bool = False  # autocast to float16/bfloat16 on GPU
    scheme: str = "iobes"  # training scheme for entity tags: iobes | iob2 | same (as the corpus)
    embeddings: Optional[str] = None  # pretrained word vectors (word2vec, GloVe, gensim, fastText .bin)
    embeddings_format: str = "auto"  # auto | word2vec-binary | word2vec-text | glove | gensim | fasttext
    max_vectors: Optional[int] = None  # extra pretrained rows: None -> words of the dev/test data found in the file
    min_count: int = 1  # training words seen fewer times (and without a vector) map to <unk>
    eval_batch_size: int = 256  # sentences per batch when scoring the dev set
    max_minutes: Optional[float] = None  # stop training after this wall-clock time (the best model is kept)
    num_threads: Optional[int] = None  # CPU threads for torch; None: torch's default

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("scheme", self.scheme, TRAINING_SCHEMES)
        for option in ("batch_size", "max_epochs", "patience", "eval_batch_size", "min_count"):
            _check_positive(option, getattr(self, option))
        for option in ("momentum", "lr_decay", "weight_decay", "clip"):
            _check_positive(option, getattr(self, option), allow_zero=True)
        if self.lr is not None:
            _check_positive("lr", self.lr)
        if not 0.0 <= self.word_dropout < 1.0:
            raise ConfigError(f"word_dropout must be in [0, 1), got {self.word_dropout!r}")
        if self.max_vectors is not None:
            _check_positive("max_vectors", self.max_vectors, allow_zero=True)
        if self.max_minutes is not None:
            _check_positive("max_minutes", self.max_minutes)
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")

    def learning_rate(self) -> float:
        """The initial learning rate: the given one, or the optimiser's default."""
        if self.lr is not None:
            return self.lr
        if self.optimizer == "sgd":
            return min(0.1, 0.015 * self.batch_size / 10)
        return 2e-3


def split_options(options: Dict[str, Any]) -> tuple[Dict[str, Any], Dict[str, Any]]:
    """Split flat keyword options (as ``tagger.train`` and the CLI take them) into the two configs.

    Raises:
        ConfigError: for an option neither configuration knows.
    """
    model_keys = {f.name for f in fields(TaggerConfig)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - model_keys - train_keys)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}")
    model = {k: v for k, v in options.items() if k in model_keys}
    train = {k: v for k, v in options.items() if k in train_keys}
    return model, train
