"""A model is a directory: config.json, vocab.json, model.safetensors and meta.json (no pickle), plus
contextual.json for a model with contextual features (the encoder it was trained with).

Reading needs no torch: ``load_model_files(path, tensors="numpy")`` returns the weights as NumPy
arrays (for ``tagger.numpy_tagger``); torch is imported only to read them as tensors or to write them.

Writing goes to a temporary sibling directory that is renamed into place, so a model directory is
either the old one or the complete new one, and an existing model is replaced only when asked to.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

from tagger import __version__
from tagger.config import PLAIN_FORMAT_VERSION, TaggerConfig, TrainConfig
from tagger.errors import ConfigError, ModelFileError, OutputError
from tagger.files import dumps_json, exclusive_lock, new_directory_beside, publish_directory, rename_no_replace

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
CONTEXTUAL_FILE = "contextual.json"
CONTEXTUAL_FORMAT_VERSION = 2
"""The format version of a model with contextual features: tagger versions before them refuse it."""
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
    contextual: Optional[Dict[str, Any]] = None  # contextual.json: the encoder (tagger.contextual.load_encoder's description)

    @property
    def format_version(self) -> int:
        """The format version these files are written in: 2 with contextual features, else 1."""
        return CONTEXTUAL_FORMAT_VERSION if self.contextual is not None else PLAIN_FORMAT_VERSION


WRITTEN_FILES = frozenset({CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE, META_FILE, CONTEXTUAL_FILE, "metrics.jsonl", "training.png"})
"""Every name tagger writes in a model directory: ``force`` replaces a model only when it holds nothing else."""

_CONFIG_LIMIT = 1 << 20  # a config.json is a few kB; a bigger one is not ours


def is_model_dir(path: PathLike) -> bool:
    """Whether ``path`` holds a tagger model: config.json (with an integer format_version), vocab.json, model.safetensors."""
    path = Path(path)
    if not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        with open(path / CONFIG_FILE, "rb") as handle:
            config = json.loads(handle.read(_CONFIG_LIMIT + 1))
    except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON (json.JSONDecodeError is a ValueError)
        return False
    return isinstance(config, dict) and type(config.get("format_version")) is int and isinstance(config.get("model"), dict)


def _real(out_dir: PathLike) -> Path:
    """``out_dir`` with its symlinks followed: a link to a model directory replaces the directory, keeping the link."""
    return Path(os.path.realpath(out_dir))


def _what_is_there(out: Path, force: bool, shown: PathLike) -> str:
    """``absent``, ``empty`` or ``model`` (replaceable with ``force``); anything else raises ConfigError naming ``shown``."""
    try:
        info = os.stat(out)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        raise ConfigError("symlink loop" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror}", shown) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError("exists and is not a directory; choose another --out", shown)
    names = os.listdir(out)
    if not names:
        return "empty"
    if not is_model_dir(out):
        raise ConfigError(
            "exists, is not empty and is not a tagger model (config.json with a format_version, vocab.json and "
            "model.safetensors); refusing to replace it",
            shown,
        )
    if not force:
        raise ConfigError("a model already exists here; pass --force (force=True) to replace it", shown)
    foreign = sorted(set(names) - WRITTEN_FILES)
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise ConfigError(
            f"holds {foreign[0]}{more}, which tagger did not write; move it out of the model directory or choose another --out",
            shown,
        )
    return "model"


def check_writable(out_dir: PathLike, force: bool) -> Path:
    """Refuses early (before any training) to write where it would destroy something.

    Nothing, an empty directory or (with ``force``) a model directory holding only files tagger
    writes (``WRITTEN_FILES``) may be replaced; anything else never is. Symlinks are followed.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ConfigError: something is there that must not be replaced, or the parent is missing.
        OutputError: the parent directory cannot be written.
    """
    out = _real(out_dir)
    _what_is_there(out, force, out_dir)
    if not out.parent.is_dir():
        raise ConfigError("parent directory does not exist", Path(out_dir).parent)
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError("cannot write: the parent directory is not writable", out_dir)
    return Path(out_dir)


@contextlib.contextmanager
def claim_output_dir(out_dir: PathLike, force: bool) -> Iterator[Path]:
    """Holds ``out_dir``'s lock (``.NAME.lock`` beside it) for the block, after ``check_writable``.

    A second run on the same directory, from any process, fails at once naming this one.
    Re-entrant in the holding thread, so ``staging_dir`` inside the block does not lock again.

    Yields:
        ``out_dir`` with its symlinks followed.

    Raises:
        OutputError: another run holds the lock.
        ConfigError: as ``check_writable``.
    """
    out = _real(out_dir)
    with exclusive_lock(out, "this model", shown=os.fspath(out_dir)):
        check_writable(out_dir, force)
        yield out


_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG})


@contextlib.contextmanager
def staging_dir(out_dir: PathLike, force: bool) -> Iterator[Path]:
    """A temporary directory beside ``out_dir`` that becomes ``out_dir`` when the block succeeds.

    ``out_dir``'s lock is held from entry (see ``claim_output_dir``) to the publish, which checks
    again what is there (see ``publish``). On an error in the block the temporary directory is
    removed and ``out_dir`` is untouched; a full or read-only disk while writing in it is an
    ``OutputError`` naming ``out_dir``.
    """
    with claim_output_dir(out_dir, force) as out:
        staging = new_directory_beside(out)
        try:
            yield staging
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in _DISK_ERRORS and (exc.filename is None or str(staging) in os.fspath(exc.filename)):
                raise OutputError(f"cannot write: {exc.strerror}", out_dir) from None  # never the temporary name
            raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        publish(staging, out, force=force, shown=out_dir)


def publish(tmp: Path, out: Path, *, force: bool = True, shown: Optional[PathLike] = None) -> Path:
    """Moves the finished model ``tmp`` to ``out``, checking first what is there now.

    Nothing or an empty directory: ``tmp`` is renamed there. A model tagger wrote, with
    ``force``: the two are exchanged (see ``tagger.files.publish_directory``) and the old files
    are deleted. Anything else, e.g. a directory the user made during training, is left as it
    is and the new model is kept under a new name, which the error gives. The new directory
    takes the replaced one's mode.

    Returns:
        ``out``.

    Raises:
        OutputError: the model could not be put in place; it is kept at the path the message names.
    """
    shown = os.fspath(shown if shown is not None else out)
    try:
        there = _what_is_there(out, force, shown)
    except ConfigError as exc:
        kept = _keep(tmp, out)
        raise OutputError(f"{exc.message} (it appeared during training); the new model is kept in {kept}", shown) from None
    try:
        if there != "absent":
            os.chmod(tmp, stat.S_IMODE(os.stat(out).st_mode))
        remove_old = (lambda old: _remove_model(old, out)) if there == "model" else os.rmdir
        publish_directory(tmp, out, remove_old, shown=shown)
    except (OSError, OutputError) as exc:
        kept = _keep(tmp, out)
        message = exc.message if isinstance(exc, OutputError) else f"cannot write: {exc.strerror or exc}"
        raise OutputError(f"{message}; the new model is kept in {kept}", shown) from None
    return out


def _keep(tmp: Path, out: Path) -> Path:
    """Gives the new model ``tmp`` a visible name beside ``out`` (``NAME.new``, ``NAME.new-2``, ...), or leaves it."""
    for number in range(1, 100):
        kept = out.with_name(f"{out.name}.new" if number == 1 else f"{out.name}.new-{number}")
        try:
            rename_no_replace(tmp, kept)
            return kept
        except FileExistsError:
            continue
        except OSError:
            break
    return tmp


def _remove_model(old: Path, out: Path) -> None:
    """Deletes a replaced model directory: only the files tagger writes, then the directory if that empties it."""
    for name in WRITTEN_FILES:
        with contextlib.suppress(FileNotFoundError):
            (old / name).unlink()
    try:
        old.rmdir()
    except OSError:  # a file appeared in it since the check: keep it, under a name the user can see
        aside = out.with_name(f"{out.name}.replaced")
        with contextlib.suppress(OSError):
            rename_no_replace(old, aside)
            old = aside
        warnings.warn(f"{old}: the replaced model directory held files tagger did not write; kept them there", stacklevel=2)


def _write_json(path: Path, value: Any) -> None:
    """Writes JSON in the (staging) directory: indented, sorted, no NaN (a ConfigError naming the file and key)."""
    text = dumps_json(value, source=path.name, indent=2, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def write_model_files(directory: PathLike, files: ModelFiles) -> None:
    """Writes the model files into an existing (staging) directory; ``publish`` fsyncs them."""
    from safetensors.torch import save

    directory = Path(directory)
    if (files.contextual is not None) != bool(files.config.contextual_layers):
        raise ValueError("contextual features need both contextual_layers in the config and the encoder's description")
    version = files.format_version
    _write_json(
        directory / CONFIG_FILE,
        {
            "format_version": version,
            "tagger_version": __version__,
            "model": files.config.to_dict(),
            "training": files.train_config.to_dict(),
        },
    )
    _write_json(directory / VOCAB_FILE, files.vocab)
    _write_json(directory / META_FILE, files.meta)
    if files.contextual is not None:
        _write_json(directory / CONTEXTUAL_FILE, files.contextual)
    tensors = {name: t.detach().cpu().contiguous() for name, t in files.state_dict.items()}
    # Bytes written by Python, not safetensors.save_file, which creates the file 0600 whatever the umask.
    (directory / WEIGHTS_FILE).write_bytes(save(tensors, metadata={"format_version": str(version)}))


def save_model(out_dir: PathLike, files: ModelFiles, *, force: bool = False) -> Path:
    """Writes a model directory atomically; see ``staging_dir`` for the overwrite rules."""
    with staging_dir(out_dir, force) as tmp:
        write_model_files(tmp, files)
    return Path(out_dir)


MAX_VOCAB_BYTES = 1 << 30
"""vocab.json: 3 million words take about 40 MB; a file over 1 GiB is not a tagger's."""
MAX_META_BYTES = 16 << 20
"""meta.json: scores and history, a few kB."""


