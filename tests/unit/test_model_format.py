"""A model directory is checked in full before anything is built from it, by both engines (issue 9, item 2).

Every case starts from a tiny valid model directory and breaks one thing in config.json,
vocab.json or model.safetensors; loading must raise a one-line ModelFileError naming the file
(and the key or weight), quickly and without allocating what the broken file asks for.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest
import torch

from tagger.config import TaggerConfig
from tagger.errors import ModelFileError
from tagger.inference import Tagger
from tagger.model import SequenceTagger
from tagger.numpy_tagger import NumpyTagger
from tagger.schemes import allowed_transitions
from tagger.vocab import PAD, UNK, Vocab, WordVocab

IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
IOBES = ["O"] + [f"{prefix}-{kind}" for kind in ("PER", "LOC") for prefix in "BIES"]
WORDS = [PAD, UNK, "john", "lives", "in", "paris", "."]
CHARS = [PAD, UNK] + sorted(set("JohnlivesinParis."))
ENGINES = {"torch": lambda path: Tagger.load(path, device="cpu"), "numpy": NumpyTagger.load}


def tiny_model(path: Path, seed: int = 0, **options: Any) -> Path:
    """A small random SequenceTagger (IOBES CRF over IOB2 output) saved with Tagger.save."""
    sizes = dict(hidden_size=6, word_dim=5, char_dim=4, char_hidden=4, case_dim=3, dropout=0.0)
    config = TaggerConfig(
        num_words=len(WORDS),
        num_chars=len(CHARS),
        num_tags=len(IOBES),
        training_scheme="IOBES",
        output_scheme="IOB2",
        **{**sizes, **options},
    )
    torch.manual_seed(seed)
    model = SequenceTagger(config, allowed_transitions(IOBES, "IOBES") if config.crf else None)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter))
    Tagger(model, WordVocab(WORDS, lowercase=True), Vocab(CHARS), Vocab(IOBES, reserved=False), IOB2).save(path)
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def model(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny model, to break."""
    return Path(shutil.copytree(pristine, tmp_path / "model"))


# ----------------------------------------------------------------------------- file editors


def edit_json(path: Path, edit: Callable[[Dict[str, Any]], None]) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def set_model(key: str, value: Any) -> Callable[[Path], None]:
    return lambda model: edit_json(model / "config.json", lambda c: c["model"].__setitem__(key, value))


def read_header(path: Path) -> tuple:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def write_safetensors(path: Path, header: Dict[str, Any], body: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + body)


