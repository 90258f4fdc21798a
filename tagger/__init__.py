"""tagger: sequence labelling with bidirectional RNN/LSTM/GRU encoders and a softmax or CRF output.

The public API is imported lazily so that ``import tagger`` (and the CLI's ``--help``) stays fast:
torch, gensim and datasets load only when a name that needs them is first used.

Tagging: ``tagger.load_tagger(path)`` (or ``tagger.Tagger.load``) gives a tagger whose ``tag(text)``
returns ``TaggedSentence`` results (tokens, character offsets, tags, ``TaggedSpan`` entities), which
``tagger.writers`` turns into CoNLL, JSON lines or inline text.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Tagger": "tagger.inference",
    "NumpyTagger": "tagger.numpy_tagger",
    "load_tagger": "tagger.engines",
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

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tagger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
