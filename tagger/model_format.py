"""Checks of a model directory's contents, made before anything is built from them (no torch).

``tagger.serialization.load_model_files`` runs them in this order, each step trusting only what
the steps before it have checked, so that no number from a file is allocated before it is:

1. ``config.json`` (at most ``MAX_CONFIG_BYTES``): ``format_version``, then every field of the
   model and training configurations (``TaggerConfig``/``TrainConfig`` check types, ranges,
   finiteness and the size bounds of ``tagger.config``).
2. ``vocab.json``: four lists of distinct strings; words and characters start with ``<pad>``,
   ``<unk>``; as many words, characters and labels as the config says; labels that are tags of
   the training scheme, and output labels that convert to exactly those labels.
3. ``model.safetensors``'s header, read without the tensors: its length against the file's, then
   every tensor's names, dtype (float32; bool for the CRF's constraints) and shape against those
   the config implies (``tagger.shapes.expected_shapes``), and data offsets that tile the file.
4. ``contextual.json`` (a model with contextual features only): its fields' types and bounds,
   and the encoder's size and layers against config.json's ``contextual_dim`` and ``contextual_layers``.
5. The tensors, read only now (their size is the config's, which is bounded): finite weights,
   and CRF constraint buffers equal to those the training scheme implies for the labels.

The encoder itself is loaded only after all of this, and checked against ``contextual.json``
(``tagger.contextual.encoder_for``).
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tagger.config import FORMAT_VERSION, POOLINGS, TaggerConfig
from tagger.errors import ConfigError, ModelFileError
from tagger.schemes import allowed_transitions, convert_labels
from tagger.shapes import CONSTRAINT_BUFFERS, Shapes
from tagger.vocab import PAD, UNK

MAX_CONFIG_BYTES = 1 << 20
"""config.json holds two flat objects of a few dozen fields: 1 MiB is plenty."""
MAX_HEADER_BYTES = 1 << 20
"""The safetensors header of a 64-layer model is under 100 KB (safetensors itself allows 100 MB)."""

MAX_CONTEXTUAL_BYTES = 1 << 16
"""contextual.json is a dozen fields."""
MAX_ENCODER_LAYERS = 1024
MAX_POSITIONS = 1 << 20
MAX_NAME_CHARS = 4096

DTYPE_BYTES = {"F32": 4, "BOOL": 1}
"""The only dtypes a tagger's weights have: float32, and bool for the CRF's constraint buffers."""

CHECK_BLOCK = 1 << 20
"""Elements checked for finiteness at a time, so the check allocates no array the size of a weight."""


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors header: dtype, shape, and its bytes' offsets in the data section."""

    dtype: str
    shape: Tuple[int, ...]
    begin: int
    end: int


# ----------------------------------------------------------------------------- config.json


