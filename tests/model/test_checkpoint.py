"""Checkpoints: an interrupted run resumes to the very weights an uninterrupted one reaches, and a
checkpoint that does not belong to the run (or is damaged) is refused in one line.

The interruptions here are real signals sent to this process (``os.kill``) from inside a training
step, so they arrive where a user's Ctrl-C would; test_cli_resume.py kills real subprocesses.
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import torch

import tagger
from tagger.checkpoint import CHECKPOINT_FILE, checkpoint_dir
from tagger.errors import OutputError, TrainingError
from tagger.model import SequenceTagger
from tests.model.toy import SENTENCES, TINY, toy_dataset

# 18 sentences, 2 per batch: 9 steps per epoch. Both dropouts on, so every RNG matters.
DATA = toy_dataset(SENTENCES * 3)
OPTIONS = {**TINY, "dropout": 0.3, "word_dropout": 0.2, "max_epochs": 4, "patience": 10, "seed": 3, "device": "cpu"}
STEPS_PER_EPOCH = 9
TIMINGS = ("train_tokens_per_s", "train_seconds", "elapsed_s")


def quiet(_line: str) -> None:
    """A log that prints nothing."""


def train(out: Path, **changes: Any) -> tagger.Tagger:
    return tagger.train(DATA, "ner_tags", out, log=changes.pop("log", quiet), **{**OPTIONS, **changes})


def history(model_dir: Path) -> List[Dict[str, Any]]:
    """metrics.jsonl without the timings (which no two runs share)."""
    records = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


def assert_same_weights(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert different == [], f"weights differ: {different}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run every resumed one must equal."""
    out = tmp_path_factory.mktemp("reference") / "model"
    train(out)
    return out


def signal_at_call(monkeypatch: pytest.MonkeyPatch, call: int, signum: int = signal.SIGINT) -> None:
    """Sends ``signum`` to this process from inside the ``call``-th training loss (1-based)."""
    original = SequenceTagger.loss
    calls = [0]

    def loss(self: SequenceTagger, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls[0] += 1
        if calls[0] == call:
            os.kill(os.getpid(), signum)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SequenceTagger, "loss", loss)


def read_state(out: Path) -> Dict[str, Any]:
    """The JSON part of the checkpoint of ``out`` (in the safetensors header's metadata)."""
    from safetensors import safe_open

    with safe_open(str(checkpoint_dir(out) / CHECKPOINT_FILE), "pt") as f:
        return json.loads(f.metadata()["tagger_checkpoint"])


def test_checkpoint_lives_beside_the_model_directory(tmp_path: Path) -> None:
    assert checkpoint_dir(tmp_path / "models" / "ner") == tmp_path / "models" / "ner.checkpoint"
    assert checkpoint_dir(str(tmp_path / "ner") + "/") == tmp_path / "ner.checkpoint"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_epoch_writes_a_checkpoint_and_resume_reaches_the_same_weights(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    out = tmp_path / "model"
    lines: List[str] = []
    signal_at_call(monkeypatch, STEPS_PER_EPOCH + 4, signum)  # epoch 2, inside step 4
    with pytest.raises(KeyboardInterrupt):
        train(out, log=lines.append)
    assert not out.exists()
    state = read_state(out)
    assert (state["epoch"], state["step"]) == (2, 4)  # the step the signal arrived in was finished first
    assert str(checkpoint_dir(out)) in lines[-1] and "--resume" in lines[-1]
    monkeypatch.undo()
    resumed = train(out, resume=True)
    assert_same_weights(resumed.model.state_dict(), tagger.Tagger.load(reference).model.state_dict())
    assert history(out) == history(reference)
    assert not checkpoint_dir(out).exists()  # removed once the model is published


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_other_optimizers_resume_to_the_same_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, optimizer: str) -> None:
    options = {"optimizer": optimizer, "lr": 0.05, "max_epochs": 2, "weight_decay": 0.01}
    expected = train(tmp_path / "reference", **options).model.state_dict()
    signal_at_call(monkeypatch, STEPS_PER_EPOCH + 5)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "model", **options)
    monkeypatch.undo()
    assert_same_weights(train(tmp_path / "model", resume=True, **options).model.state_dict(), expected)


