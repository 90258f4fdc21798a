"""tagger.engines: the rule that picks the NumPy or torch engine, and load on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger import engines
from tagger.errors import ConfigError
from tests.unit.test_numpy_tagger import random_tagger


@pytest.mark.parametrize(
    "engine, device, mixed_precision, gpu_visible, expected",
    [
        ("auto", "auto", False, False, "numpy"),
        ("auto", "auto", False, True, "torch"),
        ("auto", "cpu", False, True, "numpy"),
        ("auto", "CPU", False, False, "numpy"),
        ("auto", "cpu", True, False, "torch"),
        ("auto", "cuda", False, True, "torch"),
        ("auto", "cuda:0", False, False, "torch"),  # torch then reports the missing GPU
        ("torch", "cpu", False, False, "torch"),
        ("numpy", "auto", True, True, "numpy"),
    ],
)
def test_choose_engine(
    monkeypatch: pytest.MonkeyPatch, engine: str, device: str, mixed_precision: bool, gpu_visible: bool, expected: str
) -> None:
    monkeypatch.setattr(engines, "nvidia_gpu_visible", lambda: gpu_visible)
    assert engines.choose_engine(engine, device, mixed_precision) == expected


def test_choose_engine_refuses_numpy_on_a_gpu_and_unknown_names() -> None:
    with pytest.raises(ConfigError, match="--engine numpy runs on the CPU"):
        engines.choose_engine("numpy", "cuda:0")
    with pytest.raises(ConfigError, match="--device must be auto, cpu, cuda or cuda:N, got 'tpu'"):
        engines.choose_engine("numpy", "tpu")
    with pytest.raises(ConfigError, match="--engine onnx runs on the CPU"):
        engines.choose_engine("onnx", "cuda")
    with pytest.raises(ConfigError, match="--engine must be auto, torch, numpy or onnx, got 'tensorrt'"):
        engines.choose_engine("tensorrt", "cpu")


def test_load_refuses_an_engine_that_cannot_run_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--engine onnx needs an \.onnx file written by tagger export"):
        engines.load(tmp_path, engine="onnx")
    with pytest.raises(ConfigError, match="--engine numpy needs a model directory"):
        engines.load(tmp_path / "model.onnx", engine="numpy")


def test_cuda_visible_devices_can_hide_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    for hidden in ("", "-1", " -1,0"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert engines.nvidia_gpu_visible() is False
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    has_gpu = any(Path("/proc/driver/nvidia/gpus").glob("*")) or Path("/dev/nvidia0").exists()
    assert engines.nvidia_gpu_visible() is has_gpu


def test_load_gives_the_chosen_engine(tmp_path: Path) -> None:
    from tagger.inference import Tagger
    from tagger.numpy_tagger import NumpyTagger

    path = random_tagger(tmp_path / "model")
    numpy_engine = engines.load(path, engine="numpy")
    torch_engine = engines.load(path, engine="torch", device="cpu")
    assert type(numpy_engine) is NumpyTagger and type(torch_engine) is Tagger
    assert type(engines.load(path, device="cpu")) is NumpyTagger
    assert numpy_engine.tag("John lives in Paris.") == torch_engine.tag("John lives in Paris.")


@pytest.mark.parametrize("crf", [True, False])
def test_engines_give_the_same_emissions_and_transition_scores(tmp_path: Path, crf: bool) -> None:
    import numpy as np

    path = random_tagger(tmp_path / "model", crf=crf)
    numpy_engine, torch_engine = engines.load(path, engine="numpy"), engines.load(path, engine="torch", device="cpu")
    sentences = [["John", "lives", "in", "Paris", "."], [], ["Berlin"], ["a", "b", "c", "d", "e", "f", "g"]]
    for ours, theirs in zip(numpy_engine.emissions(sentences, batch_size=2), torch_engine.emissions(sentences, batch_size=3)):
        assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert [len(e) for e in torch_engine.emissions(sentences)] == [5, 0, 1, 7]
    scores = numpy_engine.transition_scores(), torch_engine.transition_scores()
    if not crf:
        assert scores == (None, None)
    else:
        for ours, theirs in zip(*scores):
            np.testing.assert_allclose(ours, theirs)
        assert (scores[0][1] == -10000.0).any()  # the scheme's constraints are applied
