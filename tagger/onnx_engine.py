"""OnnxTagger: a tagger exported by ``tagger export --format onnx``, run by onnxruntime on the CPU (no torch).

An export is one ONNX file. Its graph computes a batch's emissions (``tagger.onnx_export``); its
``metadata_props`` hold everything else tagging needs, as JSON strings:

- ``tagger.onnx_format``: the version of this layout (``ONNX_FORMAT_VERSION``);
- ``tagger.config``, ``tagger.vocab``, ``tagger.meta``: what a model directory's config.json,
  vocab.json and meta.json hold;
- ``tagger.crf``: a CRF's start, transition and end scores (before the scheme's constraints);
- ``tagger.quantize``: ``none`` or ``int8``.

Loading trusts nothing in the file: the metadata goes through the checks a model directory's files
get (``tagger.model_format``, ``tagger.config``), then the graph's inputs, outputs and tensors are
checked (no external data, finite weights), all before onnxruntime sees the graph; every failure
is a ModelFileError naming the file. Decoding is the NumPy engine's vectorised constrained Viterbi.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from tagger.config import TaggerConfig, TrainConfig
from tagger.errors import ConfigError, ModelFileError, TaggerError
from tagger.numpy_tagger import FORBIDDEN_SCORE, BatchedEngine, viterbi
from tagger.serialization import MAX_META_BYTES, MAX_VOCAB_BYTES, ModelFiles
from tagger.tagging import FormTable, TokenChunk, Vocabularies

INSTALL_HINT = "pip install tagger[onnx]"
ONNX_FORMAT_VERSION = 1
"""The layout of an export (graph inputs and metadata) this tagger writes and reads."""
METADATA_FORMAT = "tagger.onnx_format"
METADATA_CONFIG = "tagger.config"
METADATA_VOCAB = "tagger.vocab"
METADATA_META = "tagger.meta"
METADATA_CRF = "tagger.crf"
METADATA_QUANTIZE = "tagger.quantize"
QUANTIZE_CHOICES = (None, "int8")
OUTPUT_NAME = "emissions"
MAX_ONNX_BYTES = 1 << 31
"""An ONNX file without external data is one protobuf message, at most 2 GiB."""
MAX_CRF_BYTES = 64 << 20
"""tagger.crf: 1024 tags' transitions (the CRF's bound) written as JSON numbers take about 25 MB."""
CRF_SCORES = ("start_transitions", "transitions", "end_transitions")
PathLike = Union[str, Path]


def graph_inputs(config: TaggerConfig) -> Tuple[str, ...]:
    """The names of an export's graph inputs, in order (all int64; see ``tagger.onnx_export.EmissionsNetwork``)."""
    names = ["words", "lengths"]
    if config.char_encoder != "none" or config.case_dim:
        names.append("forms")
    if config.char_encoder != "none":
        names += ["form_chars", "form_lengths"]
    if config.case_dim:
        names.append("form_case")
    return tuple(names)


_INPUT_RANKS = {"words": 2, "lengths": 1, "forms": 2, "form_chars": 2, "form_lengths": 1, "form_case": 1}


def _onnx_modules() -> Tuple[Any, Any]:
    """``(onnx, onnxruntime)``, or a one-line ConfigError saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConfigError(f"the onnx engine needs the onnx and onnxruntime packages: {INSTALL_HINT}") from None
    return onnx, onnxruntime


# ----------------------------------------------------------------------------- reading an export


@dataclass
class OnnxExport:
    """An export's contents, checked: its metadata as a model directory's files, and the graph's bytes."""

    files: ModelFiles  # state_dict: the CRF's raw scores (NumPy arrays); empty for a softmax model
    quantize: str  # none | int8
    model: bytes  # the ONNX file, handed to onnxruntime as it was checked


def _metadata_json(props: Dict[str, str], key: str, max_bytes: int, path: Path) -> Any:
    """The JSON value of metadata entry ``key``; ModelFileError when it is missing, too big or not JSON."""
    if key not in props:
        raise ModelFileError(f"the export's metadata has no {key}", path)
    text = props[key]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ModelFileError(f"metadata {key} has {size:,} bytes, more than the {max_bytes:,} a tagger's has", path)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError, as are huge ints
        raise ModelFileError(f"metadata {key} is not JSON ({error})", path) from None