def _read_json(path: Path, max_bytes: int) -> Any:
    """The JSON value in ``path``; a file over ``max_bytes`` is refused before it is read.

    Raises:
        ModelFileError: too big, unreadable, not UTF-8 or not JSON, naming ``path``.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ModelFileError(f"{size:,} bytes, more than the {max_bytes:,} a tagger's {path.name} has", path)
        with path.open("rb") as handle:
            data = handle.read(size + 1)  # read(n) allocates n bytes first; a file that grew since is cut here
        return json.loads(data.decode("utf-8"))
    except OSError as error:
        raise ModelFileError(f"cannot read {path.name}: {error.strerror or error}", path) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError, as are huge ints
        raise ModelFileError(f"cannot read {path.name}: not UTF-8 JSON ({error})", path) from None


def _read_config(path: Path) -> Tuple[TaggerConfig, TrainConfig]:
    """config.json's model and training configurations, every field checked (``tagger.config``)."""
    from tagger.migrations import migrate_config
    from tagger.model_format import MAX_CONFIG_BYTES, check_format_version

    config = _read_json(path, MAX_CONFIG_BYTES)
    check_format_version(config, path)
    config = migrate_config(config)
    contextual = config["model"].get("contextual_layers")
    if config["format_version"] < CONTEXTUAL_FORMAT_VERSION and contextual not in (None, 0):
        raise ModelFileError(
            f"format_version {config['format_version']} with contextual_layers {contextual!r}: "
            f"models with contextual features are format {CONTEXTUAL_FORMAT_VERSION}",
            path,
        )
    try:
        model = TaggerConfig.from_dict(config["model"], source=str(path))
    except ConfigError as error:
        raise ModelFileError(f"bad model configuration: {error.message}", path) from None
    try:
        training = TrainConfig.from_dict(config.get("training", {}), source=str(path))
    except ConfigError as error:
        raise ModelFileError(f"bad training configuration: {error.message}", path) from None
    return model, training


