"""ONNX export and OnnxTagger against torch: the same emissions and tags on random models of every kind;
int8 exports; hostile files refused with a ModelFileError naming them; what the export must not do.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the ONNX engine needs the onnx extra: pip install tagger[onnx]")
pytest.importorskip("onnx", reason="the ONNX engine needs the onnx extra: pip install tagger[onnx]")

import onnx  # noqa: E402  (after the importorskip)

import tagger  # noqa: E402
from tagger.config import TaggerConfig, TrainConfig  # noqa: E402
from tagger.errors import ConfigError, ModelFileError  # noqa: E402
from tagger.inference import Tagger  # noqa: E402
from tagger.model import SequenceTagger  # noqa: E402
from tagger.onnx_engine import METADATA_CONFIG, METADATA_CRF, METADATA_FORMAT, METADATA_VOCAB, OnnxTagger, graph_inputs  # noqa: E402
from tagger.onnx_export import export_onnx  # noqa: E402
from tagger.serialization import ModelFiles, save_model  # noqa: E402
from tests.unit.test_numpy_tagger import REPO, TOKENS, random_tagger, torch_emissions  # noqa: E402


def exportable_tagger(path: Path, seed: int = 0, **options: object) -> Path:
    """``random_tagger`` with the character embedding's <pad> row zeroed, as training keeps it (padding_idx).

    With a non-zero <pad> row the character CNN's output depends on how wide the padded batch of
    forms is (the convolution reads the <pad> embedding past a form's end), so torch's own result
    depends on which forms share a batch; a trained model never has one.
    """
    random_tagger(path, seed=seed, **options)
    model = Tagger.load(path, device="cpu")
    if model.model.char_encoder is not None:
        with torch.no_grad():
            model.model.char_encoder.embedding.weight[0].zero_()
        model.save(path, force=True)
    return path


CONFIGS = {
    "lstm-cnn-crf": {},
    "lstm-charlstm-crf": {"char_encoder": "lstm"},
    "gru-2layers-crf": {"cell": "gru", "layers": 2},
    "rnn-unidirectional-softmax": {"cell": "rnn", "bidirectional": False, "crf": False},
    "lstm-nochars-nocase": {"char_encoder": "none", "case_dim": 0},
    "gru-nochars-case-softmax": {"cell": "gru", "char_encoder": "none", "crf": False},
    "gru-charlstm-2layers-softmax": {"cell": "gru", "char_encoder": "lstm", "layers": 2, "crf": False},
    "lstm-unidirectional-2layers-cased-words": {"bidirectional": False, "layers": 2, "lowercase_words": False},
    "lstm-even-kernel-nocase": {"char_kernel": 2, "case_dim": 0},
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Dict[str, Path]]:
    """name -> {"dir", "float32", "int8"}, each model exported once per module."""
    cache: Dict[str, Dict[str, Path]] = {}

    def get(name: str) -> Dict[str, Path]:
        if name not in cache:
            root = tmp_path_factory.mktemp(name)
            model = exportable_tagger(root / "model", seed=len(cache), **CONFIGS[name])
            cache[name] = {
                "dir": model,
                "float32": export_onnx(model, root / "model.onnx"),
                "int8": export_onnx(model, root / "model-int8.onnx", quantize="int8"),
            }
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(CONFIGS))
def test_emissions_and_tags_equal_torchs(exported: Callable[[str], Dict[str, Path]], name: str) -> None:
    paths = exported(name)
    reference, engine = Tagger.load(paths["dir"], device="cpu"), OnnxTagger.load(paths["float32"])
    expected = torch_emissions(reference, TOKENS)  # one padded batch, lengths 0 to 17 (the empty one left out)
    for batch_size in (1, 3, 256):
        got = engine.emissions(TOKENS, batch_size=batch_size)
        assert [len(scores) for scores in got] == [len(tokens) for tokens in TOKENS]
        for ours, theirs in zip([scores for scores in got if len(scores)], expected):
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    tags = reference.predict(TOKENS)
    assert any(tag != "O" for sentence in tags for tag in sentence), "a random model that tags nothing tests little"
    for batch_size in (1, 3, 256):
        assert engine.predict(TOKENS, batch_size=batch_size) == tags
    assert engine.labels == reference.labels and engine.scheme == reference.scheme == "IOB2"
    scores, torch_scores = engine.transition_scores(), reference.transition_scores()
    assert (scores is None) == (torch_scores is None) == (not reference.config.crf)
    if scores is not None and torch_scores is not None:
        for ours, theirs in zip(scores, torch_scores):
            assert ours.dtype == np.float32 and np.array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["lstm-cnn-crf", "gru-charlstm-2layers-softmax", "rnn-unidirectional-softmax"])
def test_int8_runs_with_the_same_shapes_and_mostly_the_same_tags(exported: Callable[[str], Dict[str, Path]], name: str) -> None:
    paths = exported(name)
    float32, int8 = OnnxTagger.load(paths["float32"]), OnnxTagger.load(paths["int8"])
    assert int8.quantize == "int8" and float32.quantize == "none" and int8.info()["quantize"] == "int8"
    ops = {node.op_type for node in onnx.load(str(paths["int8"])).graph.node}
    assert ops & {"DynamicQuantizeLSTM", "MatMulInteger", "DynamicQuantizeLinear"}, ops  # it is quantised
    got, expected = int8.emissions(TOKENS, batch_size=3), float32.emissions(TOKENS, batch_size=3)
    assert [scores.shape for scores in got] == [scores.shape for scores in expected]
    assert all(np.isfinite(scores).all() for scores in got)
    tags, reference = int8.predict(TOKENS), float32.predict(TOKENS)
    pairs = [(a, b) for x, y in zip(tags, reference) for a, b in zip(x, y)]
    agreement = sum(a == b for a, b in pairs) / len(pairs)
    print(f"{name}: int8 tags agree with float32 on {agreement:.1%} of {len(pairs)} tokens")
    assert agreement >= 0.9  # random weights of scale 0.5; a trained model's figure is in the slow test


def test_the_file_is_self_contained_and_tagger_load_routes_to_it(exported: Callable[[str], Dict[str, Path]], tmp_path: Path) -> None:
    paths = exported("lstm-cnn-crf")
    moved = tmp_path / "elsewhere.onnx"
    moved.write_bytes(paths["float32"].read_bytes())
    paths["dir"].rename(paths["dir"].with_name("gone"))  # nothing is read from the model directory
    try:
        loaded = tagger.load(moved)
        assert isinstance(loaded, OnnxTagger) and isinstance(tagger.load(moved, engine="onnx"), OnnxTagger)
        reference = Tagger.load(paths["dir"].with_name("gone"), device="cpu")
        assert loaded.predict(TOKENS) == reference.predict(TOKENS)
        info = loaded.info()
        assert info["engine"] == "onnx" and info["model"] == reference.config.to_dict() and info["labels"] == reference.labels
        assert info["parameters"] == sum(t.numel() for t in reference.model.state_dict().values())  # the CRF's buffers too
    finally:
        paths["dir"].with_name("gone").rename(paths["dir"])


def test_graph_inputs_follow_the_features() -> None:
    def names(**options: object) -> tuple:
        return graph_inputs(TaggerConfig(num_words=5, num_chars=5, num_tags=3, **options))  # type: ignore[arg-type]

    assert names() == ("words", "lengths", "forms", "form_chars", "form_lengths", "form_case")
    assert names(char_encoder="none") == ("words", "lengths", "forms", "form_case")
    assert names(case_dim=0) == ("words", "lengths", "forms", "form_chars", "form_lengths")
    assert names(char_encoder="none", case_dim=0) == ("words", "lengths")


def test_one_tagger_from_eight_threads_equals_serial_calls(exported: Callable[[str], Dict[str, Path]]) -> None:
    engine = OnnxTagger.load(exported("lstm-charlstm-crf")["float32"])
    sentences = [TOKENS[i % len(TOKENS)][: 1 + i % 9] for i in range(64)]
    serial = [engine.predict(sentences[i::8], batch_size=3) for i in range(8)]
    results: Dict[int, List[List[str]]] = {}

    def work(i: int) -> None:
        results[i] = engine.predict(sentences[i::8], batch_size=3)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(8)] == serial


# ----------------------------------------------------------------------------- hostile files


def _rewrite(source: Path, target: Path, edit: Callable[[onnx.ModelProto], None]) -> Path:
    model = onnx.load(str(source))
    edit(model)
    target.write_bytes(model.SerializeToString())
    return target


def _props(model: onnx.ModelProto) -> Dict[str, str]:
    return {entry.key: entry.value for entry in model.metadata_props}


def _set_prop(key: str, value: object) -> Callable[[onnx.ModelProto], None]:
    """An edit that sets metadata ``key`` (a str as it is, anything else as JSON; None removes it)."""

    def edit(model: onnx.ModelProto) -> None:
        props = _props(model)
        if value is None:
            props.pop(key)
        else:
            props[key] = value if isinstance(value, str) else json.dumps(value)
        del model.metadata_props[:]
        for k, v in props.items():
            model.metadata_props.add(key=k, value=v)

    return edit


def _edit_json(key: str, change: Callable[[dict], None]) -> Callable[[onnx.ModelProto], None]:
    def edit(model: onnx.ModelProto) -> None:
        value = json.loads(_props(model)[key])
        change(value)
        _set_prop(key, value)(model)

    return edit


def _external_data(model: onnx.ModelProto) -> None:
    tensor = model.graph.initializer[0]
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="/etc/passwd")
    tensor.ClearField("raw_data")


def _non_finite(model: onnx.ModelProto) -> None:
    tensor = next(t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and t.raw_data)
    array = onnx.numpy_helper.to_array(tensor).copy()
    array.flat[0] = np.nan
    tensor.CopyFrom(onnx.numpy_helper.from_array(array, tensor.name))


def _rename_input(model: onnx.ModelProto) -> None:
    model.graph.input[0].name = "ids"


def _duplicate_key(model: onnx.ModelProto) -> None:
    model.metadata_props.add(key=METADATA_VOCAB, value="{}")


HOSTILE = {
    "no tagger metadata": (_set_prop(METADATA_FORMAT, None), "not a tagger export"),
    "a newer layout": (_set_prop(METADATA_FORMAT, "2"), "upgrade tagger"),
    "config not JSON": (_set_prop(METADATA_CONFIG, "{not json"), "metadata tagger.config is not JSON"),
    "config missing": (_set_prop(METADATA_CONFIG, None), "has no tagger.config"),
    "vocab missing": (_set_prop(METADATA_VOCAB, None), "has no tagger.vocab"),
    "a word too few": (_edit_json(METADATA_VOCAB, lambda vocab: vocab["words"].pop()), "'words' has"),
    "labels of another scheme": (
        _edit_json(METADATA_VOCAB, lambda vocab: vocab.update(labels=["O", "X-PER", *vocab["labels"][2:]])),
        "metadata tagger.vocab: 'labels'",
    ),
    "a huge vocabulary size": (_edit_json(METADATA_CONFIG, lambda config: config["model"].update(num_words=10**12)), "num_words"),
    "an unknown option": (_edit_json(METADATA_CONFIG, lambda config: config["model"].update(evil=1)), "unknown TaggerConfig option"),
    "contextual features": (
        _edit_json(METADATA_CONFIG, lambda config: config["model"].update(contextual_dim=16, contextual_layers=2)),
        "contextual features",
    ),
    "a newer model format": (_edit_json(METADATA_CONFIG, lambda config: config.update(format_version=99)), "newer than this tagger"),
    "CRF scores of the wrong shape": (_edit_json(METADATA_CRF, lambda crf: crf["transitions"].pop()), "transitions has shape"),
    "CRF scores not finite": (
        _edit_json(METADATA_CRF, lambda crf: crf["start_transitions"].__setitem__(0, float("nan"))),  # json writes NaN
        "start_transitions is not finite",
    ),
    "CRF scores missing": (_set_prop(METADATA_CRF, None), "has no tagger.crf"),
    "meta not an object": (_set_prop("tagger.meta", "[1, 2]"), "tagger.meta is not a JSON object"),
    "an unknown quantisation": (_set_prop("tagger.quantize", "int3"), "tagger.quantize must be"),
    "a duplicated key": (_duplicate_key, "appears twice"),
    "external data": (_external_data, "external data"),
    "a NaN weight": (_non_finite, "not finite"),
    "a renamed input": (_rename_input, "the graph's inputs"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_metadata_and_graphs_are_refused_naming_the_file(
    exported: Callable[[str], Dict[str, Path]], tmp_path: Path, case: str
) -> None:
    edit, message = HOSTILE[case]
    path = _rewrite(exported("lstm-cnn-crf")["float32"], tmp_path / "hostile.onnx", edit)
    with pytest.raises(ModelFileError, match=message) as error:
        OnnxTagger.load(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


def test_crf_scores_in_a_softmax_export_are_refused(exported: Callable[[str], Dict[str, Path]], tmp_path: Path) -> None:
    path = _rewrite(exported("rnn-unidirectional-softmax")["float32"], tmp_path / "m.onnx", _set_prop(METADATA_CRF, "{}"))
    with pytest.raises(ModelFileError, match="softmax model"):
        OnnxTagger.load(path)


@pytest.mark.parametrize("content", [b"", b"hello, I am not ONNX\n", bytes(range(256)) * 40, b"\x08\x07" + b"\xff" * 64])
def test_files_that_are_not_onnx_exports_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as error:
        tagger.load(path)
    assert str(error.value).startswith(f"{path}: ")


def test_a_plain_onnx_model_is_not_a_tagger_export(tmp_path: Path) -> None:
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph([node], "g", [value("x", onnx.TensorProto.FLOAT, [1])], [value("y", onnx.TensorProto.FLOAT, [1])])
    path = tmp_path / "identity.onnx"
    path.write_bytes(onnx.helper.make_model(graph).SerializeToString())
    with pytest.raises(ModelFileError, match="not a tagger export"):
        OnnxTagger.load(path)


def test_missing_files_and_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        OnnxTagger.load(tmp_path / "missing.onnx")
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(ModelFileError, match="not a file"):
        OnnxTagger.load(tmp_path / "dir.onnx")


# ----------------------------------------------------------------------------- exporting


def test_an_existing_file_is_replaced_only_with_force(exported: Callable[[str], Dict[str, Path]], tmp_path: Path) -> None:
    model = exported("lstm-nochars-nocase")["dir"]
    out = tmp_path / "out.onnx"
    out.write_text("precious", encoding="utf-8")
    with pytest.raises(ConfigError, match="exists; pass --force"):
        export_onnx(model, out)
    assert out.read_text(encoding="utf-8") == "precious"
    export_onnx(model, out, force=True)
    assert isinstance(tagger.load(out), OnnxTagger)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx"]  # no temporary file left


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("model.bin", {}, "must end in .onnx"),
        ("model.onnx", {"quantize": "int4"}, "--quantize must be int8"),
        ("model.onnx", {"opset": 9}, "opset must be"),
        ("missing/model.onnx", {}, "parent directory does not exist"),
    ],
)
def test_bad_options_are_refused_before_the_model_is_read(tmp_path: Path, name: str, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        export_onnx(tmp_path / "not-a-model", tmp_path / name, **options)
    assert not (tmp_path / name).exists()


def test_the_file_is_never_written_into_the_model_directory(exported: Callable[[str], Dict[str, Path]]) -> None:
    model = exported("lstm-nochars-nocase")["dir"]
    with pytest.raises(ConfigError, match="is inside the model directory"):
        export_onnx(model, model / "model.onnx")
    assert not (model / "model.onnx").exists()


def test_a_bad_model_directory_is_a_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model directory"):
        export_onnx(tmp_path / "nothing", tmp_path / "out.onnx")


def test_a_model_with_contextual_features_is_refused(tmp_path: Path) -> None:
    config = TaggerConfig(num_words=4, num_chars=4, num_tags=3, contextual_dim=8, contextual_layers=2, hidden_size=4, word_dim=4)
    vocab = {"words": ["<pad>", "<unk>", "a", "b"], "chars": ["<pad>", "<unk>", "a", "b"], "labels": ["A", "B", "C"]}
    vocab["output_labels"] = vocab["labels"]
    description = {
        "name_or_path": "encoder",
        "revision": None,
        "commit_hash": None,
        "model_type": "bert",
        "hidden_size": 8,
        "num_hidden_layers": 2,
        "layers": 2,
        "pooling": "first",
        "max_positions": 64,
        "weights_sha256": "0" * 64,
    }
    state = SequenceTagger(config, None).state_dict()
    save_model(tmp_path / "contextual", ModelFiles(config, TrainConfig(), vocab, state, {}, description))
    with pytest.raises(ConfigError, match="contextual features"):
        export_onnx(tmp_path / "contextual", tmp_path / "out.onnx")


def test_export_leaves_the_process_as_it_found_it(exported: Callable[[str], Dict[str, Path]], tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level, filters, threads = list(root.handlers), root.level, list(warnings.filters), torch.get_num_threads()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_onnx(exported("lstm-cnn-crf")["dir"], tmp_path / "a.onnx", quantize="int8")
    assert caught == [], [str(w.message) for w in caught]
    assert root.handlers == handlers and root.level == level and warnings.filters == filters and torch.get_num_threads() == threads


def test_a_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    for call in (lambda: OnnxTagger.load(tmp_path / "m.onnx"), lambda: export_onnx(tmp_path / "m", tmp_path / "m.onnx")):
        with pytest.raises(ConfigError, match=r"pip install tagger\[onnx\]"):
            call()


def test_the_engine_never_imports_torch(exported: Callable[[str], Dict[str, Path]]) -> None:
    path = exported("gru-charlstm-2layers-softmax")["int8"]
    code = (
        "import sys\n"
        "import tagger\n"
        f"model = tagger.load({str(path)!r})\n"
        "print(model.predict([['John', 'lives', 'in', 'Paris']]))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("[[")
