"""corpora: streaming readers for CoNLL column and CoNLL-U files, and the Hugging Face ``datasets`` loader.

The readers and ``KNOWN_CORPORA`` import nothing heavy; the loader's names (``load_corpus``,
``label_names``, ...) import ``datasets`` on first use, so ``import corpora`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from tagger.corpora.columns import MAX_SENTENCE_LENGTH, Sentence, read_columns
from tagger.corpora.conllu import CONLLU_COLUMNS, read_conllu
from tagger.corpora.detect import FORMATS, detect_format, read_sentences
from tagger.corpora.schemas import KNOWN_CORPORA, CorpusSchema
from tagger.corpora.writers import format_columns, format_conllu, write_columns, write_conllu

_LAZY = {
    "load_corpus": "tagger.corpora.hf",
    "label_names": "tagger.corpora.hf",
    "source_scheme": "tagger.provenance",
    "tag_scheme": "tagger.provenance",
    "default_tag_column": "tagger.provenance",
    "infer_label_names": "tagger.corpora.hf",
    "repair_counts": "tagger.provenance",
    "split_file": "tagger.provenance",
}

__all__ = [
    "CONLLU_COLUMNS",
    "FORMATS",
    "KNOWN_CORPORA",
    "MAX_SENTENCE_LENGTH",
    "CorpusSchema",
    "Sentence",
    "detect_format",
    "format_columns",
    "format_conllu",
    "read_columns",
    "read_conllu",
    "read_sentences",
    "write_columns",
    "write_conllu",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tagger.corpora' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
