"""The weights a TaggerConfig implies, by name and shape, computed without torch.

``TaggerConfig`` checks its total size with these before anything is allocated, and a model
directory's weights are compared with them before they are read (``tagger.model_format``).
This module imports nothing (the config is only a type hint), so ``tagger.config`` can use it.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Dict, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from tagger.config import TaggerConfig

Shapes = Dict[str, Tuple[int, ...]]

# Word-shape (casing) classes, after Reimers & Gurevych (2017); 0 is padding.
CASE_CLASSES = ("<pad>", "other", "numeric", "mainly_numeric", "lower", "upper", "initial_upper", "contains_digit")

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
"""Gate blocks per cell, in PyTorch's row order: LSTM i, f, g, o; GRU r, z, n; RNN one."""

CONSTRAINT_BUFFERS = ("crf.allowed_start", "crf.allowed_transitions", "crf.allowed_end")
"""The CRF's bool buffers (every other weight is float32)."""


def recurrent_shapes(prefix: str, suffix: str, cell: str, input_size: int, hidden: int) -> Shapes:
    """The weights of one direction of a one-layer ``torch.nn`` RNN/LSTM/GRU, by state-dict name."""
    rows = GATES[cell] * hidden
    return {
        f"{prefix}weight_ih_l0{suffix}": (rows, input_size),
        f"{prefix}weight_hh_l0{suffix}": (rows, hidden),
        f"{prefix}bias_ih_l0{suffix}": (rows,),
        f"{prefix}bias_hh_l0{suffix}": (rows,),
    }


def expected_shapes(config: TaggerConfig) -> Shapes:
    """Name and shape of every entry of the state dict of ``SequenceTagger(config)``."""
    shapes: Shapes = {"word_embedding.weight": (config.num_words, config.word_dim)}
    char_size = 0
    if config.char_encoder != "none":
        char_size = config.char_hidden
        shapes["char_encoder.embedding.weight"] = (config.num_chars, config.char_dim)
    if config.char_encoder == "cnn":
        shapes["char_encoder.conv.weight"] = (config.char_hidden, config.char_dim, config.char_kernel)
        shapes["char_encoder.conv.bias"] = (config.char_hidden,)
    elif config.char_encoder == "lstm":
        for suffix in ("", "_reverse"):
            shapes.update(recurrent_shapes("char_encoder.lstm.", suffix, "lstm", config.char_dim, config.char_hidden // 2))
    if config.case_dim:
        shapes["case_embedding.weight"] = (len(CASE_CLASSES), config.case_dim)
    if config.contextual_layers:
        shapes["contextual_mix.weights"] = (config.contextual_layers,)  # softmax-normalised layer weights
        shapes["contextual_mix.gamma"] = (1,)
    directions = 2 if config.bidirectional else 1
    sides = ("forward", "backward")[:directions]
    for layer in range(config.layers):
        size = config.word_dim + char_size + config.case_dim + config.contextual_dim if layer == 0 else config.hidden_size * directions
        for side in sides:
            shapes.update(recurrent_shapes(f"encoder.{side}_layers.{layer}.", "", config.cell, size, config.hidden_size))
    shapes["output.weight"] = (config.num_tags, config.hidden_size * directions)
    shapes["output.bias"] = (config.num_tags,)
    if config.crf:
        for name in ("start_transitions", "end_transitions", "allowed_start", "allowed_end"):
            shapes[f"crf.{name}"] = (config.num_tags,)
        for name in ("transitions", "allowed_transitions"):
            shapes[f"crf.{name}"] = (config.num_tags, config.num_tags)
    return shapes


def parameter_count(config: TaggerConfig) -> int:
    """Numbers in the state dict of ``SequenceTagger(config)`` (parameters and CRF buffers)."""
    return sum(prod(shape) for shape in expected_shapes(config).values())


def char_table_size(config: TaggerConfig) -> int:
    """Floats of the NumPy engine's character tables: one row per character and kernel offset
    (CNN), or the input projection of every character in both directions (BiLSTM).
    """
    if config.char_encoder == "cnn":
        return config.char_kernel * (config.num_chars + 1) * config.char_hidden
    if config.char_encoder == "lstm":
        return config.num_chars * GATES["lstm"] * config.char_hidden
    return 0