def _in_metadata(key: str, path: Path, check: Any, *args: Any) -> Any:
    """``check(*args)``, its ModelFileError or ConfigError re-raised naming the metadata entry and ``path``."""
    try:
        return check(*args)
    except TaggerError as error:
        raise ModelFileError(f"metadata {key}: {error.message}", path) from None


def _read_configs(props: Dict[str, str], path: Path) -> Tuple[TaggerConfig, TrainConfig]:
    """tagger.config, checked as ``tagger.serialization`` checks config.json."""
    from tagger.migrations import migrate_config
    from tagger.model_format import MAX_CONFIG_BYTES, check_format_version

    config = _metadata_json(props, METADATA_CONFIG, MAX_CONFIG_BYTES, path)
    _in_metadata(METADATA_CONFIG, path, check_format_version, config, path)
    config = migrate_config(config)
    if config["model"].get("contextual_layers") not in (None, 0):
        raise ModelFileError("metadata tagger.config: a model with contextual features, which an ONNX export cannot have", path)
    model = _in_metadata(METADATA_CONFIG, path, TaggerConfig.from_dict, config["model"])
    training = _in_metadata(METADATA_CONFIG, path, TrainConfig.from_dict, config.get("training", {}))
    return model, training


def _read_crf(props: Dict[str, str], config: TaggerConfig, path: Path) -> Dict[str, np.ndarray]:
    """tagger.crf's scores as float32 arrays of the CRF's shapes, finite; refused for a softmax model."""
    if not config.crf:
        if METADATA_CRF in props:
            raise ModelFileError("metadata tagger.crf in the export of a softmax model (crf false)", path)
        return {}
    scores = _metadata_json(props, METADATA_CRF, MAX_CRF_BYTES, path)
    if not isinstance(scores, dict) or set(scores) != set(CRF_SCORES):
        raise ModelFileError(f"metadata tagger.crf must be an object with exactly {', '.join(CRF_SCORES)}", path)
    tags = config.num_tags
    arrays = {}
    for name, shape in zip(CRF_SCORES, ((tags,), (tags, tags), (tags,))):
        try:
            array = np.asarray(scores[name], dtype=np.float64)  # lists of numbers only; ragged lists or strings raise
        except (TypeError, ValueError):
            raise ModelFileError(f"metadata tagger.crf: {name} is not an array of numbers", path) from None
        if array.shape != shape:
            raise ModelFileError(f"metadata tagger.crf: {name} has shape {array.shape}, num_tags {tags} needs {shape}", path)
        if not np.isfinite(array).all() or (np.abs(array) > np.finfo(np.float32).max).any():
            raise ModelFileError(f"metadata tagger.crf: {name} is not finite (NaN or infinity)", path)
        arrays[f"crf.{name}"] = array.astype(np.float32)
    return arrays