def edit_header(edit: Callable[[Dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(model: Path) -> None:
        header, body = read_header(model / "model.safetensors")
        edit(header)
        write_safetensors(model / "model.safetensors", header, body)

    return apply


def replace_tensors(edit: Callable[[Dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    """Rewrites model.safetensors (a valid file) with edited arrays."""

    def apply(model: Path) -> None:
        from safetensors.numpy import load_file, save_file

        arrays = load_file(str(model / "model.safetensors"))
        edit(arrays)
        save_file(arrays, str(model / "model.safetensors"))

    return apply


def raw_bytes(make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(model: Path) -> None:
        weights = model / "model.safetensors"
        weights.write_bytes(make(weights.read_bytes()))

    return apply


def set_item(mapping: Dict[str, Any], key: str, value: Any) -> None:
    mapping[key] = value


# ----------------------------------------------------------------------------- the cases

BROKEN = {
    # config.json: types, ranges, bounds
    "crf as a string": (set_model("crf", "false"), "config.json.*crf must be a bool"),
    "fractional hidden_size": (set_model("hidden_size", 12.5), "config.json.*hidden_size must be an integer"),
    "fractional layers": (set_model("layers", 1.5), "config.json.*layers must be an integer"),
    "huge hidden_size": (set_model("hidden_size", 30000), "config.json.*hidden_size must be <="),
    "huge layers": (set_model("layers", 1_000_000), "config.json.*layers must be <="),
    "negative word_dim": (set_model("word_dim", -5), "config.json.*word_dim must be > 0"),
    "NaN dropout": (set_model("dropout", math.nan), "config.json.*dropout must be a finite number"),
    "unknown cell": (set_model("cell", "transformer"), "config.json.*cell must be one of"),
    "unknown scheme": (set_model("training_scheme", "XYZ"), "config.json.*training_scheme must be one of"),
    "unknown key": (set_model("colour", "red"), "config.json.*colour"),
    "model not an object": (
        lambda m: edit_json(m / "config.json", lambda c: set_item(c, "model", [1, 2])),
        "config.json.*not a tagger model config",
    ),
    "NaN lr in training": (
        lambda m: edit_json(m / "config.json", lambda c: c["training"].__setitem__("lr", math.nan)),
        "config.json.*lr must be a finite number",
    ),
    "string format_version": (
        lambda m: edit_json(m / "config.json", lambda c: set_item(c, "format_version", "1")),
        "config.json.*format_version '1' is not a version number",
    ),
    "bool format_version": (
        lambda m: edit_json(m / "config.json", lambda c: set_item(c, "format_version", True)),
        "config.json.*format_version True is not a version number",
    ),
    "zero format_version": (
        lambda m: edit_json(m / "config.json", lambda c: set_item(c, "format_version", 0)),
        "config.json.*format_version 0 is not a version number",
    ),
    "config not JSON": (lambda m: (m / "config.json").write_text("{"), "config.json.*cannot read"),
    "config a list": (lambda m: (m / "config.json").write_text("[]"), "config.json.*not a tagger model config"),
    # config.json against the weights (within the bounds, so only the header can tell)
    "hidden_size over small weights": (set_model("hidden_size", 4000), "model.safetensors.*weight .* has shape"),
    "two layers over one": (set_model("layers", 2), "model.safetensors.*missing"),
    "no CRF over CRF weights": (set_model("crf", False), "model.safetensors.*unexpected"),
    # vocab.json
    "duplicate word": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["words"].__setitem__(3, "john")),
        "vocab.json.*'words'.*duplicate.*'john'",
    ),
    "non-string char": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["chars"].__setitem__(2, 7)),
        "vocab.json.*'chars'.*not a string",
    ),
    "words without <pad>": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["words"].__setitem__(0, "pad")),
        "vocab.json.*'words'.*<pad>",
    ),
    "one word too many": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["words"].append("extra")),
        "vocab.json.*'words' has 8 entries, config.json says num_words 7",
    ),
    "labels not a list": (
        lambda m: edit_json(m / "vocab.json", lambda v: set_item(v, "labels", "O")),
        "vocab.json.*no 'labels' list",
    ),
    "foreign label": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["labels"].__setitem__(1, "X-PER")),
        "vocab.json.*'labels'.*X-PER",
    ),
    "output labels of another type": (
        lambda m: edit_json(m / "vocab.json", lambda v: v["output_labels"].__setitem__(3, "B-ORG")),
        "vocab.json.*'output_labels'.*'labels'",
    ),
    "vocab not an object": (lambda m: (m / "vocab.json").write_text('"words"'), "vocab.json.*no 'words' list"),
    "meta not an object": (lambda m: (m / "meta.json").write_text("[1]"), "meta.json.*JSON object"),
    # model.safetensors: header and bytes
    "int64 word matrix": (
        replace_tensors(lambda a: a.__setitem__("word_embedding.weight", a["word_embedding.weight"].astype(np.int64))),
        "model.safetensors.*word_embedding.weight.*dtype I64.*F32",
    ),
    "float constraints": (
        replace_tensors(lambda a: a.__setitem__("crf.allowed_start", a["crf.allowed_start"].astype(np.float32))),
        "model.safetensors.*crf.allowed_start.*dtype F32.*BOOL",
    ),
    "NaN weight": (
        replace_tensors(lambda a: a["output.bias"].__setitem__(0, np.nan)),
        "model.safetensors.*output.bias.*not finite",
    ),
    "infinite weight": (
        replace_tensors(lambda a: a["encoder.forward_layers.0.weight_hh_l0"].__setitem__((1, 2), -np.inf)),
        "model.safetensors.*weight_hh_l0.*not finite",
    ),
    "constraints that allow everything": (
        replace_tensors(lambda a: a["crf.allowed_transitions"].fill(True)),
        "model.safetensors.*crf.allowed_transitions.*IOBES",
    ),
    "extra tensor": (
        replace_tensors(lambda a: a.__setitem__("extra", np.zeros(3, np.float32))),
        "model.safetensors.*unexpected.*extra",
    ),
    "huge header length": (raw_bytes(lambda d: struct.pack("<Q", 2**62) + d[8:]), "model.safetensors.*header"),
    "header longer than the file": (raw_bytes(lambda d: struct.pack("<Q", len(d)) + d[8:]), "model.safetensors.*header"),
    "truncated": (raw_bytes(lambda d: d[: len(d) - 100]), "model.safetensors.*(offsets|bytes)"),
    "truncated in the header": (raw_bytes(lambda d: d[:50]), "model.safetensors.*header"),
    "four bytes": (raw_bytes(lambda d: d[:4]), "model.safetensors"),
    "random bytes": (raw_bytes(lambda d: bytes(np.random.default_rng(0).integers(0, 256, len(d), dtype=np.uint8))), "model.safetensors"),
    "header not JSON": (raw_bytes(lambda d: struct.pack("<Q", 4) + b"{{{{" + d[8:]), "model.safetensors.*header"),
    "header a list": (raw_bytes(lambda d: struct.pack("<Q", 2) + b"[]"), "model.safetensors.*header"),
    "huge shape": (
        edit_header(lambda h: h["output.bias"].__setitem__("shape", [2**40, 2**40])),
        "model.safetensors.*output.bias",
    ),
    "negative shape": (edit_header(lambda h: h["output.bias"].__setitem__("shape", [-9])), "model.safetensors.*output.bias"),
    "offsets beyond the file": (
        edit_header(lambda h: h["output.bias"].__setitem__("data_offsets", [0, 10**12])),
        "model.safetensors.*output.bias",
    ),
    "unknown dtype": (edit_header(lambda h: h["output.bias"].__setitem__("dtype", "F128")), "model.safetensors.*output.bias.*dtype"),
    "entry not an object": (edit_header(lambda h: h.__setitem__("output.bias", 3)), "model.safetensors.*output.bias"),
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_model_is_refused_in_one_line(model: Path, case: str, engine: str) -> None:
    breaks, message = BROKEN[case]
    breaks(model)
    with pytest.raises(ModelFileError, match=message) as caught:
        ENGINES[engine](model)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_pristine_model_loads(pristine: Path, engine: str) -> None:
    tags = ENGINES[engine](pristine).predict([["John", "lives", "in", "Paris", "."]])
    assert len(tags[0]) == 5 and set(tags[0]) <= set(IOB2)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("key, value", [("hidden_size", 4000), ("hidden_size", 7000), ("word_dim", 19_000), ("layers", 64)])
