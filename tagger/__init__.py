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
    from tagger.datasets_map import DatasetTagger, add_predictions
    from tagger.engines import load
    from tagger.errors import TaggerError
    from tagger.evaluation import EvaluationReport
    from tagger.inference import Tagger
    from tagger.numpy_tagger import NumpyTagger
    from tagger.results import InputSentence, ScoredPath, ScoredSpan, TaggedSentence, TaggedSpan
    from tagger.schemes import Span

__version__ = "0.1.0"

_LAZY = {
    "Tagger": "tagger.inference",
    "NumpyTagger": "tagger.numpy_tagger",
    "load": "tagger.engines",
    "TaggedSentence": "tagger.results",
    "TaggedSpan": "tagger.results",
    "InputSentence": "tagger.results",
    "ScoredSpan": "tagger.results",
    "ScoredPath": "tagger.results",
    "DatasetTagger": "tagger.datasets_map",
    "add_predictions": "tagger.datasets_map",
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
    "DatasetTagger",
    "EvaluationReport",
    "InputSentence",
    "NumpyTagger",
    "ScoredPath",
    "ScoredSpan",
    "Span",
    "TaggedSentence",
    "TaggedSpan",
    "Tagger",
    "TaggerConfig",
    "TaggerError",
    "TrainConfig",
    "add_predictions",
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
