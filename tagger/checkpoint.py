"""Checkpoints of a training run, so that an interrupted run resumes exactly where it stopped.

A checkpoint is one file, ``checkpoint.safetensors``, in the directory ``<out>.checkpoint`` beside
the model directory ``<out>``. Its tensors are the weights, the best weights so far, the
optimiser's state, torch's RNG states and the loss summed so far in the epoch; the rest of the
run's state (epoch, step, scores, history, the Python and NumPy RNG states, the configuration and a
fingerprint of the data) is JSON in the safetensors header's metadata. One file, replaced
atomically, so the tensors and the JSON always belong together; nothing in it is unpickled.

A checkpoint is a file on disk like a model directory, so it is not trusted: its format, the run
it belongs to, every JSON field's type and range and every tensor's name, shape and dtype are
checked, and its weights must be finite, before any of it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union, overload

import numpy as np
import torch

from tagger import __version__
from tagger.config import TaggerConfig, TrainConfig
from tagger.errors import OutputError, TrainingError
from tagger.evaluation import EvaluationReport, TypeScores
from tagger.files import atomic_file

CHECKPOINT_FORMAT = 1
CHECKPOINT_FILE = "checkpoint.safetensors"
STATE_KEY = "tagger_checkpoint"  # the safetensors metadata key that holds the JSON state

# TrainConfig fields that only decide when a run stops or where it runs: a resumed run may change
# them. (``device`` is compared as the device it resolved to; bit-equal results also need the
# same number of threads.)
FREE_ON_RESUME = frozenset({"max_epochs", "patience", "max_minutes", "num_threads", "device"})

# The optimiser state torch keeps per parameter: "param" means a tensor shaped like the parameter.
# Optimiser kind -> its state per parameter: key -> "param" (a tensor shaped like it) or () (a scalar).
OPTIMIZER_STATE: Dict[str, Dict[str, Union[str, Tuple[()]]]] = {
    "adam": {"step": (), "exp_avg": "param", "exp_avg_sq": "param"},
    "sgd": {"momentum_buffer": "param"},
}
OPTIMIZER_STATE["adamw"] = OPTIMIZER_STATE["adam"]

PathLike = Union[str, Path]


def checkpoint_dir(out_dir: PathLike) -> Path:
    """The checkpoint directory of the model directory ``out_dir``: ``<out>.checkpoint`` beside it."""
    out = Path(out_dir)
    return out.with_name(out.name + ".checkpoint")


def data_fingerprint(sentences: Sequence[Any], *parts: Any) -> str:
    """A SHA-256 of encoded sentences (their word, form and tag ids) and JSON-able ``parts``
    (vocabularies, labels, dev data): a resumed run must train on the very same data.
    """
    digest = hashlib.sha256()
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    digest.update(lengths.tobytes())
    for field in ("words", "forms", "tags"):
        arrays = [np.asarray(getattr(s, field), dtype=np.int64) for s in sentences]
        digest.update(np.concatenate(arrays).tobytes() if arrays else b"")
    digest.update(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def run_identity(
    config: TaggerConfig, train_config: TrainConfig, device: torch.device, fingerprint: str, contextual: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """What a checkpoint must share with the run that resumes it; ``contextual``: the encoder's description
    (``tagger.contextual``), whose features are recomputed on resume, so they must come from the same weights.
    """
    training = {k: v for k, v in train_config.to_dict().items() if k not in FREE_ON_RESUME}
    identity = {"model": config.to_dict(), "training": training, "device": device.type, "data": fingerprint}
    if contextual is not None:
        identity["contextual"] = dict(contextual)
    return identity


def _difference(saved: Any, current: Dict[str, Any]) -> Optional[str]:
    """The first way ``saved`` (a checkpoint's identity) differs from ``current``, in words."""
    if not isinstance(saved, dict):
        return "it has no run identity"
    if saved.get("data") != current["data"]:
        return "the training data, labels or vocabulary differ from the checkpoint's"
    if saved.get("device") != current["device"]:
        return f"it was written on {saved.get('device')}, this run is on {current['device']}"
    theirs, ours = saved.get("contextual"), current.get("contextual")
    if theirs != ours:
        if not isinstance(theirs, dict) or not isinstance(ours, dict):
            return f"it was written {'with' if theirs else 'without'} contextual features, this run is {'with' if ours else 'without'}"
        key = next(k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k))
        return f"its contextual encoder has {key}={theirs.get(key, '(none)')!r}, this run's has {key}={ours.get(key, '(none)')!r}"
    for section in ("model", "training"):
        theirs, ours = saved.get(section), current[section]
        if not isinstance(theirs, dict):
            return f"it has no {section} configuration"
        for key in sorted(set(theirs) | set(ours)):
            if theirs.get(key, "(none)") != ours.get(key, "(none)"):
                return f"it was written with {key}={theirs.get(key, '(none)')!r}, this run has {key}={ours.get(key, '(none)')!r}"
    return None


