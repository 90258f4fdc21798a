"""Chooses the torch device from a user's option (auto | cpu | cuda | cuda:N)."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from tagger.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """The device ``name`` asks for; ``auto`` takes the first GPU when there is one.

    Raises:
        ConfigError: for a GPU that does not exist, or an unknown name.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: no CUDA GPU is available (torch {torch.__version__}); use --device cpu")
        index = int(name.split(":", 1)[1]) if ":" in name and name.split(":", 1)[1].isdigit() else 0
        if ":" in name and not name.split(":", 1)[1].isdigit():
            raise ConfigError(f"--device {name}: expected cuda:N with N a GPU index")
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) available")
        return torch.device("cuda", index)
    raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")


def autocast_dtype(device: torch.device) -> torch.dtype:
    """The mixed-precision type for ``device``: bfloat16 where supported, else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def mixed_precision(device: torch.device, enabled: bool) -> ContextManager:
    """Autocast to ``autocast_dtype(device)`` when ``enabled`` and ``device`` is a GPU; else nothing
    (CPU autocast is slower than float32 for these models).
    """
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=autocast_dtype(device))
    return contextlib.nullcontext()
