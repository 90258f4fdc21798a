"""tagger: sequence labelling with bidirectional RNN/LSTM/GRU encoders and a softmax or CRF output.

The public API is imported lazily so that ``import tagger`` (and the CLI's ``--help``) stays fast:
torch, gensim and datasets load only when a name that needs them is first used.

Tagging: ``tagger.load(path)`` (any engine: NumPy, torch or onnxruntime) gives a tagger whose ``tag(text)``
returns ``TaggedSentence`` results (tokens, character offsets, tags, ``TaggedSpan`` entities), which
``tagger.writers`` turns into CoNLL, JSON lines or inline text.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real names; at run time they load on first use (below)
    from tagger.api import evaluate, train
    from tagger.config import TaggerConfig, TrainConfig
    from tagger.engines import load
    from tagger.errors import TaggerError
    from tagger.evaluation import EvaluationReport
    from tagger.inference import Tagger
    from tagger.numpy_tagger import NumpyTagger
    from tagger.results import InputSentence, TaggedSentence, TaggedSpan
    from tagger.schemes import Span

__version__ = "0.1.0"

_LAZY = {
    "Tagger": "tagger.inference",
    "NumpyTagger": "tagger.numpy_tagger",
    "load": "tagger.engines",
    "TaggedSentence": "tagger.results",
    "TaggedSpan": "tagger.results",
    "InputSentence": "tagger.results",
    "Span": "tagger.schemes",
    "train": "tagger.api",
    "evaluate": "tagger.api",
    "EvaluationReport": "tagger.evaluation",
    "TaggerConfig": "tagger.config",
    "TrainConfig": "tagger.config",
    "TaggerError": "tagger.errors",
}

__all__ = [  # the stable API: the names of _LAZY (tests/integration/test_packaging.py checks they agree)
    "__version__",
    "EvaluationReport",
    "InputSentence",
    "NumpyTagger",
    "Span",
    "TaggedSentence",
    "TaggedSpan",
    "Tagger",
    "TaggerConfig",
    "TaggerError",
    "TrainConfig",
    "evaluate",
    "load",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tagger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
