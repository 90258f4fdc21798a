"""Exports a trained tagger as one self-contained ONNX file (``tagger export --format onnx``), optionally with int8 weights.

The graph computes the whole network of ``SequenceTagger.emissions`` for one batch: word
embeddings, the character encoder and casing embedding of the batch's distinct forms, the
recurrent encoder and the output layer. Its inputs (``tagger.onnx_engine.graph_inputs``) are
those of a training ``Batch``; every axis is dynamic (sentences, positions, forms, characters),
and sentences of any lengths share a batch exactly as in torch: padding follows the tokens, the
backward direction reads each sentence reversed within its own length (a gather), and the
character BiLSTM, which torch runs packed (which neither ONNX exporter can export), is run the
same way: forward over the padded characters, backward over each form reversed, each form's state
taken at its last character.

Decoding is not in the graph: ``tagger.onnx_engine`` decodes the emissions with the NumPy engine's
vectorised constrained Viterbi (``tagger.numpy_tagger.viterbi``). A Viterbi in ONNX would be a
``Loop`` or ``Scan`` over time steps with data-dependent lengths, which onnxruntime runs one node
at a time (no faster than NumPy's batched step), and it would be a second implementation to keep
identical to ``tagger.crf``'s; confidence (marginals) and n-best paths need the emissions anyway.

The TorchScript exporter is used (``dynamo=False`` where torch has both): it exports the recurrent
layers as ONNX ``LSTM``/``GRU``/``RNN`` nodes with dynamic axes in about a second, works from
torch 2.2 on, and gives nodes that onnxruntime's dynamic quantisation turns into int8 kernels.
torch 2.13's dynamo exporter also exports the network, but takes about fifteen times longer.

Everything tagging needs travels in the file's ``metadata_props`` (see ``tagger.onnx_engine``),
which the engine checks as strictly as a model directory. The file is written atomically and an
existing one is replaced only with ``force``; every export is checked against torch on a probe
batch before it is written.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tagger.batching import FormTable, encode_sentence, make_batch
from tagger.encoders import CharLSTM, reversal_index, reverse_sentences
from tagger.errors import ConfigError, OutputError
from tagger.files import atomic_path, dumps_json
from tagger.model import SequenceTagger
from tagger.onnx_engine import (
    INSTALL_HINT,
    METADATA_CONFIG,
    METADATA_CRF,
    METADATA_FORMAT,
    METADATA_META,
    METADATA_QUANTIZE,
    METADATA_VOCAB,
    ONNX_FORMAT_VERSION,
    OUTPUT_NAME,
    QUANTIZE_CHOICES,
    graph_inputs,
)
from tagger.schemes import allowed_transitions
from tagger.serialization import ModelFiles, load_model_files

DEFAULT_OPSET = 17
"""The ONNX opset written: the newest that torch 2.2's exporter knows, and onnxruntime >= 1.14 runs."""
OPSETS = range(14, 21)
MAX_EXPORT_BYTES = (1 << 31) - (64 << 20)
"""A protobuf message is at most 2 GiB, and the file is one message (no external data): weights up to
this, and the graph and metadata in the rest."""
PROBE = [["Alpha", "beta", "GAMMA", "4-5", "x"], ["Delta", "epsilon"], ["z"]]
"""Sentences of different lengths (one of length 1) on which every export is compared with torch."""
PROBE_TOLERANCE = 1e-3


PathLike = Union[str, Path]