def test_sizes_in_config_allocate_nothing_before_the_weights_agree(model: Path, engine: str, key: str, value: int) -> None:
    """hidden_size 4000 over weights of size 6 took 29 s and 970 MB (torch) before its error."""
    set_model(key, value)(model)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ModelFileError, match="model.safetensors"):
            ENGINES[engine](model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 5_000_000


def test_a_model_directory_is_valid_before_a_network_is_built(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_model("hidden_size", 4000)(model)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the network was built from an unchecked config")

    monkeypatch.setattr("tagger.inference.SequenceTagger", never)
    with pytest.raises(ModelFileError, match="model.safetensors"):
        Tagger.load(model, device="cpu")


@pytest.mark.parametrize("options", [{"crf": False}, {"char_encoder": "lstm", "cell": "gru"}, {"char_encoder": "none", "case_dim": 0}])
def test_other_architectures_load(tmp_path: Path, options: Dict[str, Any]) -> None:
    path = tiny_model(tmp_path / "model", **options)
    sentence = [["John", "lives", "in", "Paris", "."]]
    assert NumpyTagger.load(path).predict(sentence) == Tagger.load(path, device="cpu").predict(sentence)


def test_plain_scheme_model_loads(tmp_path: Path) -> None:
    labels = ["NOUN", "VERB", "DET"]
    config = TaggerConfig(num_words=len(WORDS), num_chars=len(CHARS), num_tags=3, hidden_size=4, word_dim=3, char_hidden=4)
    model = SequenceTagger(config, allowed_transitions(labels, "plain"))
    Tagger(model, WordVocab(WORDS, lowercase=True), Vocab(CHARS), Vocab(labels, reserved=False), ["DET", "NOUN", "VERB"]).save(
        tmp_path / "pos"
    )
    assert NumpyTagger.load(tmp_path / "pos").predict([["john"]]) == Tagger.load(tmp_path / "pos", device="cpu").predict([["john"]])
