"""Property-based fuzzing of the model loader (``Tagger.load`` and ``NumpyTagger.load``).

Each example copies a tiny valid model directory and breaks it: config.json values of every
type (huge, negative, NaN, strings, lists), vocab.json entries (duplicates, non-strings, wrong
lengths, swaps), and model.safetensors bytes (truncation, random bytes, a hostile header length,
header edits of shapes, dtypes and offsets). Both engines must either load a model that tags
correctly or raise a one-line ``ModelFileError`` naming a file in the directory, within a time
bound and, for the NumPy engine (whose allocations tracemalloc sees), a memory bound. The default
run takes a few seconds; ``-m slow`` runs many more examples.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import tracemalloc
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tagger.config import TaggerConfig, TrainConfig
from tagger.errors import ModelFileError
from tagger.inference import Tagger
from tagger.numpy_tagger import NumpyTagger
from tests.fuzz.limits import time_limit
from tests.unit.test_model_format import IOB2, tiny_model

FAST = settings(max_examples=25, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=1000, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
SECONDS_PER_EXAMPLE = 20  # a hang fails the test instead of stalling the run
MAX_TRACED_BYTES = 20_000_000  # the tiny model needs well under 1 MB; what a file asks for must not count
SENTENCES = [["John", "lives", "in", "Paris", "."], ["Zyx"], ["a", "b", "c"]]

Mutation = Callable[[Path], None]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("fuzz") / "model")


def load_both_or_error(directory: Path) -> None:
    """Each engine loads a model that tags correctly, or raises a one-line ModelFileError; nothing else."""
    for load in (lambda path: Tagger.load(path, device="cpu"), NumpyTagger.load):
        tracemalloc.start()
        try:
            with time_limit(SECONDS_PER_EXAMPLE):
                try:
                    tagger = load(directory)
                except ModelFileError as error:
                    message = str(error)
                    assert message.startswith(str(directory)) and "\n" not in message, message
                    event(f"refused: {Path(error.path or '').name}")
                    continue
                tags = tagger.predict(SENTENCES)
                event("loaded")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MAX_TRACED_BYTES, f"{peak:,} bytes traced"
        assert [len(sentence) for sentence in tags] == [len(sentence) for sentence in SENTENCES]
        # output_labels may lose entries (a type's other tags imply them) or be reordered, never gain one.
        assert set(tagger.labels) <= set(IOB2) and {tag for sentence in tags for tag in sentence} <= set(IOB2)


def run_mutations(pristine: Path, mutations: list) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(shutil.copytree(pristine, Path(scratch) / "model"))
        for mutate in mutations:
            mutate(directory)
        load_both_or_error(directory)


# ----------------------------------------------------------------------------- values

HOSTILE = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 9, 64, 65, 4000, 30_000, 10**6, 2**31, 2**63, 2**64, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["lstm", "gru", "rnn", "cnn", "none", "IOBES", "IOB2", "IOB1", "BILOU", "plain", "cpu", "cuda:0", "1"]),
    st.lists(st.integers(-3, 10), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
NOT_STRINGS = HOSTILE.filter(lambda value: not isinstance(value, str))


def edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    """Rewrites a JSON file with ``edit(value)`` (which may edit in place and return None).

    An edit that does not apply (an earlier one replaced the object it edits) leaves the file as it is.
    """
    value = json.loads(path.read_text())
    try:
        edited = edit(value)
    except (TypeError, KeyError, AttributeError, IndexError, ZeroDivisionError):
        return
    path.write_text(json.dumps(value if edited is None else edited))


# ----------------------------------------------------------------------------- config.json

SECTIONS = {"model": [f.name for f in fields(TaggerConfig)], "training": [f.name for f in fields(TrainConfig)]}


@st.composite
def config_mutations(draw: st.DrawFn) -> Mutation:
    """One change to config.json: a field's value, a missing field, or the top level."""
    kind = draw(st.sampled_from(["field", "field", "field", "delete", "top"]))
    if kind == "top":
        key = draw(st.sampled_from(["format_version", "model", "training", "tagger_version"]))
        value = draw(HOSTILE)
        return lambda model: edit_json(model / "config.json", lambda c: c.__setitem__(key, value))
    section = draw(st.sampled_from(sorted(SECTIONS)))
    key = draw(st.sampled_from(SECTIONS[section] + ["colour"]))
    if kind == "delete":
        return lambda model: edit_json(model / "config.json", lambda c: c[section].pop(key, None))
    value = draw(HOSTILE)
    return lambda model: edit_json(model / "config.json", lambda c: c[section].__setitem__(key, value))


@FAST
@given(mutations=st.lists(config_mutations(), min_size=1, max_size=3))
def test_config_json(pristine: Path, mutations: list) -> None:
    run_mutations(pristine, mutations)