def check_format_version(config: Any, path: Path) -> None:
    """Checks that ``config`` is a model config of a format version this tagger reads.

    Raises:
        ModelFileError: naming ``path``.
    """
    if not isinstance(config, dict) or "format_version" not in config or not isinstance(config.get("model"), dict):
        raise ModelFileError("not a tagger model config (no format_version or model object)", path)
    version = config["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"format_version {version!r} is not a version number (this tagger writes {FORMAT_VERSION})", path)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"model format version {version} is newer than this tagger reads ({FORMAT_VERSION}); upgrade tagger", path)
    if not isinstance(config.get("training", {}), dict):
        raise ModelFileError("training is not a JSON object", path)


# ----------------------------------------------------------------------------- vocab.json


def _check_strings(key: str, items: Any, path: Path) -> List[str]:
    if not isinstance(items, list):
        raise ModelFileError(f"vocabulary has no {key!r} list", path)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise ModelFileError(f"{key!r} entry {index} is not a string: {item!r}", path)
    if len(set(items)) != len(items):
        duplicates = [item for item, count in Counter(items).items() if count > 1]
        raise ModelFileError(f"{key!r} has duplicate entries: {duplicates[:5]!r}", path)
    return items


def check_vocab(vocab: Any, config: TaggerConfig, path: Path) -> None:
    """Checks ``vocab.json``'s lists against each other and against the (checked) config.

    Raises:
        ModelFileError: naming ``path`` and the list at fault.
    """
    if not isinstance(vocab, dict):
        raise ModelFileError("vocabulary has no 'words' list (not a JSON object)", path)
    lists = {key: _check_strings(key, vocab.get(key), path) for key in ("words", "chars", "labels", "output_labels")}
    for key in ("words", "chars"):
        if lists[key][:2] != [PAD, UNK]:
            raise ModelFileError(f"{key!r} must start with {PAD!r}, {UNK!r}; got {lists[key][:2]!r}", path)
    for key, option in (("words", "num_words"), ("chars", "num_chars"), ("labels", "num_tags")):
        if len(lists[key]) != getattr(config, option):
            raise ModelFileError(f"{key!r} has {len(lists[key])} entries, config.json says {option} {getattr(config, option)}", path)
    training, output = config.training_scheme, config.output_scheme
    try:
        convert_labels(lists["labels"], training, training)  # raises on a tag foreign to the scheme
    except ConfigError as error:
        raise ModelFileError(f"'labels': {error.message}", path) from None
    try:
        implied = convert_labels(lists["output_labels"], output, training)
    except ConfigError as error:
        raise ModelFileError(f"'output_labels': {error.message}", path) from None
    if set(implied) != set(lists["labels"]):
        extra, missing = sorted(set(implied) - set(lists["labels"])), sorted(set(lists["labels"]) - set(implied))
        raise ModelFileError(
            f"'output_labels' ({output}) do not match the 'labels' ({training}): "
            f"they imply {extra[:5]!r} not in 'labels', and not {missing[:5]!r}",
            path,
        )


# ----------------------------------------------------------------------------- contextual.json

_HEX = {"commit_hash": re.compile(r"[0-9a-f]{40}"), "weights_sha256": re.compile(r"[0-9a-f]{64}")}
_CONTEXTUAL_TYPES: Dict[str, Tuple[type, bool]] = {  # field -> (type, whether null is allowed)
    "name_or_path": (str, False),
    "revision": (str, True),
    "commit_hash": (str, True),
    "model_type": (str, False),
    "hidden_size": (int, False),
    "num_hidden_layers": (int, False),
    "layers": (int, False),
    "pooling": (str, False),
    "max_positions": (int, False),
    "weights_sha256": (str, False),
}


def _contextual_field(description: Dict[str, Any], key: str, path: Path) -> Any:
    kind, nullable = _CONTEXTUAL_TYPES[key]
    value = description[key]
    if value is None and nullable:
        return None
    if type(value) is not kind:  # bool is not an int here, nor an int a str
        what = ("an integer" if kind is int else "a string") + (" or null" if nullable else "")
        raise ModelFileError(f"{key} must be {what}, got {value!r}", path)
    if isinstance(value, str):  # kind is str
        if len(value) > MAX_NAME_CHARS or "\0" in value:
            raise ModelFileError(f"{key} is not a name ({len(value):,} characters)", path)
        if key in _HEX and not _HEX[key].fullmatch(value):
            raise ModelFileError(f"{key} must be {_HEX[key].pattern} (lowercase hexadecimal), got {value[:80]!r}", path)
    return value


def check_contextual(description: Any, config: TaggerConfig, path: Path) -> Dict[str, Any]:
    """Checks ``contextual.json`` (the encoder a model was trained with) against the (checked) config.

    Returns:
        The description, as ``tagger.contextual.load_encoder`` wrote it.

    Raises:
        ModelFileError: naming ``path`` and the field at fault.
    """
    if not isinstance(description, dict):
        raise ModelFileError("not a JSON object", path)
    missing, unknown = sorted(set(_CONTEXTUAL_TYPES) - set(description)), sorted(set(description) - set(_CONTEXTUAL_TYPES))
    if missing or unknown:
        raise ModelFileError(f"fields missing {missing[:5]}, unknown {unknown[:5]}", path)
    checked = {key: _contextual_field(description, key, path) for key in _CONTEXTUAL_TYPES}
    if not checked["name_or_path"].strip():
        raise ModelFileError("name_or_path is empty", path)
    if checked["pooling"] not in POOLINGS:
        raise ModelFileError(f"pooling must be one of {', '.join(POOLINGS)}, got {checked['pooling']!r}", path)
    bounds = {"num_hidden_layers": MAX_ENCODER_LAYERS, "max_positions": MAX_POSITIONS}
    for key, bound in bounds.items():
        if not 1 <= checked[key] <= bound:
            raise ModelFileError(f"{key} must be in [1, {bound:,}], got {checked[key]:,}", path)
    if not 1 <= checked["layers"] <= checked["num_hidden_layers"]:
        raise ModelFileError(f"layers must be in [1, num_hidden_layers {checked['num_hidden_layers']}], got {checked['layers']:,}", path)
    for key, option in (("hidden_size", "contextual_dim"), ("layers", "contextual_layers")):
        if checked[key] != getattr(config, option):
            raise ModelFileError(f"{key} is {checked[key]:,}, config.json says {option} {getattr(config, option)}", path)
    return checked


# ----------------------------------------------------------------------------- model.safetensors


def _entry(name: str, value: Any, data_size: int, path: Path) -> TensorEntry:
    """One header entry, its types and offsets checked."""
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"header entry {name!r} is not a tensor (dtype, shape, data_offsets)", path)
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if not isinstance(dtype, str):
        raise ModelFileError(f"tensor {name} has dtype {dtype!r}, not a dtype name", path)

    def natural(number: Any) -> bool:
        return isinstance(number, int) and not isinstance(number, bool) and number >= 0

    if not isinstance(shape, list) or not all(natural(n) for n in shape):
        raise ModelFileError(f"tensor {name} has shape {shape!r}, not a list of sizes", path)
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(natural(n) for n in offsets) or offsets[0] > offsets[1]:
        raise ModelFileError(f"tensor {name} has data_offsets {offsets!r}, not [begin, end]", path)
    if offsets[1] > data_size:
        raise ModelFileError(f"tensor {name} has data_offsets {offsets} beyond the {data_size} bytes of data (truncated?)", path)
    return TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])


