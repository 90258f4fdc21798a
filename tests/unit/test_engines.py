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
    monkeypatch.setattr(engines, "gpu_visible", lambda: gpu_visible)
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


CPU_BUILD = "from typing import Optional\n__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\nhip: Optional[str] = None\n"
CUDA_BUILD = "__version__ = '2.2.2+cu121'\ncuda = '12.1'\nhip = None\n"
ROCM_BUILD = "__version__ = '2.5.1+rocm6.2'\ncuda: Optional[str] = None\nhip: Optional[str] = '6.2.41133'\n"


def test_torch_build_is_read_from_version_py_without_importing_torch(tmp_path: Path) -> None:
    builds = {}
    for name, text in (("cpu", CPU_BUILD), ("cuda", CUDA_BUILD), ("rocm", ROCM_BUILD), ("broken", "cuda = (")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        builds[name] = engines.torch_build(tmp_path / name)
    assert builds == {"cpu": None, "cuda": "cuda", "rocm": "rocm", "broken": None}
    assert engines.torch_build(tmp_path / "missing.py") is None
    import torch

    expected = "rocm" if torch.version.hip else "cuda" if torch.version.cuda else None
    assert engines.torch_build() == expected  # the installed torch's own file


@pytest.mark.parametrize(
    "build, driver, kfd, hidden, expected",
    [
        (None, True, True, {}, False),  # a CPU-only torch on a GPU machine finds no GPU
        ("cuda", True, False, {}, True),
        ("cuda", False, True, {}, False),  # a CUDA build with no NVIDIA driver (an AMD machine)
        ("cuda", True, False, {"CUDA_VISIBLE_DEVICES": ""}, False),
        ("cuda", True, False, {"CUDA_VISIBLE_DEVICES": " -1,0"}, False),
        ("cuda", True, False, {"CUDA_VISIBLE_DEVICES": "1"}, True),
        ("rocm", False, True, {}, True),  # ROCm: /dev/kfd, whatever the NVIDIA driver says
        ("rocm", True, False, {}, False),
        ("rocm", False, True, {"HIP_VISIBLE_DEVICES": "-1"}, False),
    ],
)
def test_gpu_visible_needs_a_gpu_build_of_torch_and_its_driver(
    monkeypatch: pytest.MonkeyPatch, build: "str | None", driver: bool, kfd: bool, hidden: dict, expected: bool
) -> None:
    import os

    monkeypatch.delitem(__import__("sys").modules, "torch", raising=False)  # as in a process that has not imported it
    monkeypatch.setattr(engines, "torch_build", lambda: build)
    monkeypatch.setattr(engines, "_nvidia_driver_visible", lambda: driver)
    real_exists = os.path.exists
    monkeypatch.setattr(engines.os.path, "exists", lambda path: kfd if path == "/dev/kfd" else real_exists(path))
    for variable in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in hidden.items():
        monkeypatch.setenv(variable, value)
    assert engines.gpu_visible() is expected


def test_gpu_visible_asks_torch_once_it_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(engines, "torch_build", lambda: "cuda")
    monkeypatch.setattr(engines, "_nvidia_driver_visible", lambda: True)
    assert engines.gpu_visible() is torch.cuda.is_available()


def test_windows_looks_for_the_nvidia_driver_dll(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engines.sys, "platform", "win32")
    monkeypatch.setenv("SystemRoot", str(tmp_path))
    assert engines._nvidia_driver_visible() is False
    (tmp_path / "System32").mkdir()
    (tmp_path / "System32" / "nvcuda.dll").write_bytes(b"")
    assert engines._nvidia_driver_visible() is True


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


def test_every_engine_has_info_with_its_name(tmp_path: Path) -> None:
    path = random_tagger(tmp_path / "model")
    infos = {engine: engines.load(path, engine=engine, device="cpu").info() for engine in ("numpy", "torch")}
    assert {engine: info["engine"] for engine, info in infos.items()} == {"numpy": "numpy", "torch": "torch"}
    shared = ("model", "training", "labels", "scheme", "words", "chars")
    assert {k: infos["numpy"][k] for k in shared} == {k: infos["torch"][k] for k in shared}
