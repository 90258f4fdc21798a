"""Older model directories read as this version reads its own (no torch).

The format policy (README, "The model directory"): ``format_version`` in config.json changes when
a tagger that reads the old version would misread the new files (a file it must understand, a
weight whose meaning changed); then older taggers refuse the new models instead of tagging
wrongly. Every version ever written keeps loading: the changes between versions, and the changes
made inside a version before this policy existed, are undone here, in memory, when a model is
read. The user's directory is never rewritten; saving a loaded model writes the current format.
``tests/integration/test_formats.py`` loads a tiny model written by each past version and checks that
it tags as that version did.

The history:

- format 1, first releases (2026-11-26): the word encoder was one ``nn.LSTM``/``GRU``/``RNN``
  (``encoder.rnn.*``), words were looked up exactly as written (no ``lowercase_words``), dropout
  was per token (no ``shared_dropout``), and training had no parameter averaging and took the
  dev/test words' vectors (no ``weight_average``, no ``vocab_from_eval_splits``).
- format 1 (since): one RNN per direction and layer (``encoder.forward_layers.K``,
  ``encoder.backward_layers.K``), the fields above recorded.
- format 2: models with contextual features (``contextual.json``); plain models are still written as 1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, TypeVar

from tagger.errors import ModelFileError

# A field missing from an older config.json means the behaviour from before the field existed,
# which is not always today's default.
MODEL_FIELDS_BEFORE = {"lowercase_words": False, "shared_dropout": False, "contextual_dim": 0, "contextual_layers": 0}
TRAINING_FIELDS_BEFORE = {"weight_average": 0.0, "vocab_from_eval_splits": True}

_SINGLE_RNN = re.compile(r"encoder\.rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?")

T = TypeVar("T")


def migrate_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """config.json of any past version as this one writes it (a copy; checked afterwards as usual)."""
    migrated = dict(config)
    for section, before in (("model", MODEL_FIELDS_BEFORE), ("training", TRAINING_FIELDS_BEFORE)):
        fields = migrated.get(section)
        if isinstance(fields, dict):
            migrated[section] = {**before, **fields}
    return migrated


def tensor_name(name: str) -> str:
    """Today's name of a weight saved as ``name`` by any past version.

    The single bidirectional RNN's ``encoder.rnn.weight_ih_l1_reverse`` is layer 1 of the backward
    direction, ``encoder.backward_layers.1.weight_ih_l0``: the same numbers, since a layer of both
    directions reads the concatenated [forward, backward] states of the layer below in both layouts.
    """
    match = _SINGLE_RNN.fullmatch(name)
    if match is None:
        return name
    param, layer, reverse = match.groups()
    return f"encoder.{'backward' if reverse else 'forward'}_layers.{layer}.{param}_l0"


def migrate_tensors(tensors: Mapping[str, T], path: Optional[Path] = None) -> Dict[str, T]:
    """``tensors`` (header entries or weights) under today's names (``tensor_name``).

    Raises:
        ModelFileError: two weights of the file would get the same name (both layouts in one file).
    """
    migrated = {tensor_name(name): value for name, value in tensors.items()}
    if len(migrated) != len(tensors):
        twice = sorted(name for name in tensors if tensor_name(name) != name and tensor_name(name) in tensors)
        raise ModelFileError(f"weights of both encoder layouts: {', '.join(twice[:3])} and their new names", path)
    return migrated