def read_header(path: Path) -> Dict[str, TensorEntry]:
    """The tensors a safetensors file declares, read and checked without reading the tensors.

    The format: an 8-byte little-endian header length N, N bytes of JSON
    ``{name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}``, then the data.

    Raises:
        ModelFileError: naming ``path``: a header longer than ``MAX_HEADER_BYTES`` or the file,
            not JSON, or an entry whose types or offsets are wrong.
    """
    try:
        with path.open("rb") as file:
            file_size = path.stat().st_size
            start = file.read(8)
            if len(start) < 8:
                raise ModelFileError(f"{file_size} bytes: too short for a safetensors header (truncated?)", path)
            (header_size,) = struct.unpack("<Q", start)
            if header_size > min(MAX_HEADER_BYTES, file_size - 8):
                raise ModelFileError(
                    f"safetensors header of {header_size:,} bytes in a file of {file_size:,} "
                    f"(at most {MAX_HEADER_BYTES:,} are read): truncated or corrupt, or not a model file",
                    path,
                )
            raw = file.read(header_size)
    except OSError as error:
        raise ModelFileError(f"cannot read: {error.strerror or error}", path) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError("the safetensors header is not JSON (corrupt, or not a model file)", path) from None
    if not isinstance(header, dict):
        raise ModelFileError("the safetensors header is not a JSON object", path)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError("the safetensors __metadata__ is not an object of strings", path)
    data_size = file_size - 8 - header_size
    entries = {name: _entry(name, value, data_size, path) for name, value in header.items()}
    _check_tiling(entries, data_size, path)
    return entries


def _check_tiling(entries: Mapping[str, TensorEntry], data_size: int, path: Path) -> None:
    """The tensors' bytes must follow one another, from the start of the data to the end of the file."""
    position = 0
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            raise ModelFileError(f"tensor {name} starts at byte {entry.begin} of the data, expected {position} (corrupt?)", path)
        position = entry.end
    if position != data_size:
        raise ModelFileError(f"the tensors end at byte {position} of the data, but it has {data_size} (corrupt?)", path)


def compare_shapes(found: Mapping[str, Tuple[int, ...]], expected: Mapping[str, Tuple[int, ...]], path: Any = None) -> None:
    """Checks that the weights have exactly the names and shapes config.json implies.

    Raises:
        ModelFileError: a missing or unexpected weight, or one of the wrong shape (naming ``path``).
    """
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"weights do not match config.json (missing {missing[:3]}, unexpected {unexpected[:3]}; "
            f"{len(missing)} missing, {len(unexpected)} unexpected)",
            path,
        )
    for name, shape in found.items():
        if tuple(shape) != tuple(expected[name]):
            raise ModelFileError(f"weight {name} has shape {tuple(shape)}, config.json needs {tuple(expected[name])}", path)


def check_header(entries: Mapping[str, TensorEntry], expected: Shapes, path: Path) -> None:
    """Checks a header's tensors against the shapes a config implies, and their byte sizes.

    Raises:
        ModelFileError: naming ``path`` and the tensor.
    """
    compare_shapes({name: entry.shape for name, entry in entries.items()}, expected, path)
    for name, entry in entries.items():
        wanted = "BOOL" if name in CONSTRAINT_BUFFERS else "F32"
        if entry.dtype != wanted:
            raise ModelFileError(f"weight {name} has dtype {entry.dtype}, a tagger's is {wanted}", path)
        if entry.end - entry.begin != prod(entry.shape) * DTYPE_BYTES[wanted]:
            raise ModelFileError(f"weight {name} of shape {entry.shape} has {entry.end - entry.begin} bytes of data", path)


# ----------------------------------------------------------------------------- the tensors


def _as_array(tensor: Any) -> np.ndarray:
    """A NumPy view of a weight read as a NumPy array or a CPU torch tensor (no copy)."""
    return tensor if isinstance(tensor, np.ndarray) else tensor.numpy()


def check_tensors(state_dict: Mapping[str, Any], config: TaggerConfig, labels: Sequence[str], path: Path) -> None:
    """Checks the weights' values: finite floats, and the constraints the training scheme implies.

    Raises:
        ModelFileError: naming ``path`` and the weight.
    """
    for name, tensor in state_dict.items():
        if name in CONSTRAINT_BUFFERS:
            continue
        flat = _as_array(tensor).reshape(-1)
        for start in range(0, flat.size, CHECK_BLOCK):
            if not np.isfinite(flat[start : start + CHECK_BLOCK]).all():
                raise ModelFileError(f"weight {name} is not finite (NaN or infinity): a diverged training run?", path)
    if config.crf:
        implied = allowed_transitions(labels, config.training_scheme)
        for name, allowed in zip(CONSTRAINT_BUFFERS, implied):
            if not np.array_equal(_as_array(state_dict[name]), np.asarray(allowed, dtype=bool)):
                raise ModelFileError(f"{name} differs from the {config.training_scheme} constraints of the labels in vocab.json", path)
