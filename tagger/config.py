"""The two configurations of a tagger: its architecture (TaggerConfig) and its training (TrainConfig).

Every field is checked in ``__post_init__`` (type, range, finiteness and the size bounds below),
so options from the CLI, the API and a model's ``config.json`` are all refused before anything
is allocated from them, with a ConfigError that starts with the option's name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Optional, Tuple, Type, TypeVar, Union, get_args, get_origin, get_type_hints

from tagger.errors import ConfigError
from tagger.schemes import SCHEMES
from tagger.shapes import char_table_size, parameter_count

FORMAT_VERSION = 2
"""The newest model-directory format this tagger reads; a model written by a newer format is refused.

Plain models are written as version 1 (``PLAIN_FORMAT_VERSION``), so every version of tagger reads
them; models with contextual features are version 2, which versions before them refuse rather than
tag without the features."""
PLAIN_FORMAT_VERSION = 1

CELLS = ("lstm", "gru", "rnn")
CHAR_ENCODERS = ("cnn", "lstm", "none")
OPTIMIZERS = ("sgd", "adam", "adamw")
TRAINING_SCHEMES = ("iobes", "iob2", "same")
POOLINGS = ("first", "mean")
"""How a word's contextual feature comes from its sub-tokens' states (tagger.contextual)."""

# Upper bounds on sizes. A size reaches an allocation (and a model's config.json is untrusted
# input), so each is bounded, generously: the reference model uses layers 1, hidden_size 200,
# word_dim 100 and a few dozen tags.
MAX_LAYERS = 64
MAX_SIZE = 20_000
"""hidden_size, word_dim, char_dim, char_hidden and case_dim."""
MAX_CHAR_KERNEL = 64  # forms are clipped to 64 characters (tagger.tagging.FormTable)
MAX_CHARS = 0x110000 + 2  # every Unicode code point, plus <pad> and <unk>
MAX_TAGS = 4096
MAX_CRF_TAGS = 1024
"""A CRF keeps num_tags x num_tags transitions, and decoding a batch of B sentences holds B x num_tags^2 scores."""
MAX_PARAMETERS = 1_000_000_000
"""All weights together (4 GB of float32; Adam's state triples it in training), and likewise the NumPy
engine's character tables: enough for all 3 million 300-d GoogleNews vectors."""
MAX_THREADS = 1024
MAX_SEED = 2**63
"""Seeds are < 2**63: Python, NumPy (seed % 2**32) and torch (a 64-bit seed) all accept them."""

C = TypeVar("C", bound="_JsonConfig")


class _JsonConfig:
    """JSON (de)serialisation shared by both configurations: unknown keys and bad values are refused."""

    if TYPE_CHECKING:  # the subclasses are dataclasses (not declared at run time: no field of its own)
        __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a JSON-able dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The fields as a JSON object."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls: Type[C], values: Dict[str, Any], *, source: str = "config") -> C:
        """A configuration from a dict of its fields (as ``to_dict`` writes it).

        Raises:
            ConfigError: an unknown key, or a bad value (the message starts with the key).
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", source)
        return cls(**values)

    @classmethod
    def from_json(cls: Type[C], text: str, *, source: str = "config") -> C:
        """A configuration from a JSON object (see ``from_dict``)."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"not valid JSON ({error.msg})", source, error.lineno) from None
        if not isinstance(values, dict):
            raise ConfigError("expected a JSON object", source)
        return cls.from_dict(values, source=source)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def _check_types(self) -> None:
        """Checks every field against its annotation, normalising numbers to plain int and float."""
        config_class: type = type(self)  # as a plain (hashable) type for the lru_cache
        for name, (check, optional) in _field_checks(config_class).items():
            value = getattr(self, name)
            if value is None and optional:
                continue
            object.__setattr__(self, name, check(name, value))  # frozen: normalise in place


def _as_int(option: str, value: Any) -> int:
    # numbers.Integral covers NumPy integers; bool is an int subclass, but True is not a size.
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ConfigError(f"{option} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def _as_float(option: str, value: Any) -> float:
    number = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            pass
    if number is None or not math.isfinite(number):
        raise ConfigError(f"{option} must be a finite number, got {value!r}")
    return number


def _as_bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{option} must be a bool (true or false), got {value!r} ({type(value).__name__})")
    return value


def _as_str(option: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{option} must be a string, got {value!r} ({type(value).__name__})")
    return value


_CHECKS: Dict[Any, Callable[[str, Any], Any]] = {int: _as_int, float: _as_float, bool: _as_bool, str: _as_str}


@lru_cache(maxsize=None)
def _field_checks(cls: type) -> Dict[str, Tuple[Callable[[str, Any], Any], bool]]:
    """Field name -> (type check, whether None is allowed), from the class's annotations."""
    checks = {}
    for name, hint in get_type_hints(cls).items():
        optional = get_origin(hint) is Union and type(None) in get_args(hint)
        base = next(arg for arg in get_args(hint) if arg is not type(None)) if optional else hint
        checks[name] = (_CHECKS[base], optional)
    return checks


def _check_choice(option: str, value: str, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def _check_positive(option: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{option} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _check_at_most(option: str, value: float, bound: int, why: str = "") -> None:
    if value > bound:
        raise ConfigError(f"{option} must be <= {bound:,}{why}, got {value:,}")


def _check_fraction(option: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{option} must be in [0, 1), got {value!r}")


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
    contextual_dim: int = 0  # size of the contextual encoder's hidden states (from the encoder); 0: no contextual features
    contextual_layers: int = 0  # encoder layers mixed by the learned scalar mix (default 4 with --contextual); 0: none

    def __post_init__(self) -> None:
        """Checks every field's type and range, and the model's total size.

        Raises:
            ConfigError: naming the option.
        """
        self._check_types()
        _check_choice("cell", self.cell, CELLS)
        _check_choice("char_encoder", self.char_encoder, CHAR_ENCODERS)
        _check_choice("training_scheme", self.training_scheme, SCHEMES)
        _check_choice("output_scheme", self.output_scheme, SCHEMES)
        if (self.training_scheme == "plain") != (self.output_scheme == "plain"):
            raise ConfigError(f"training_scheme {self.training_scheme} and output_scheme {self.output_scheme}: only one is plain")
        bounds = {"layers": MAX_LAYERS, "hidden_size": MAX_SIZE, "word_dim": MAX_SIZE, "num_words": None, "num_chars": MAX_CHARS}
        bounds["num_tags"] = MAX_CRF_TAGS if self.crf else MAX_TAGS
        if self.char_encoder != "none":
            bounds.update(char_dim=MAX_SIZE, char_hidden=MAX_SIZE, char_kernel=MAX_CHAR_KERNEL)
        for option, bound in bounds.items():
            _check_positive(option, getattr(self, option))
            if bound is not None:
                _check_at_most(option, getattr(self, option), bound, " with a CRF" if option == "num_tags" and self.crf else "")
        if self.char_encoder == "lstm" and self.char_hidden % 2:
            raise ConfigError(f"char_hidden must be even for a BiLSTM character encoder, got {self.char_hidden}")
        _check_positive("case_dim", self.case_dim, allow_zero=True)
        _check_at_most("case_dim", self.case_dim, MAX_SIZE)
        for option, bound in (("contextual_dim", MAX_SIZE), ("contextual_layers", MAX_LAYERS)):
            _check_positive(option, getattr(self, option), allow_zero=True)
            _check_at_most(option, getattr(self, option), bound)
        if bool(self.contextual_dim) != bool(self.contextual_layers):
            raise ConfigError(
                f"contextual_dim {self.contextual_dim} and contextual_layers {self.contextual_layers}: both are 0 (no contextual "
                "features) or both > 0"
            )
        _check_fraction("dropout", self.dropout)
        sizes = (
            (parameter_count(self), "weights (from num_words, word_dim, hidden_size, layers, num_tags, contextual_dim and the char sizes)"),
            (char_table_size(self), "numbers in the NumPy engine's character tables (char_kernel x num_chars x char_hidden)"),
        )
        for size, what in sizes:
            if size > MAX_PARAMETERS:
                raise ConfigError(f"the model would have {size:,} {what}, more than the {MAX_PARAMETERS:,} parameters allowed")


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
    # Decay of the exponential moving average of the weights that is scored on dev and saved
    # (parameter averaging, as spaCy's); 0 keeps the last step's weights. 0.999: +0.22 dev F1 on
    # CoNLL-2003 but -1.1 on WNUT-17 (3 seeds, README), so it is off by default.
    weight_average: float = 0.0
    word_dropout: float = 0.05  # probability of replacing a training word by <unk> (teaches the <unk> row)
    seed: int = 42  # seeds Python, NumPy and torch; same seed and data -> same weights on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    mixed_precision: bool = False  # autocast to float16/bfloat16 on GPU
    scheme: str = "iobes"  # training scheme for entity tags: iobes | iob2 | same (as the corpus)
    embeddings: Optional[str] = None  # pretrained word vectors (word2vec, GloVe, gensim, fastText .bin)
    embeddings_format: str = "auto"  # auto | word2vec-binary | word2vec-text | glove | gensim | fasttext
    # Rows beyond the training words, whose pretrained vectors stay frozen: the vector file's first N words;
    # None: as many as fit in embeddings.MAX_FILE_VALUES (50 M) numbers, all of GloVe 6B 50d; 0: none.
    max_vectors: Optional[int] = None
    # The old transductive vocabulary: rows for the dev/test words the vector file has, instead of its first
    # words (max_vectors then adds to them). Inflates dev/test scores: unseen text's new words get <unk>.
    vocab_from_eval_splits: bool = False
    min_count: int = 1  # training words seen fewer times (and without a vector) map to <unk>
    # A Hugging Face encoder (local directory or Hub name) whose frozen hidden states, pooled per word, are
    # features of the tagger (tagger.contextual); None: none. Needs ``pip install tagger[transformers]``.
    contextual: Optional[str] = None
    contextual_pooling: str = "first"  # a word's feature from its sub-tokens: first | mean
    eval_batch_size: int = 256  # sentences per batch when scoring the dev set
    max_minutes: Optional[float] = None  # stop training after this wall-clock time (the best model is kept)
    num_threads: Optional[int] = None  # CPU threads for torch; None: torch's default

    def __post_init__(self) -> None:
        """Checks every field's type and range (numbers finite).

        Raises:
            ConfigError: naming the option.
        """
        for option in ("embeddings", "contextual"):
            if isinstance(getattr(self, option), os.PathLike):
                object.__setattr__(self, option, os.fspath(getattr(self, option)))
        self._check_types()
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("contextual_pooling", self.contextual_pooling, POOLINGS)
        if self.contextual is not None and not self.contextual.strip():
            raise ConfigError("contextual must name an encoder (a directory or a Hugging Face Hub name), got an empty string")
        _check_choice("scheme", self.scheme, TRAINING_SCHEMES)
        for option in ("batch_size", "max_epochs", "patience", "eval_batch_size", "min_count"):
            _check_positive(option, getattr(self, option))
        for option in ("momentum", "lr_decay", "weight_decay", "clip"):
            _check_positive(option, getattr(self, option), allow_zero=True)
        for option in ("lr", "max_minutes"):
            if getattr(self, option) is not None:
                _check_positive(option, getattr(self, option))
        _check_fraction("word_dropout", self.word_dropout)
        _check_fraction("weight_average", self.weight_average)
        if self.max_vectors is not None:
            _check_positive("max_vectors", self.max_vectors, allow_zero=True)
        if not 0 <= self.seed < MAX_SEED:
            raise ConfigError(f"seed must be in [0, 2**63), got {self.seed}")
        if self.num_threads is not None and not 1 <= self.num_threads <= MAX_THREADS:
            raise ConfigError(f"num_threads must be in [1, {MAX_THREADS}], got {self.num_threads}")
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
