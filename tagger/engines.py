"""Which engine computes a model's network, and ``load``, the one way to load a tagger with it.

Three engines share one interface (``tagger.tagging.TaggerBase``): NumPy (``NumpyTagger``), torch
(``Tagger``) and onnxruntime (``tagger.onnx_engine.OnnxTagger``, for a file ``tagger export`` wrote).
On the CPU the NumPy engine gives the same tags without importing torch, which alone took longer
than tagging a 50k-token file; torch is needed for a GPU, mixed precision and contextual features.
The rule is decided without importing torch, from torch's build and what the GPU driver shows. ``load`` is the
loader behind ``tagger.load``, ``tagger tag`` and ``tagger evaluate``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from tagger.errors import ConfigError

if TYPE_CHECKING:
    from tagger.tagging import TaggerBase

ENGINES = ("auto", "torch", "numpy", "onnx")
ONNX_SUFFIX = ".onnx"


def torch_build(version_file: Optional[Union[str, Path]] = None) -> Optional[str]:
    """The GPU platform the installed torch was built for: ``cuda``, ``rocm`` or None (CPU only, or no torch).

    Read from ``torch/version.py`` (its ``cuda`` and ``hip`` fields), which is parsed, not imported.

    Args:
        version_file: ``torch/version.py``; default: the installed torch's.
    """
    if version_file is None:
        spec = importlib.util.find_spec("torch")
        if spec is None or not spec.submodule_search_locations:
            return None
        version_file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        tree = ast.parse(Path(version_file).read_text(encoding="utf-8")[:65536])
    except (OSError, SyntaxError, ValueError):
        return None
    fields = {}
    target: ast.expr
    value: Optional[ast.expr]
    for node in tree.body:  # `cuda: Optional[str] = '12.1'` (or without the annotation)
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
            fields[target.id] = value.value
    return "rocm" if fields.get("hip") else "cuda" if fields.get("cuda") else None


def _hides_every_gpu(variable: str) -> bool:
    value = os.environ.get(variable)
    return value is not None and (not value.strip() or value.strip().startswith("-"))


def _nvidia_driver_visible() -> bool:
    """An NVIDIA GPU the driver shows: Linux lists it in /proc/driver/nvidia/gpus (or has /dev/nvidia0);
    Windows has the driver's nvcuda.dll in System32.
    """
    if sys.platform == "win32":
        return (Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32" / "nvcuda.dll").exists()
    try:
        with os.scandir("/proc/driver/nvidia/gpus") as entries:
            if any(True for _ in entries):
                return True
    except OSError:
        pass
    return os.path.exists("/dev/nvidia0")


def gpu_visible() -> bool:
    """Whether torch would find a GPU, decided without importing torch (which takes seconds).

    When torch is imported already, ``torch.cuda.is_available()`` answers. Otherwise a CPU-only
    torch (or none) finds no GPU, even on a GPU machine; a CUDA build finds one when the NVIDIA
    driver shows one (see ``_nvidia_driver_visible``) and CUDA_VISIBLE_DEVICES does not hide them
    all (empty, or starting with -1); a ROCm build when the AMD GPU driver's /dev/kfd exists and
    neither HIP_VISIBLE_DEVICES nor CUDA_VISIBLE_DEVICES hides them all. macOS (MPS) counts as no
    GPU: the torch engine supports cpu and cuda devices only.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "cuda"):
        return bool(torch.cuda.is_available())
    build = torch_build()
    if build is None or _hides_every_gpu("CUDA_VISIBLE_DEVICES"):
        return False
    if build == "rocm":
        return not _hides_every_gpu("HIP_VISIBLE_DEVICES") and os.path.exists("/dev/kfd")
    return _nvidia_driver_visible()


def choose_engine(engine: str = "auto", device: str = "auto", mixed_precision: bool = False) -> str:
    """The engine that computes the network: ``numpy``, ``torch`` or ``onnx``.

    ``auto`` takes numpy when tagging on the CPU without mixed precision (``device`` cpu, or auto
    when torch would find no GPU: ``gpu_visible``), torch otherwise. ``onnx`` runs onnxruntime on the CPU.

    Args:
        engine: auto | torch | numpy | onnx.
        device: auto | cpu | cuda | cuda:N.
        mixed_precision: Autocast on a GPU (torch only).

    Raises:
        ConfigError: An unknown engine, numpy or onnx with a GPU device, or an unknown device for them.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be {', '.join(ENGINES[:-1])} or {ENGINES[-1]}, got {engine!r}")
    name = (device or "auto").strip().lower()
    if engine in ("numpy", "onnx"):
        if name == "cuda" or name.startswith("cuda:"):
            raise ConfigError(f"--engine {engine} runs on the CPU; --device {device} needs --engine torch (or auto)")
        if name not in ("auto", "cpu"):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
        return engine
    if engine == "torch" or mixed_precision:
        return "torch"
    return "numpy" if name == "cpu" or (name == "auto" and not gpu_visible()) else "torch"


def load(
    path: Union[str, Path],
    *,
    engine: str = "auto",
    device: str = "auto",
    mixed_precision: bool = False,
    allow_download: bool = False,
) -> "TaggerBase":
    """Loads a tagger; whatever the engine, it has the same interface (``tagger.tagging.TaggerBase``).

    ``path`` is a model directory written by ``tagger.train`` or ``Tagger.save``, or an ``.onnx``
    file written by ``tagger export`` (which only the onnx engine runs; ``auto`` takes it for one).
    ``engine="auto"`` takes torch for a model with contextual features, which the NumPy engine cannot compute.

    Args:
        path: A model directory, or an ``.onnx`` file.
        engine: auto | torch | numpy | onnx (see ``choose_engine``).
        device: auto | cpu | cuda | cuda:N.
        mixed_precision: Tag under autocast on a GPU (torch).
        allow_download: Let a contextual model fetch its encoder from the Hugging Face Hub (torch).

    Returns:
        A tagger with ``predict``, ``iter_predict``, ``predict_spans``, ``tag``, ``labels``, ``scheme`` and ``info()``.

    Raises:
        ConfigError: A bad engine or device (see ``choose_engine``), or an engine that cannot run ``path``.
        ModelFileError: A bad model directory or file, or ``engine="numpy"`` with a model with contextual features.

    Example:
        >>> tagger = load("models/ner")
        >>> tagger.predict([["John", "lives", "in", "Paris", "."]])
        [['B-PER', 'O', 'O', 'B-LOC', 'O']]
    """
    is_onnx = str(path).lower().endswith(ONNX_SUFFIX)
    choice = "onnx" if engine == "auto" and is_onnx else choose_engine(engine, device, mixed_precision)
    if is_onnx != (choice == "onnx"):
        needs = f"an {ONNX_SUFFIX} file written by tagger export" if choice == "onnx" else "a model directory"
        raise ConfigError(f"--engine {choice} needs {needs}, got {path}")
    if choice == "onnx":
        from tagger.onnx_engine import OnnxTagger

        return OnnxTagger.load(path)
    if choice == "numpy" and engine == "auto":
        from tagger.serialization import uses_contextual_features

        choice = "torch" if uses_contextual_features(path) else choice
    if choice == "numpy":
        from tagger.numpy_tagger import NumpyTagger

        return NumpyTagger.load(path)
    from tagger.inference import Tagger

    return Tagger.load(path, device=device, mixed_precision=mixed_precision, allow_download=allow_download)