def _onnx_modules() -> Tuple[Any, Any]:
    """``(onnx, onnxruntime)``, or a one-line ConfigError saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConfigError(f"exporting to ONNX needs the onnx and onnxruntime packages: {INSTALL_HINT}") from None
    return onnx, onnxruntime


# ----------------------------------------------------------------------------- the exported network


class EmissionsNetwork(nn.Module):
    """``SequenceTagger.emissions`` for one batch, in operations both ONNX exporters can export.

    Its positional inputs are ``graph_inputs(config)``, in that order: ``words`` (batch, steps),
    ``lengths`` (batch,), then, when the model has character or casing features, ``forms``
    (batch, steps) pointing into the batch's forms, and ``form_chars`` (num_forms, word_len) and
    ``form_lengths`` (num_forms,) (character encoder), ``form_case`` (num_forms,) (casing); all int64.
    It returns the emissions, shape (batch, steps, num_tags).

    Args:
        model: The network, in eval mode; models with contextual features cannot be exported.
    """

    word_table: torch.Tensor

    def __init__(self, model: SequenceTagger):
        super().__init__()
        if model.config.contextual_layers:
            raise ValueError("a model with contextual features cannot be exported: the encoder's features come from outside the graph")
        self.model = model
        self.names = graph_inputs(model.config)
        # The whole word table as one matrix: WordEmbedding's split into a parameter and a frozen buffer is for
        # training. A persistent buffer is exported as an initializer (not a Constant node), which int8 quantises.
        self.register_buffer("word_table", model.word_embedding.weight.detach().clone())
        self.char_directions: Optional[nn.ModuleList] = None
        if isinstance(model.char_encoder, CharLSTM):
            self.char_directions = nn.ModuleList(_direction(model.char_encoder.lstm, suffix) for suffix in ("", "_reverse"))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Emissions, shape (batch, steps, num_tags), of the inputs named by ``graph_inputs``."""
        given = dict(zip(self.names, inputs))
        model = self.model
        parts = [F.embedding(given["words"], self.word_table)]  # shape: (batch, steps, word_dim)
        form_parts = []
        if model.config.char_encoder == "lstm":
            form_parts.append(self._char_lstm(given["form_chars"], given["form_lengths"]))
        elif model.char_encoder is not None:
            form_parts.append(model.char_encoder(given["form_chars"], given["form_lengths"]))
        if model.case_embedding is not None:
            form_parts.append(model.case_embedding(given["form_case"]))
        if form_parts:
            form_features = torch.cat(form_parts, dim=-1) if len(form_parts) > 1 else form_parts[0]  # shape: (num_forms, features)
            parts.append(form_features[given["forms"]])  # shape: (batch, steps, features)
        features = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return model.output(model.encoder(features, given["lengths"]))

    def _char_lstm(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``CharLSTM.forward`` without packing: the final states of each direction, read at each form's last character."""
        assert self.char_directions is not None and isinstance(self.model.char_encoder, CharLSTM)
        embedded = self.model.char_encoder.embedding(chars)  # shape: (num_forms, word_len, char_dim)
        steps = lengths.clamp(min=1)  # the empty form reads one PAD, as CharLSTM does
        last = (steps - 1).view(-1, 1, 1)
        forward_rnn, backward_rnn = self.char_directions
        forward = forward_rnn(embedded)[0]  # shape: (num_forms, word_len, hidden // 2)
        backward = backward_rnn(reverse_sentences(embedded, reversal_index(steps, chars.shape[1])))[0]
        take = last.expand(-1, 1, forward.shape[2])
        encoded = torch.cat([forward.gather(1, take), backward.gather(1, take)], dim=2).squeeze(1)  # shape: (num_forms, hidden)
        return encoded.masked_fill((lengths == 0).unsqueeze(1), 0.0)


def _direction(lstm: nn.LSTM, suffix: str) -> nn.LSTM:
    """One direction of a one-layer bidirectional ``lstm`` as a unidirectional LSTM (its weights copied)."""
    single = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(single, f"{name}_l0").copy_(getattr(lstm, f"{name}_l0{suffix}"))
    return single.eval()


def network_from_files(files: ModelFiles) -> EmissionsNetwork:
    """The exportable network of a model directory's (checked) contents, in eval mode."""
    config = files.config
    model = SequenceTagger(config, allowed_transitions(files.vocab["labels"], config.training_scheme) if config.crf else None)
    model.load_state_dict(files.state_dict)
    return EmissionsNetwork(model.eval()).eval()


def graph_feed(files: ModelFiles, sentences: Sequence[Sequence[str]]) -> Dict[str, np.ndarray]:
    """The graph's inputs for one batch of non-empty ``sentences`` (longest first), built as training batches are."""
    from tagger.tagging import Vocabularies

    vocabularies = Vocabularies.from_files(files)
    forms = FormTable(vocabularies.chars)
    batch = make_batch([encode_sentence(tokens, vocabularies.words, forms) for tokens in sentences], forms)
    arrays = {
        "words": batch.words,
        "lengths": batch.lengths,
        "forms": batch.forms,
        "form_chars": batch.form_chars,
        "form_lengths": batch.form_lengths,
        "form_case": batch.form_case,
    }
    return {name: arrays[name].numpy() for name in graph_inputs(files.config)}  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- exporting


def _check_options(out: Path, quantize: Optional[str], opset: int, force: bool) -> None:
    """Refuses bad options and an output that must not be written, before anything is loaded."""
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(f"--quantize must be {' or '.join(str(q) for q in QUANTIZE_CHOICES if q)} (or not given), got {quantize!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in OPSETS:
        raise ConfigError(f"opset must be an integer in [{OPSETS[0]}, {OPSETS[-1]}], got {opset!r}")
    if out.suffix.lower() != ".onnx":
        raise ConfigError("the output must end in .onnx (tagger.load and tagger tag recognise an export by it)", out)
    if out.is_dir():
        raise ConfigError("is a directory; name the .onnx file to write", out)
    if os.path.lexists(out) and not force:
        raise ConfigError("exists; pass --force (force=True) to replace it", out)
    if not out.parent.is_dir():
        raise ConfigError("parent directory does not exist", out.parent)


def _exporter_options() -> Dict[str, Any]:
    """``dynamo=False`` where torch.onnx.export has a choice (torch >= 2.5): the TorchScript exporter, see the module."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def export_graph(network: EmissionsNetwork, feed: Dict[str, np.ndarray], opset: int = DEFAULT_OPSET) -> Any:
    """The network as an ``onnx.ModelProto`` with dynamic axes, traced on the inputs ``feed``."""
    onnx, _ = _onnx_modules()
    axes = {
        "words": {0: "batch", 1: "steps"},
        "lengths": {0: "batch"},
        "forms": {0: "batch", 1: "steps"},
        "form_chars": {0: "forms", 1: "chars"},
        "form_lengths": {0: "forms"},
        "form_case": {0: "forms"},
        OUTPUT_NAME: {0: "batch", 1: "steps"},
    }
    with tempfile.TemporaryDirectory(prefix="tagger-onnx-") as work, warnings.catch_warnings(), torch.no_grad():
        graph = Path(work) / "float32.onnx"
        # The TorchScript exporter's deprecation notice, and its advice about LSTM initial states
        # with a batch size other than 1, which concerns states given as inputs (ours start at zero).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            tuple(torch.from_numpy(feed[name]) for name in network.names),
            graph,
            input_names=list(network.names),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: axes[name] for name in [*network.names, OUTPUT_NAME]},
            opset_version=opset,
            do_constant_folding=True,
            **_exporter_options(),
        )
        return onnx.load_model_from_string(graph.read_bytes())


@contextlib.contextmanager
def _root_logger_untouched() -> Iterator[None]:
    """Keeps the root logger as it was while onnxruntime's quantiser runs.

    The quantiser logs through ``logging.warning``, which configures the root logger when it has no
    handler (``basicConfig``); a NullHandler for the block prevents that (its advice is dropped).
    """
    root = logging.getLogger()
    handler = logging.NullHandler() if not root.handlers else None
    if handler is not None:
        root.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            root.removeHandler(handler)


INT8_OPS = ["LSTM", "MatMul", "Gather", "Attention"]
"""The node types ``--quantize int8`` quantises (GRU and RNN nodes have no int8 kernels in onnxruntime)."""


def quantize_int8(model: Any) -> Any:
    """``model`` (an ``onnx.ModelProto``) with int8 weights: onnxruntime's dynamic quantisation (QInt8
    weights; activations quantised at run time) of the recurrent, matmul and gather nodes.

    The character CNN stays float32: onnxruntime's ``ConvInteger`` ran 5x slower than its float
    ``Conv`` on the reference model (35% of the int8 graph's time against 8%), and its weights are small.
    """
    onnx, _ = _onnx_modules()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="tagger-onnx-") as work:
        source, target = Path(work) / "float32.onnx", Path(work) / "int8.onnx"
        source.write_bytes(model.SerializeToString())
        with _root_logger_untouched():
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, op_types_to_quantize=INT8_OPS)
        return onnx.load_model_from_string(target.read_bytes())


def metadata(files: ModelFiles, quantize: Optional[str]) -> Dict[str, str]:
    """The ``metadata_props`` of an export: what a model directory's JSON files hold, and the CRF's scores."""
    from tagger import __version__
    from tagger.config import PLAIN_FORMAT_VERSION

    config = {
        "format_version": PLAIN_FORMAT_VERSION,
        "tagger_version": __version__,
        "model": files.config.to_dict(),
        "training": files.train_config.to_dict(),
    }
    props = {
        METADATA_FORMAT: str(ONNX_FORMAT_VERSION),
        METADATA_CONFIG: dumps_json(config, source=METADATA_CONFIG, sort_keys=True, ensure_ascii=False),
        METADATA_VOCAB: dumps_json(files.vocab, source=METADATA_VOCAB, ensure_ascii=False),
        METADATA_META: dumps_json(files.meta, source=METADATA_META, sort_keys=True, ensure_ascii=False),
        METADATA_QUANTIZE: quantize or "none",
    }
    if files.config.crf:
        # The raw scores: the engine applies the constraints the labels' scheme implies, as the NumPy engine does.
        scores = {name: files.state_dict[f"crf.{name}"].tolist() for name in ("start_transitions", "transitions", "end_transitions")}
        props[METADATA_CRF] = json.dumps(scores)
    return props


def _check_probe(model: Any, network: EmissionsNetwork, feed: Dict[str, np.ndarray], exact: bool) -> None:
    """Runs the export on the probe batch in onnxruntime: the emissions' shape, and (float32) torch's values.

    Raises:
        RuntimeError: the graph disagrees with torch (an exporter bug, not the user's).
    """
    _, onnxruntime = _onnx_modules()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: no warnings on stderr
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], feed)[0]
    with torch.inference_mode():
        expected = network(*(torch.from_numpy(feed[name]) for name in network.names)).numpy()
    if got.shape != expected.shape or not np.isfinite(got).all():
        raise RuntimeError(f"the exported graph gives emissions of shape {got.shape} on the probe batch, torch {expected.shape}")
    if exact and not np.allclose(got, expected, atol=PROBE_TOLERANCE, rtol=0):
        raise RuntimeError(f"the exported graph's emissions differ from torch's by {np.abs(got - expected).max():.3g} on the probe batch")


def export_onnx(
    model_dir: PathLike,
    out_path: PathLike,
    *,
    quantize: Optional[str] = None,
    opset: int = DEFAULT_OPSET,
    force: bool = False,
) -> Path:
    """Writes a model directory's network as one self-contained ONNX file (see the module).

    Args:
        model_dir: A model directory written by ``tagger.train`` or ``Tagger.save``.
        out_path: The file to write; it must end in ``.onnx``.
        quantize: None (float32 weights) or ``int8`` (onnxruntime dynamic quantisation).
        opset: The ONNX opset, 14 to 20.
        force: Replace an existing file.

    Returns:
        ``out_path`` as a Path.

    Raises:
        ConfigError: a bad option, an output that exists (without ``force``), or a model with
            contextual features (their encoder runs outside the network) or too big for one file.
        ModelFileError: a bad model directory.
        OutputError: the file cannot be written.

    Example:
        >>> export_onnx("models/ner", "ner.onnx", quantize="int8")
        PosixPath('ner.onnx')
    """
    out = Path(out_path)
    _check_options(out, quantize, opset, force)
    model_path = os.path.realpath(model_dir)
    if os.path.commonpath([model_path, os.path.realpath(out)]) == model_path:
        raise ConfigError(f"is inside the model directory {model_dir}, which must hold only the files tagger writes; write elsewhere", out)
    _onnx_modules()  # the install hint before the model is read
    files = load_model_files(model_dir)
    config = files.config
    if config.contextual_layers:
        raise ConfigError(
            "the model uses contextual features, which come from a transformer encoder outside the network: "
            "it cannot be exported to ONNX; tag it with the torch engine",
            model_dir,
        )
    weight_bytes = 4 * sum(int(np.prod(t.shape)) for t in files.state_dict.values())
    if weight_bytes > MAX_EXPORT_BYTES:
        raise ConfigError(f"{weight_bytes:,} bytes of weights: more than one ONNX file (a 2 GiB protobuf message) holds", model_dir)
    network = network_from_files(files)
    feed = graph_feed(files, PROBE)
    model = export_graph(network, feed, opset)
    _check_probe(model, network, feed, exact=True)
    if quantize == "int8":
        model = quantize_int8(model)
        _check_probe(model, network, feed, exact=False)
    del model.metadata_props[:]
    for key, value in metadata(files, quantize).items():
        model.metadata_props.add(key=key, value=value)
    data = model.SerializeToString()
    try:
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror or error}", out) from None
    return out
