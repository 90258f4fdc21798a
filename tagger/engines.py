"""Which engine computes a model's network, NumPy (``NumpyTagger``) or torch (``Tagger``), and loading a tagger with it.

On the CPU the NumPy engine gives the same tags without importing torch, which alone took longer
than tagging a 50k-token file; torch is needed for a GPU, mixed precision and contextual features.
The rule is decided without importing torch, from what the NVIDIA driver shows. ``load_tagger``
is the one loader behind ``tagger tag`` (and later ``tagger.load``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

from tagger.errors import ConfigError

if TYPE_CHECKING:
    from tagger.tagging import TaggerBase

ENGINES = ("auto", "torch", "numpy")


def nvidia_gpu_visible() -> bool:
    """Whether torch would find an NVIDIA GPU, decided without importing torch.

    A GPU counts as visible when the NVIDIA driver lists one (an entry in /proc/driver/nvidia/gpus)
    or its device file /dev/nvidia0 exists, unless CUDA_VISIBLE_DEVICES hides every GPU (empty, or
    starting with -1).
    """
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and (not hidden.strip() or hidden.strip().startswith("-")):
        return False
    try:
        with os.scandir("/proc/driver/nvidia/gpus") as entries:
            if any(True for _ in entries):
                return True
    except OSError:
        pass
    return os.path.exists("/dev/nvidia0")


def choose_engine(engine: str = "auto", device: str = "auto", mixed_precision: bool = False) -> str:
    """The engine that computes the network: ``numpy`` or ``torch``.

    ``auto`` takes numpy when tagging on the CPU without mixed precision (``device`` cpu, or auto
    with no NVIDIA GPU visible), torch otherwise.

    Args:
        engine: auto | torch | numpy.
        device: auto | cpu | cuda | cuda:N.
        mixed_precision: Autocast on a GPU (torch only).

    Raises:
        ConfigError: An unknown engine, numpy with a GPU device, or an unknown device for numpy.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be {', '.join(ENGINES[:-1])} or {ENGINES[-1]}, got {engine!r}")
    name = (device or "auto").strip().lower()
    if engine == "numpy":
        if name == "cuda" or name.startswith("cuda:"):
            raise ConfigError(f"--engine numpy runs on the CPU; --device {device} needs --engine torch (or auto)")
        if name not in ("auto", "cpu"):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
        return "numpy"
    if engine == "torch" or mixed_precision:
        return "torch"
    return "numpy" if name == "cpu" or (name == "auto" and not nvidia_gpu_visible()) else "torch"


def load_tagger(
    path: Union[str, Path],
    *,
    engine: str = "auto",
    device: str = "auto",
    mixed_precision: bool = False,
    allow_download: bool = False,
) -> "TaggerBase":
    """Loads a model directory with the engine ``choose_engine`` picks; both engines have the same interface.

    ``engine="auto"`` takes torch for a model with contextual features, which the NumPy engine cannot compute.

    Args:
        path: A model directory written by ``tagger.train`` or ``Tagger.save``.
        engine: auto | torch | numpy (see ``choose_engine``).
        device: auto | cpu | cuda | cuda:N.
        mixed_precision: Tag under autocast on a GPU (torch).
        allow_download: Let a contextual model fetch its encoder from the Hugging Face Hub (torch).

    Raises:
        ConfigError: A bad engine or device (see ``choose_engine``).
        ModelFileError: A bad model directory, or ``engine="numpy"`` with a model with contextual features.
    """
    choice = choose_engine(engine, device, mixed_precision)
    if choice == "numpy" and engine == "auto":
        from tagger.serialization import uses_contextual_features

        choice = "torch" if uses_contextual_features(path) else choice
    if choice == "numpy":
        from tagger.numpy_tagger import NumpyTagger

        return NumpyTagger.load(path)
    from tagger.inference import Tagger

    return Tagger.load(path, device=device, mixed_precision=mixed_precision, allow_download=allow_download)