def _tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of ``graph``: initializers and node attributes, in subgraphs too."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def _check_graph(onnx: Any, model: Any, config: TaggerConfig, path: Path) -> None:
    """The graph's inputs and output are those ``graph_inputs(config)`` and ``num_tags`` imply; its tensors
    are inside the file (no external data, which would make onnxruntime read other files) and finite.
    """
    graph = model.graph
    initializers = {tensor.name for tensor in graph.initializer}
    inputs = {value.name: value for value in graph.input if value.name not in initializers}
    expected = graph_inputs(config)
    if set(inputs) != set(expected):
        raise ModelFileError(f"the graph's inputs are {sorted(inputs)[:8]}, this model's export has {list(expected)}", path)
    for name in expected:
        tensor_type = inputs[name].type.tensor_type
        if tensor_type.elem_type != onnx.TensorProto.INT64 or len(tensor_type.shape.dim) != _INPUT_RANKS[name]:
            raise ModelFileError(f"the graph's input {name} is not an int64 tensor of rank {_INPUT_RANKS[name]}", path)
    outputs = list(graph.output)
    if [value.name for value in outputs] != [OUTPUT_NAME]:
        raise ModelFileError(f"the graph's outputs are {[value.name for value in outputs][:8]}, an export has one, {OUTPUT_NAME}", path)
    output = outputs[0].type.tensor_type
    dims = output.shape.dim
    if (
        output.elem_type != onnx.TensorProto.FLOAT
        or len(dims) != 3
        or (dims[2].HasField("dim_value") and dims[2].dim_value != config.num_tags)
    ):
        raise ModelFileError(f"the graph's output is not float32 emissions of shape (batch, steps, {config.num_tags})", path)
    from onnx import numpy_helper

    for tensor in _tensors(graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelFileError(f"tensor {tensor.name!r} refers to external data; a tagger export holds all its weights", path)
        if tensor.data_type == onnx.TensorProto.FLOAT and not np.isfinite(numpy_helper.to_array(tensor)).all():
            raise ModelFileError(f"tensor {tensor.name!r} is not finite (NaN or infinity)", path)


def read_export(path: PathLike) -> OnnxExport:
    """Reads and checks an ONNX file written by ``tagger export`` (nothing is built from it yet).

    The order of the checks: the file's size, the protobuf, ``tagger.onnx_format``, the
    configuration, the vocabulary against it, the meta data, the CRF's scores, the quantisation,
    then the graph (see ``_check_graph``).

    Raises:
        ModelFileError: naming ``path``: not a file, not ONNX, not a tagger export, a newer layout,
            or a bad entry (the message names it).
    """
    onnx, _ = _onnx_modules()
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ModelFileError("not a file (an ONNX export is one .onnx file)", path)
        if size > MAX_ONNX_BYTES:
            raise ModelFileError(f"{size:,} bytes, more than an ONNX file without external data can have", path)
        with path.open("rb") as handle:
            data = handle.read(size + 1)  # a file that grew since is cut here
    except FileNotFoundError:
        raise ModelFileError("no such file", path) from None
    except OSError as error:
        raise ModelFileError(f"cannot read: {error.strerror or error}", path) from None
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # noqa: BLE001 (protobuf's DecodeError, and whatever onnx raises on bytes that are not ONNX)
        raise ModelFileError(f"not an ONNX model ({type(error).__name__}: {str(error)[:200]})", path) from None
    props: Dict[str, str] = {}
    for entry in model.metadata_props:
        if entry.key in props:
            raise ModelFileError(f"metadata key {entry.key[:80]!r} appears twice", path)
        props[entry.key] = entry.value
    version = props.get(METADATA_FORMAT)
    if version is None:
        raise ModelFileError("an ONNX model, but not a tagger export (no tagger metadata): write one with tagger export", path)
    if version != str(ONNX_FORMAT_VERSION):
        newer = version.isdigit() and len(version) < 10 and int(version) > ONNX_FORMAT_VERSION
        hint = "; upgrade tagger" if newer else ""
        raise ModelFileError(f"metadata {METADATA_FORMAT} is {version[:20]!r}, this tagger reads {ONNX_FORMAT_VERSION}{hint}", path)
    from tagger.model_format import check_vocab

    config, train_config = _read_configs(props, path)
    vocab = _metadata_json(props, METADATA_VOCAB, MAX_VOCAB_BYTES, path)
    _in_metadata(METADATA_VOCAB, path, check_vocab, vocab, config, path)
    meta = _metadata_json(props, METADATA_META, MAX_META_BYTES, path)
    if not isinstance(meta, dict):
        raise ModelFileError("metadata tagger.meta is not a JSON object", path)
    crf = _read_crf(props, config, path)
    quantize = props.get(METADATA_QUANTIZE, "none")
    if quantize not in ("none", "int8"):
        raise ModelFileError(f"metadata {METADATA_QUANTIZE} must be none or int8, got {quantize[:20]!r}", path)
    _check_graph(onnx, model, config, path)
    return OnnxExport(ModelFiles(config, train_config, vocab, crf, meta), quantize, data)


# ----------------------------------------------------------------------------- the tagger


class OnnxTagger(BatchedEngine):
    """A tagger exported to ONNX, run by onnxruntime on the CPU; the interface of ``Tagger``.

    Args:
        export: The checked contents of the file (``read_export``).
        threads: onnxruntime's intra-op threads; None: its default (one per physical core).
        source: The file, named in errors.

    Raises:
        ModelFileError: onnxruntime cannot load the graph.
    """

    def __init__(self, export: OnnxExport, threads: Optional[int] = None, source: Optional[PathLike] = None):
        _, onnxruntime = _onnx_modules()
        files = export.files
        self._config = files.config
        self.path = Path(source) if source is not None else None
        self.quantize = export.quantize
        self.input_names = graph_inputs(files.config)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: onnxruntime's warnings would go to stderr
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(export.model, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 (onnxruntime's own exception types, one per status code)
            raise ModelFileError(f"onnxruntime cannot load the graph: {str(error).splitlines()[0][:300]}", source) from None
        self.crf_scores: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
        if files.config.crf:
            from tagger.schemes import allowed_transitions

            allowed = allowed_transitions(files.vocab["labels"], files.config.training_scheme)
            start, transitions, end = (
                np.where(np.asarray(ok, dtype=bool), files.state_dict[f"crf.{name}"], np.float32(FORBIDDEN_SCORE)).astype(np.float32)
                for ok, name in zip(allowed, CRF_SCORES)
            )
            self.crf_scores = (start, transitions, end)
        super().__init__(Vocabularies.from_files(files), files.train_config, files.meta)

    @classmethod
    def load(cls, path: PathLike, *, threads: Optional[int] = None) -> "OnnxTagger":
        """Loads an ONNX file written by ``tagger export`` (torch is not imported).

        Args:
            path: The ``.onnx`` file.
            threads: onnxruntime's intra-op threads; None: its default.

        Raises:
            ModelFileError: not a tagger export, or a bad entry in it (see ``read_export``).
            ConfigError: onnx or onnxruntime is not installed.
        """
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"threads must be a positive integer or None, got {threads!r}")
        return cls(read_export(path), threads, source=path)

    @property
    def config(self) -> TaggerConfig:
        return self._config

    # -- the network ----------------------------------------------------------------------------

    def _run(self, feed: Dict[str, np.ndarray]) -> np.ndarray:
        """The graph's emissions for one batch, shape (batch, steps, num_tags), checked."""
        try:
            emissions = self.session.run([OUTPUT_NAME], feed)[0]
        except Exception as error:  # noqa: BLE001 (onnxruntime's own exception types)
            raise ModelFileError(f"the graph failed: {str(error).splitlines()[0][:300]}", self.path) from None
        batch, steps = feed["words"].shape
        expected = (batch, steps, self.config.num_tags)
        if not isinstance(emissions, np.ndarray) or emissions.shape != expected or emissions.dtype != np.float32:
            raise ModelFileError(f"the graph gave emissions of shape {getattr(emissions, 'shape', None)}, expected {expected}", self.path)
        return emissions

    def _batches(self, sentences: Sequence[Sequence[str]], batch_size: int) -> Iterator[Tuple[List[int], np.ndarray, np.ndarray]]:
        """``(indices, lengths, emissions (batch, steps, num_tags))`` per batch of similar length, longest first.

        Each batch carries the characters and casing of the forms it uses, as a training batch does.
        """
        chunk = TokenChunk(sentences, FormTable(self.char_vocab, char_index=self._char_index))
        if not len(chunk.flat):
            return
        chars, form_lengths, case = chunk.forms.arrays()
        form_words = chunk.word_ids(self.word_vocab)
        with_forms = "forms" in self.input_names
        for indices, batch_lengths, batch_forms, mask in chunk.batches(batch_size):
            feed = {"words": np.where(mask, form_words[batch_forms], 0), "lengths": batch_lengths}
            if with_forms:
                # Only the forms this batch uses; padding (form 0) stays local form 0.
                used, local = np.unique(np.concatenate(([0], batch_forms.ravel())), return_inverse=True)
                feed["forms"] = local[1:].reshape(batch_forms.shape).astype(np.int64)
                feed["form_chars"] = np.ascontiguousarray(chars[used, : max(1, int(form_lengths[used].max()))])
                feed["form_lengths"] = form_lengths[used]
                feed["form_case"] = case[used]
            yield indices, batch_lengths, self._run({name: feed[name] for name in self.input_names})

    def _decode(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Best tag ids, shape (batch, steps), of batch-first emissions."""
        if self.crf_scores is not None:
            return viterbi(np.ascontiguousarray(emissions.transpose(1, 0, 2)), lengths, *self.crf_scores)
        best: np.ndarray = emissions.argmax(axis=2)
        return best

    def emissions(self, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> List[np.ndarray]:
        """Tag scores (in the training scheme's label order) per sentence, shape (length, num_tags) each."""
        results = [np.zeros((len(tokens), self.config.num_tags), dtype=np.float32) for tokens in sentences]
        for indices, lengths, emissions in self._batches(sentences, batch_size):
            for row, (i, n) in enumerate(zip(indices, lengths.tolist())):
                results[i] = emissions[row, :n]
        return results

    def transition_scores(self) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return self.crf_scores

    ENGINE = "onnx"

    def info(self) -> Dict[str, object]:
        """What ``tagger info`` prints: configuration, labels, size and training scores, and the export's file and quantisation."""
        return {**super().info(), "onnx_file": None if self.path is None else str(self.path), "quantize": self.quantize}