# ----------------------------------------------------------------------------- vocab.json

VOCAB_KEYS = ["words", "chars", "labels", "output_labels"]


@st.composite
def vocab_mutations(draw: st.DrawFn) -> Mutation:
    """One change to a vocab.json list: a duplicate, a non-string, an entry added, removed, swapped or renamed."""
    key = draw(st.sampled_from(VOCAB_KEYS + ["whole"]))
    if key == "whole":
        value = draw(HOSTILE)
        return lambda model: edit_json(model / "vocab.json", lambda _: value)
    op = draw(st.sampled_from(["duplicate", "not a string", "append", "pop", "swap", "rename", "replace list"]))
    i, j = draw(st.integers(0, 30)), draw(st.integers(0, 30))
    entry = draw(st.one_of(st.text(max_size=6), st.sampled_from(["O", "B-PER", "S-LOC", "X-PER", "B-ORG", "<pad>", "<unk>"])))
    odd = draw(NOT_STRINGS)

    def edit(vocab: dict) -> None:
        items = vocab[key]
        if op == "replace list":
            vocab[key] = odd
        elif op == "append":
            items.append(entry)
        elif op == "pop":
            items.pop(i % len(items))
        elif op == "duplicate":
            items[i % len(items)] = items[j % len(items)]
        elif op == "not a string":
            items[i % len(items)] = odd
        elif op == "swap":
            a, b = i % len(items), j % len(items)
            items[a], items[b] = items[b], items[a]
        else:
            items[i % len(items)] = entry

    return lambda model: edit_json(model / "vocab.json", edit)


@FAST
@given(mutations=st.lists(vocab_mutations(), min_size=1, max_size=3))
def test_vocab_json(pristine: Path, mutations: list) -> None:
    run_mutations(pristine, mutations)


# ----------------------------------------------------------------------------- model.safetensors


def split(data: bytes) -> tuple:
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def join(header: dict, body: bytes) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + body


@st.composite
def weight_mutations(draw: st.DrawFn) -> Mutation:
    """One change to model.safetensors' bytes or header."""
    kind = draw(st.sampled_from(["truncate", "flip", "length", "random", "append", "header", "header", "rename", "drop"]))
    position = draw(st.floats(0, 1, exclude_max=True))
    name_index = draw(st.integers(0, 100))
    if kind == "truncate":
        edit = lambda data: data[: int(position * len(data))]  # noqa: E731
    elif kind == "flip":
        flips = draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))

        def edit(data: bytes) -> bytes:
            mutable = bytearray(data)
            if not mutable:  # an earlier mutation (truncate) may have emptied the file: nothing to flip
                return data
            for where, byte in flips:
                mutable[int(where * len(mutable))] = byte
            return bytes(mutable)
    elif kind == "length":
        length = draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 5000)))
        edit = lambda data: struct.pack("<Q", length) + data[8:]  # noqa: E731
    elif kind == "random":
        noise = draw(st.binary(max_size=3000))
        edit = lambda data: noise  # noqa: E731
    elif kind == "append":
        noise = draw(st.binary(min_size=1, max_size=64))
        edit = lambda data: data + noise  # noqa: E731
    else:
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", "whole"]))
        value = draw(
            st.one_of(
                HOSTILE,
                st.sampled_from(["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL"]),
                st.lists(st.integers(0, 2**64), max_size=3),
            )
        )
        new_name = draw(st.text(max_size=12))

        def edit(data: bytes) -> bytes:
            try:
                header, body = split(data)
            except (struct.error, ValueError):  # an earlier mutation broke the header: nothing to edit
                return data
            names = sorted(name for name in header if name != "__metadata__") if isinstance(header, dict) else []
            if not names:
                return data
            name = names[name_index % len(names)]
            if kind == "drop":
                del header[name]
            elif kind == "rename":
                header[new_name] = header.pop(name)
            elif field == "whole" or not isinstance(header[name], dict):
                header[name] = value
            else:
                header[name][field] = value
            return join(header, body)

    def apply(model: Path) -> None:
        weights = model / "model.safetensors"
        weights.write_bytes(edit(weights.read_bytes()))

    return apply


@FAST
@given(mutations=st.lists(weight_mutations(), min_size=1, max_size=2))
def test_model_safetensors(pristine: Path, mutations: list) -> None:
    run_mutations(pristine, mutations)


# ----------------------------------------------------------------------------- the long run

ANY_MUTATION = st.one_of(config_mutations(), vocab_mutations(), weight_mutations())


@pytest.mark.slow
@SLOW
@given(mutations=st.lists(ANY_MUTATION, min_size=1, max_size=4))
def test_model_directory_long_run(pristine: Path, mutations: list) -> None:
    run_mutations(pristine, mutations)