def test_weight_average_resumes_to_the_same_averaged_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"weight_average": 0.9, "max_epochs": 2}
    expected = train(tmp_path / "reference", **options).model.state_dict()
    signal_at_call(monkeypatch, STEPS_PER_EPOCH + 5)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "model", **options)
    assert read_state(tmp_path / "model")["average_updates"] == STEPS_PER_EPOCH + 5
    monkeypatch.undo()
    assert_same_weights(train(tmp_path / "model", resume=True, **options).model.state_dict(), expected)


def test_interrupt_at_the_end_of_an_epoch_resumes_from_the_next(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"

    def stop_after_epoch_2(record: dict) -> None:
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(out, callbacks=[stop_after_epoch_2])
    state = read_state(out)
    assert (state["epoch"], state["step"]) == (3, 0) and len(state["history"]) == 2
    resumed = train(out, resume=True)
    assert_same_weights(resumed.model.state_dict(), tagger.Tagger.load(reference).model.state_dict())
    assert history(out) == history(reference)
    assert resumed.meta["best_epoch"] == tagger.Tagger.load(reference).meta["best_epoch"]


def test_a_crash_keeps_the_last_end_of_epoch_checkpoint_and_resume_reaches_the_same_weights(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model"
    original = SequenceTagger.loss
    calls = [0]

    def crash(self: SequenceTagger, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls[0] += 1
        if calls[0] == 2 * STEPS_PER_EPOCH + 5:
            raise RuntimeError("simulated crash")  # like a SIGKILL: no checkpoint of this moment
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SequenceTagger, "loss", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(out)
    assert (read_state(out)["epoch"], read_state(out)["step"]) == (3, 0)
    monkeypatch.undo()
    resumed = train(out, resume=True)
    assert_same_weights(resumed.model.state_dict(), tagger.Tagger.load(reference).model.state_dict())


def test_an_interrupt_while_the_model_is_written_keeps_the_finished_run(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tagger.api

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    out, lines = tmp_path / "model", []
    monkeypatch.setattr(tagger.api, "_write_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(out, log=lines.append)
    assert "--resume" in lines[-1] and not out.exists()
    assert read_state(out)["epoch"] == OPTIONS["max_epochs"] + 1
    monkeypatch.undo()
    epochs: List[dict] = []
    resumed = train(out, resume=True, callbacks=[epochs.append])
    assert epochs == []  # nothing left to train
    assert_same_weights(resumed.model.state_dict(), tagger.Tagger.load(reference).model.state_dict())


def test_optimizer_state_round_trips_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file

    out = tmp_path / "model"
    signal_at_call(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        train(out)
    tensors = load_file(str(checkpoint_dir(out) / CHECKPOINT_FILE))
    names = {name.split(".")[-1] for name in tensors if name.startswith("optimizer.")}
    assert names == {"step", "exp_avg", "exp_avg_sq"}
    steps = {float(t) for name, t in tensors.items() if name.endswith(".step")}
    assert steps == {5.0}
    assert all(t.dtype == torch.float32 for name, t in tensors.items() if name.startswith("model.") and t.is_floating_point())


def test_library_leaves_the_signal_handlers_as_it_found_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    train(tmp_path / "a", max_epochs=1)
    signal_at_call(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b", max_epochs=1)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


# -- refusing a checkpoint --------------------------------------------------------------------------


@pytest.fixture
def interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The --out of a run interrupted in epoch 2 (its checkpoint beside it)."""
    out = tmp_path / "model"
    signal_at_call(monkeypatch, STEPS_PER_EPOCH + 2)
    with pytest.raises(KeyboardInterrupt):
        train(out)
    monkeypatch.undo()
    return out


def test_resume_without_a_checkpoint_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no checkpoint to resume") as error:
        train(tmp_path / "model", resume=True)
    assert str(checkpoint_dir(tmp_path / "model")) in str(error.value)


def test_a_fresh_run_does_not_overwrite_a_checkpoint_unless_forced(interrupted: Path) -> None:
    with pytest.raises(OutputError, match="--resume"):
        train(interrupted)
    assert checkpoint_dir(interrupted).is_dir()
    train(interrupted, force=True, max_epochs=1)
    assert not checkpoint_dir(interrupted).exists() and (interrupted / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"lr": 0.01}, "lr"),
        ({"hidden_size": 8}, "hidden_size"),
        ({"seed": 4}, "seed"),
    ],
)
def test_a_checkpoint_of_another_configuration_is_refused(interrupted: Path, change: Dict[str, Any], message: str) -> None:
    with pytest.raises(TrainingError, match=message) as error:
        train(interrupted, resume=True, **change)
    assert "\n" not in str(error.value)


def test_a_checkpoint_of_other_data_is_refused(interrupted: Path) -> None:
    other = toy_dataset(SENTENCES[::-1] * 3)
    with pytest.raises(TrainingError, match="training data"):
        tagger.train(other, "ner_tags", interrupted, log=quiet, resume=True, **OPTIONS)


def test_more_epochs_may_be_asked_for_on_resume(interrupted: Path) -> None:
    model = train(interrupted, resume=True, max_epochs=5)
    assert model.meta["epochs"] == 5


def _rewrite(path: Path, edit: Callable[[Dict[str, Any], Dict[str, torch.Tensor]], None]) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), "pt") as f:
        metadata = dict(f.metadata())
    tensors = load_file(str(path))
    state = json.loads(metadata["tagger_checkpoint"])
    edit(state, tensors)
    metadata["tagger_checkpoint"] = json.dumps(state)
    save_file(tensors, str(path), metadata=metadata)


def _set(key: str, value: Any) -> Callable[[Dict[str, Any], Dict[str, torch.Tensor]], None]:
    def edit(state: Dict[str, Any], _tensors: Dict[str, torch.Tensor]) -> None:
        state[key] = value

    return edit


def _report_score(key: str, value: Any) -> Callable[[Dict[str, Any], Dict[str, torch.Tensor]], None]:
    def edit(state: Dict[str, Any], _tensors: Dict[str, torch.Tensor]) -> None:
        state["best_report"][key] = value

    return edit


def _tensor(name: str, value: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Dict[str, Any], Dict[str, torch.Tensor]], None]:
    def edit(_state: Dict[str, Any], tensors: Dict[str, torch.Tensor]) -> None:
        if value is None:
            del tensors[name]
        else:
            tensors[name] = value(tensors[name])

    return edit


def _any_weight(tensors: Dict[str, torch.Tensor]) -> str:
    return next(name for name in sorted(tensors) if name.startswith("model.") and name.endswith("weight"))


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("format", 99), "format"),
        (_set("epoch", "2"), "epoch"),
        (_set("epoch", -1), "epoch"),
        (_set("step", 10**6), "step"),
        (_set("step", 1.5), "step"),
        (_set("history", "x"), "history"),
        (_set("history", [{"epoch": 7}]), "history"),
        (_set("history", [{"epoch": 1, "loss": 1.0, "dev_f1": "high"}]), "dev_f1"),
        (_set("best_report", {"f1": 1.0}), "best_report"),
        (_set("best_report", "x"), "best_report"),
        (_set("batch_rng", [3, [1, 2], None]), "batch_rng"),
        (_set("numpy_rng", ["MT19937", [], 0, 0, 0.0]), "numpy_rng"),
        (_set("best_score", "high"), "best_score"),
        (_set("epochs_without_gain", None), "epochs_without_gain"),
        (_set("elapsed_s", float("nan")), "elapsed_s"),
        (_report_score("f1", "high"), "best_report"),
        (_report_score("precision", None), "best_report"),
        (_tensor("rng.torch", lambda t: t[:10]), "rng.torch"),
        (_tensor("epoch_loss", lambda t: t.double()), "epoch_loss"),
        (_tensor("optimizer.0.exp_avg", lambda t: t[:1]), "optimizer.0.exp_avg"),
        (_tensor("optimizer.0.exp_avg", None), "optimizer"),
    ],
)
def test_a_damaged_checkpoint_is_refused_in_one_line(interrupted: Path, edit: Callable, message: str) -> None:
    _rewrite(checkpoint_dir(interrupted) / CHECKPOINT_FILE, edit)
    with pytest.raises(TrainingError, match=message) as error:
        train(interrupted, resume=True)
    assert "\n" not in str(error.value) and CHECKPOINT_FILE in str(error.value)


def test_damaged_weights_are_refused(interrupted: Path) -> None:
    path = checkpoint_dir(interrupted) / CHECKPOINT_FILE

    def wrong_shape(state: Dict[str, Any], tensors: Dict[str, torch.Tensor]) -> None:
        name = _any_weight(tensors)
        tensors[name] = torch.zeros(3, 3)

    _rewrite(path, wrong_shape)
    with pytest.raises(TrainingError, match="shape"):
        train(interrupted, resume=True)


def test_non_finite_weights_in_a_checkpoint_are_refused(interrupted: Path) -> None:
    def poison(state: Dict[str, Any], tensors: Dict[str, torch.Tensor]) -> None:
        name = _any_weight(tensors)
        tensors[name] = torch.full_like(tensors[name], math.nan)

    _rewrite(checkpoint_dir(interrupted) / CHECKPOINT_FILE, poison)
    with pytest.raises(TrainingError, match="not finite"):
        train(interrupted, resume=True)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no-metadata", "bad-json", "empty"])
def test_an_unreadable_checkpoint_is_refused(interrupted: Path, damage: str) -> None:
    path = checkpoint_dir(interrupted) / CHECKPOINT_FILE
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x04not a checkpoint")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no-metadata":
        from safetensors.torch import save_file

        save_file({"x": torch.zeros(2)}, str(path))
    else:
        tensor = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
        header = json.dumps({"__metadata__": {"tagger_checkpoint": "{not json"}, "x": tensor})
        raw = header.encode()
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0\0\0\0")
    with pytest.raises(TrainingError) as error:
        train(interrupted, resume=True)
    assert "\n" not in str(error.value) and CHECKPOINT_FILE in str(error.value)


def test_a_huge_header_is_refused_before_it_is_read(interrupted: Path) -> None:
    path = checkpoint_dir(interrupted) / CHECKPOINT_FILE
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(TrainingError):
        train(interrupted, resume=True)


def test_a_file_where_the_checkpoint_directory_goes_is_refused_before_training(tmp_path: Path) -> None:
    checkpoint_dir(tmp_path / "model").write_text("mine", encoding="utf-8")
    started: List[dict] = []
    with pytest.raises(OutputError, match="not a directory"):
        train(tmp_path / "model", callbacks=[started.append])
    assert started == [] and checkpoint_dir(tmp_path / "model").read_text(encoding="utf-8") == "mine"


def test_a_checkpoint_that_cannot_be_written_is_an_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tagger.files

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tagger.files.os, "fsync", full_disk)  # the checkpoint is the first file synced
    with pytest.raises(OutputError, match="No space left") as error:
        train(tmp_path / "model", max_epochs=1)
    assert CHECKPOINT_FILE in str(error.value)


def test_files_the_toolkit_did_not_write_stay_in_the_checkpoint_directory(tmp_path: Path) -> None:
    directory = checkpoint_dir(tmp_path / "model")
    directory.mkdir()
    (directory / "notes.txt").write_text("mine", encoding="utf-8")
    train(tmp_path / "model", max_epochs=1)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
