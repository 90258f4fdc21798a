"""A model is a directory: config.json, vocab.json, model.safetensors and meta.json (no pickle).

Reading needs no torch: ``load_model_files(path, tensors="numpy")`` returns the weights as NumPy
arrays (for ``tagger.numpy_tagger``); torch is imported only to read them as tensors or to write them.

Writing goes to a temporary sibling directory that is renamed into place, so a model directory is
either the old one or the complete new one, and an existing model is replaced only when asked to.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Tuple, Union

from tagger import __version__
from tagger.config import FORMAT_VERSION, TaggerConfig, TrainConfig
from tagger.errors import ConfigError, ModelFileError

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
REQUIRED_FILES = (CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE)

PathLike = Union[str, Path]


@dataclass
class ModelFiles:
    """The contents of a model directory, loaded but not yet turned into a module."""

    config: TaggerConfig
    train_config: TrainConfig
    vocab: Dict[str, list]  # "words", "chars", "labels" (training scheme), "output_labels" (corpus order)
    state_dict: Dict[str, Any]  # name -> torch.Tensor, or numpy.ndarray when read with tensors="numpy"
    meta: Dict[str, Any]


def is_model_dir(path: PathLike) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


def check_writable(out_dir: PathLike, force: bool) -> Path:
    """Refuses early (before any training) to write where it would destroy something.

    An existing model directory is replaced only with ``force``; an existing non-empty directory
    that is not a model is never replaced.
    """
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise ConfigError("exists and is not a directory; choose another --out", out)
        if any(out.iterdir()):
            if not is_model_dir(out):
                raise ConfigError("exists, is not empty and is not a tagger model; refusing to replace it", out)
            if not force:
                raise ConfigError("a model already exists here; pass --force (force=True) to replace it", out)
    if not out.parent.exists():
        raise ConfigError("parent directory does not exist", out.parent)
    return out


@contextlib.contextmanager
def staging_dir(out_dir: PathLike, force: bool) -> Iterator[Path]:
    """A temporary directory beside ``out_dir`` that becomes ``out_dir`` when the block succeeds.

    On failure the temporary directory is removed and ``out_dir`` is untouched.
    """
    out = check_writable(out_dir, force).resolve()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(tmp, out)


def publish(tmp: Path, out: Path) -> None:
    """Renames ``tmp`` to ``out``, moving an existing ``out`` aside first and deleting it after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def write_model_files(directory: PathLike, files: ModelFiles) -> None:
    """Writes the four model files into an existing (staging) directory."""
    from safetensors.torch import save_file

    directory = Path(directory)
    _write_json(
        directory / CONFIG_FILE,
        {
            "format_version": FORMAT_VERSION,
            "tagger_version": __version__,
            "model": files.config.to_dict(),
            "training": files.train_config.to_dict(),
        },
    )
    _write_json(directory / VOCAB_FILE, files.vocab)
    _write_json(directory / META_FILE, files.meta)
    tensors = {name: t.detach().cpu().contiguous() for name, t in files.state_dict.items()}
    save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"format_version": str(FORMAT_VERSION)})


def save_model(out_dir: PathLike, files: ModelFiles, *, force: bool = False) -> Path:
    """Writes a model directory atomically; see ``staging_dir`` for the overwrite rules."""
    with staging_dir(out_dir, force) as tmp:
        write_model_files(tmp, files)
    return Path(out_dir)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"cannot read {path.name}: {error}", path) from None


def load_model_files(model_dir: PathLike, *, tensors: str = "torch") -> ModelFiles:
    """Reads and checks a model directory.

    Args:
        model_dir: The model directory.
        tensors: ``torch`` (weights as torch tensors) or ``numpy`` (NumPy arrays; torch is not imported).

    Raises:
        ModelFileError: not a directory, not a tagger model, a missing or truncated file, or a
            format newer than this version of tagger reads.
    """
    from safetensors import SafetensorError

    if tensors == "torch":
        from safetensors.torch import load_file
    elif tensors == "numpy":
        from safetensors.numpy import load_file
    else:
        raise ValueError(f"tensors must be 'torch' or 'numpy', got {tensors!r}")
    path = Path(model_dir)
    if not path.exists():
        raise ModelFileError("no such model directory", path)
    if not path.is_dir():
        raise ModelFileError("not a model directory (a model is a directory with config.json, vocab.json and model.safetensors)", path)
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelFileError(f"not a tagger model: missing {', '.join(missing)}", path)
    config = _read_json(path / CONFIG_FILE)
    if not isinstance(config, dict) or "format_version" not in config or "model" not in config:
        raise ModelFileError("not a tagger model config (no format_version/model)", path / CONFIG_FILE)
    version = config["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"model format version {version} is newer than this tagger reads ({FORMAT_VERSION}); upgrade tagger",
            path / CONFIG_FILE,
        )
    try:
        model_config = TaggerConfig.from_dict(config["model"], source=str(path / CONFIG_FILE))
        train_config = TrainConfig.from_dict(config.get("training", {}), source=str(path / CONFIG_FILE))
    except (ConfigError, TypeError) as error:
        raise ModelFileError(f"bad configuration: {error}", path / CONFIG_FILE) from None
    vocab = _read_json(path / VOCAB_FILE)
    for key in ("words", "chars", "labels", "output_labels"):
        if not isinstance(vocab, dict) or not isinstance(vocab.get(key), list):
            raise ModelFileError(f"vocabulary has no {key!r} list", path / VOCAB_FILE)
    try:
        state_dict = load_file(str(path / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"cannot read the weights (truncated or corrupt?): {error}", path / WEIGHTS_FILE) from None
    meta = _read_json(path / META_FILE) if (path / META_FILE).is_file() else {}
    expected = {"words": model_config.num_words, "chars": model_config.num_chars, "labels": model_config.num_tags}
    for key, size in expected.items():
        if len(vocab[key]) != size:
            raise ModelFileError(f"vocabulary {key!r} has {len(vocab[key])} entries, config says {size}", path / VOCAB_FILE)
    return ModelFiles(model_config, train_config, vocab, state_dict, meta)


def check_weights(state_dict: Mapping[str, Any], expected: Mapping[str, Tuple[int, ...]]) -> None:
    """Checks that the weights have exactly the names and shapes a configuration needs.

    Args:
        state_dict: The weights read from a model directory (tensors or arrays).
        expected: The shape of every weight the configuration needs, by name.

    Raises:
        ModelFileError: a missing or unexpected weight, or one of the wrong shape.
    """
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ModelFileError(f"weights do not match the configuration (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for name, tensor in state_dict.items():
        if tuple(tensor.shape) != tuple(expected[name]):
            raise ModelFileError(f"weight {name} has shape {tuple(tensor.shape)}, the configuration needs {tuple(expected[name])}")