def load_model_files(model_dir: PathLike, *, tensors: str = "torch") -> ModelFiles:
    """Reads a model directory, checking all of it before it is used.

    The order of the checks (see ``tagger.model_format``): config.json, vocab.json against it,
    meta.json, the header of model.safetensors against the config, and only then the tensors
    (finite, with the constraints the scheme implies). Nothing is sized from a file before it is checked.

    Args:
        model_dir: The model directory.
        tensors: ``torch`` (weights as torch tensors) or ``numpy`` (NumPy arrays; torch is not imported).

    Raises:
        ModelFileError: not a directory, not a tagger model, a missing, corrupt or inconsistent
            file, or a format newer than this version of tagger reads; one line naming the file
            and the key or weight at fault.
    """
    from safetensors import SafetensorError

    from tagger.migrations import migrate_tensors
    from tagger.model_format import check_header, check_tensors, check_vocab, read_header
    from tagger.shapes import expected_shapes

    load_file: Callable[[str], Dict[str, Any]]  # name -> torch tensor or NumPy array
    if tensors == "torch":
        from safetensors.torch import load_file
    elif tensors == "numpy":
        from safetensors.numpy import load_file as load_arrays

        load_file = load_arrays
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
    model_config, train_config = _read_config(path / CONFIG_FILE)
    vocab = _read_json(path / VOCAB_FILE, MAX_VOCAB_BYTES)
    check_vocab(vocab, model_config, path / VOCAB_FILE)
    meta = _read_json(path / META_FILE, MAX_META_BYTES) if (path / META_FILE).is_file() else {}
    if not isinstance(meta, dict):
        raise ModelFileError("not a JSON object", path / META_FILE)
    contextual = _read_contextual(path, model_config)
    weights = path / WEIGHTS_FILE
    check_header(migrate_tensors(read_header(weights), weights), expected_shapes(model_config), weights)
    try:
        state_dict = migrate_tensors(load_file(str(weights)), weights)  # as big as the config says, which is bounded
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"cannot read the weights (truncated or corrupt?): {error}", weights) from None
    check_weights(state_dict, expected_shapes(model_config), weights)  # the file may have changed since its header was read
    check_tensors(state_dict, model_config, vocab["labels"], weights)
    return ModelFiles(model_config, train_config, vocab, state_dict, meta, contextual)