class Checkpoint:
    """The checkpoint of one run (``<out>.checkpoint/checkpoint.safetensors``).

    Args:
        directory: The checkpoint directory (``checkpoint_dir(out_dir)``).
        identity: ``run_identity(...)`` of this run; a checkpoint of another run is refused.
    """

    def __init__(self, directory: PathLike, identity: Dict[str, Any]):
        self.directory = Path(directory)
        self.identity = identity

    @property
    def path(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, state: Dict[str, Any], tensors: Dict[str, torch.Tensor]) -> None:
        """Writes the checkpoint atomically (creating its directory).

        Raises:
            OutputError: the checkpoint cannot be written (a full or read-only disk); the last one stays.
        """
        from safetensors.torch import save

        document = {"format": CHECKPOINT_FORMAT, "tagger_version": __version__, "torch_version": torch.__version__}
        document.update(state, identity=self.identity)
        text = json.dumps(document, allow_nan=False, sort_keys=True)  # NaN is not JSON: a bug if it gets here
        cpu = {name: t.detach().to("cpu", copy=True).contiguous() for name, t in tensors.items()}
        data = save(cpu, metadata={STATE_KEY: text})
        try:
            self.directory.mkdir(exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot write the checkpoint: {error.strerror or error}", self.directory) from None
        with atomic_file(self.path, "wb") as stream:  # the old checkpoint stays until the new one is complete
            stream.write(data)

    def load(self) -> "SavedRun":
        """Reads the checkpoint and checks that it belongs to this run.

        Raises:
            TrainingError: no checkpoint, an unreadable one, another format, or one of another run.
        """
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        if not self.exists():
            raise TrainingError("no checkpoint to resume from (it is written at the end of every epoch and on Ctrl-C)", self.directory)
        try:
            with safe_open(str(self.path), "pt") as f:
                metadata = f.metadata() or {}
        except (SafetensorError, OSError, ValueError) as error:
            raise TrainingError(f"cannot read the checkpoint (truncated or corrupt?): {error}", self.path) from None
        try:
            state = json.loads(metadata[STATE_KEY])
        except KeyError:
            raise TrainingError("not a tagger checkpoint (no training state in its metadata)", self.path) from None
        except json.JSONDecodeError as error:
            raise TrainingError(f"the checkpoint's training state is not valid JSON ({error.msg})", self.path) from None
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            found = state.get("format") if isinstance(state, dict) else None
            raise TrainingError(f"checkpoint format {found!r} is not the format this tagger writes ({CHECKPOINT_FORMAT})", self.path)
        difference = _difference(state.get("identity"), self.identity)
        if difference is not None:
            raise TrainingError(
                f"the checkpoint belongs to another run: {difference}; resume with the same options and data, "
                f"or delete {self.directory} to start afresh",
                self.path,
            )
        try:
            tensors = load_file(str(self.path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as error:
            raise TrainingError(f"cannot read the checkpoint's tensors (truncated or corrupt?): {error}", self.path) from None
        return SavedRun(self.path, state, tensors)

    def remove(self) -> None:
        """Deletes the checkpoint file, stale temporary files of it, and the directory if it is then empty."""
        for path in [self.path, *self.directory.glob(f".{CHECKPOINT_FILE}.*.tmp")]:
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            self.directory.rmdir()  # left alone when it holds files the toolkit did not write


class SavedRun:
    """A checkpoint read from disk: its JSON state and tensors, each checked as it is taken out."""

    def __init__(self, path: Path, state: Dict[str, Any], tensors: Dict[str, torch.Tensor]):
        self.path = path
        self.state = state
        self.tensors = tensors
        self.taken: set = set()

    def error(self, message: str) -> TrainingError:
        return TrainingError(f"damaged checkpoint: {message}", self.path)

    # -- JSON fields ---------------------------------------------------------------------------

    def integer(self, key: str, low: int = 0, high: Optional[int] = None) -> int:
        value = self.state.get(key)
        if type(value) is not int or value < low or (high is not None and value > high):
            bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise self.error(f"{key} must be an integer {bounds}, got {value!r}")
        return value

    @overload
    def number(self, key: str) -> float: ...

    @overload
    def number(self, key: str, *, optional: bool) -> Optional[float]: ...

    def number(self, key: str, *, optional: bool = False) -> Optional[float]:
        value: Any = self.state.get(key)  # JSON: checked below
        if value is None and optional:
            return None
        if type(value) not in (int, float) or not math.isfinite(value):
            raise self.error(f"{key} must be a finite number, got {value!r}")
        return float(value)

    def text(self, key: str) -> str:
        value = self.state.get(key)
        if not isinstance(value, str):
            raise self.error(f"{key} must be a string, got {value!r}")
        return value

    def history(self, epochs: int) -> List[dict]:
        """The per-epoch records: exactly ``epochs`` of them, numbered from 1, of finite numbers."""
        records = self.state.get("history")
        if not isinstance(records, list) or len(records) != epochs:
            raise self.error(f"history must be a list of {epochs} epoch record(s)")
        for number, record in enumerate(records, 1):
            if not isinstance(record, dict) or record.get("epoch") != number or "loss" not in record:
                raise self.error(f"history record {number} is not the record of epoch {number}")
            for key, value in record.items():
                if not (type(value) is bool or (type(value) in (int, float) and math.isfinite(value))):
                    raise self.error(f"history record {number}: {key} must be a finite number, got {value!r}")
        return records

    def report(self) -> Optional[EvaluationReport]:
        """The best epoch's dev report (None without a dev set), every score a finite number."""
        value = self.state.get("best_report")
        if value is None:
            return None
        try:
            per_type = {name: TypeScores(**scores) for name, scores in value["per_type"].items()}
            report = EvaluationReport(**{**value, "per_type": per_type})
        except (TypeError, KeyError, AttributeError):
            raise self.error("best_report is not an evaluation report") from None
        scores = [getattr(report, f.name) for f in fields(report) if f.name not in ("per_type", "scheme", "mode")]
        scores += [getattr(s, f.name) for s in per_type.values() for f in fields(s)]
        if not all(type(x) in (int, float) and math.isfinite(x) for x in scores) or not isinstance(report.scheme, str):
            raise self.error("best_report holds a score that is not a finite number")
        return report

    def python_rng(self, key: str) -> tuple:
        """A ``random.Random`` state (version 3: 624 words and an index, then the cached gauss)."""
        value: Any = self.state.get(key)  # JSON: checked below
        ok = isinstance(value, list) and len(value) == 3 and value[0] == 3 and isinstance(value[1], list) and len(value[1]) == 625
        ok = ok and all(type(word) is int and 0 <= word < 2**32 for word in value[1]) and value[1][-1] <= 624
        ok = ok and (value[2] is None or type(value[2]) is float)
        if not ok:
            raise self.error(f"{key} is not a Python random state")
        state = (3, tuple(value[1]), value[2])
        try:
            random.Random().setstate(state)
        except (ValueError, TypeError, OverflowError):
            raise self.error(f"{key} is not a Python random state") from None
        return state

    def numpy_rng(self, key: str) -> tuple:
        """A NumPy legacy ``RandomState`` state (MT19937: 624 words, position, cached gaussian)."""
        value: Any = self.state.get(key)  # JSON: checked below
        ok = isinstance(value, list) and len(value) == 5 and value[0] == "MT19937" and isinstance(value[1], list)
        ok = ok and len(value[1]) == 624 and all(type(word) is int and 0 <= word < 2**32 for word in value[1])
        ok = ok and type(value[2]) is int and 0 <= value[2] <= 624 and value[3] in (0, 1) and type(value[4]) in (int, float)
        if not ok:
            raise self.error(f"{key} is not a NumPy random state")
        return ("MT19937", np.asarray(value[1], dtype=np.uint32), value[2], value[3], float(value[4]))

    # -- tensors -------------------------------------------------------------------------------

    def tensor(self, name: str, like: torch.Tensor, *, finite: bool = False) -> torch.Tensor:
        """The tensor ``name``, which must have the shape and dtype of ``like`` (and be finite)."""
        tensor = self.tensors.get(name)
        if tensor is None:
            raise self.error(f"tensor {name} is missing")
        if tuple(tensor.shape) != tuple(like.shape) or tensor.dtype != like.dtype:
            raise self.error(
                f"tensor {name} has shape {tuple(tensor.shape)} and dtype {tensor.dtype}, "
                f"the run needs shape {tuple(like.shape)} and dtype {like.dtype}"
            )
        if finite and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise self.error(f"tensor {name} is not finite")
        self.taken.add(name)
        return tensor

    def weights(self, prefix: str, like: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """A state dict stored under ``prefix.``, checked against ``like`` (names, shapes, finite)."""
        return {name: self.tensor(f"{prefix}.{name}", t, finite=True) for name, t in like.items()}

    def optimizer_state(self, kind: str, params: Sequence[torch.Tensor]) -> Dict[int, Dict[str, torch.Tensor]]:
        """The per-parameter state of an optimiser of ``kind`` over ``params`` (stored as ``optimizer.I.KEY``)."""
        layout = OPTIMIZER_STATE[kind]
        found: Dict[int, Set[str]] = {}
        for name in self.tensors:
            if name.startswith("optimizer."):
                _, digits, key = (name.split(".", 2) + ["", ""])[:3]
                if not digits.isdigit() or int(digits) >= len(params) or key not in layout:
                    raise self.error(f"unexpected optimizer tensor {name} (the run has {len(params)} parameters, {kind})")
                found.setdefault(int(digits), set()).add(key)
        state: Dict[int, Dict[str, torch.Tensor]] = {}
        for index, keys in sorted(found.items()):
            if keys != set(layout):
                raise self.error(
                    f"optimizer state of parameter {index} has {', '.join(sorted(keys))}, {kind} needs {', '.join(sorted(layout))}"
                )
            param = params[index]
            state[index] = {
                key: self.tensor(
                    f"optimizer.{index}.{key}", param.detach() if shape == "param" else torch.zeros((), dtype=torch.float32), finite=True
                )
                for key, shape in layout.items()
            }
        return state

    def untaken(self) -> List[str]:
        """Tensors in the file that nothing asked for (a checkpoint of another layout)."""
        return sorted(set(self.tensors) - self.taken)


def optimizer_tensors(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The optimiser's per-parameter tensors, as ``optimizer.I.KEY`` (I: the index in ``params``)."""
    index = {id(p): i for i, p in enumerate(params)}
    tensors = {}
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index[id(param)]}.{key}"] = value
    return tensors


def restore_optimizer(optimizer: torch.optim.Optimizer, state: Dict[int, Dict[str, torch.Tensor]]) -> None:
    """Loads per-parameter state (from ``SavedRun.optimizer_state``) into ``optimizer``, keeping its hyperparameters."""
    current = optimizer.state_dict()
    current["state"] = {index: {key: value.clone() for key, value in entry.items()} for index, entry in state.items()}
    optimizer.load_state_dict(current)


def python_rng_json(state: Tuple[Any, ...]) -> list:
    """A ``random.Random.getstate()`` as JSON."""
    return [state[0], list(state[1]), state[2]]


def numpy_rng_json() -> list:
    """NumPy's global legacy RNG state as JSON."""
    name, key, position, has_gauss, cached = np.random.get_state()
    return [name, [int(k) for k in key], int(position), int(has_gauss), float(cached)]