def _read_contextual(model_dir: Path, config: TaggerConfig) -> Optional[Dict[str, Any]]:
    """contextual.json, checked against the config: required with contextual features, refused without them.

    Raises:
        ModelFileError: naming the file.
    """
    from tagger.model_format import MAX_CONTEXTUAL_BYTES, check_contextual

    path = model_dir / CONTEXTUAL_FILE
    present = path.is_file()
    if not config.contextual_layers:
        if present:
            raise ModelFileError("the model has no contextual features (contextual_layers 0 in config.json) but this file", path)
        return None
    if not present:
        layers = config.contextual_layers
        raise ModelFileError(f"missing: config.json has contextual_layers {layers}, so the encoder must be described here", path)
    return check_contextual(_read_json(path, MAX_CONTEXTUAL_BYTES), config, path)


def uses_contextual_features(model_dir: PathLike) -> bool:
    """Whether ``model_dir`` looks like a model with contextual features (read without torch; False when unreadable,
    so that the loader reports what is wrong).
    """
    path = Path(model_dir) / CONFIG_FILE
    try:
        with open(path, "rb") as handle:
            config = json.loads(handle.read(_CONFIG_LIMIT + 1))
    except (OSError, ValueError):
        return False
    model = config.get("model") if isinstance(config, dict) else None
    return isinstance(model, dict) and model.get("contextual_layers") not in (None, 0)


def check_weights(state_dict: Mapping[str, Any], expected: Mapping[str, Tuple[int, ...]], path: Optional[PathLike] = None) -> None:
    """Checks that the weights have exactly the names and shapes a configuration needs.

    Args:
        state_dict: The weights read from a model directory (tensors or arrays).
        expected: The shape of every weight the configuration needs, by name.
        path: The weights' file, named in the error.

    Raises:
        ModelFileError: a missing or unexpected weight, or one of the wrong shape.
    """
    from tagger.model_format import compare_shapes

    compare_shapes({name: tuple(tensor.shape) for name, tensor in state_dict.items()}, expected, path)
