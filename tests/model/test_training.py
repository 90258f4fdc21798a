"""The training loop: dev scores are measured as inference sees them, and the schedule is pure."""

import json
import math

import pytest
import torch

import tagger
from tagger.checkpoint import CHECKPOINT_FILE, checkpoint_dir
from tagger.errors import TrainingError
from tagger.model import SequenceTagger
from tagger.training import lr_at
from tests.model.toy import SENTENCES, TINY, toy_dataset


def test_dev_score_during_training_equals_evaluation_afterwards(tmp_path):
    dd = toy_dataset()
    options = {**TINY, "dropout": 0.5, "word_dropout": 0.2}
    model = tagger.train(dd, "ner_tags", tmp_path / "m", max_epochs=3, log=lambda _: None, **options)
    best = max(json.loads(line)["dev_f1"] for line in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines())
    assert model.meta["scores"]["validation"]["f1"] == pytest.approx(best)
    assert tagger.evaluate(model, dd["validation"], "ner_tags").f1 == pytest.approx(best)


def test_lr_schedule():
    assert lr_at(0, 0.1, 0.05) == 0.1
    assert lr_at(10, 0.1, 0.05) == pytest.approx(0.1 / 1.5)
    assert lr_at(10, 0.1, 0.0) == 0.1


# -- a non-finite loss stops training ----------------------------------------------------------------

NAN_DATA = toy_dataset(SENTENCES * 3)  # 9 steps of 2 sentences per epoch
NAN_OPTIONS = {**TINY, "max_epochs": 3, "device": "cpu", "log": lambda _: None}


def _poison_loss(monkeypatch, call, poison):
    """Replaces the ``call``-th training loss (1-based) by ``poison(loss, model)``."""
    original = SequenceTagger.loss
    calls = [0]

    def loss(self, *args, **kwargs):
        calls[0] += 1
        value = original(self, *args, **kwargs)
        return poison(value, self) if calls[0] == call else value

    monkeypatch.setattr(SequenceTagger, "loss", loss)


def _checkpoint_state(out):
    from safetensors import safe_open

    with safe_open(str(checkpoint_dir(out) / CHECKPOINT_FILE), "pt") as f:
        return json.loads(f.metadata()["tagger_checkpoint"])


@pytest.mark.parametrize("per_step", [True, False], ids=["checked-every-step", "checked-every-epoch"])
def test_a_nan_loss_stops_training_keeps_the_last_good_state_and_publishes_nothing(tmp_path, monkeypatch, per_step):
    from safetensors.torch import load_file

    if not per_step:  # as on a GPU, where a check per step would cost a synchronisation
        monkeypatch.setattr("tagger.training.sync_is_cheap", lambda device: False)
    _poison_loss(monkeypatch, 9 + 2, lambda loss, model: loss * math.nan)  # epoch 2, step 2
    out = tmp_path / "m"
    with pytest.raises(TrainingError, match="epoch 2, step 2" if per_step else "epoch 2") as error:
        tagger.train(NAN_DATA, "ner_tags", out, **NAN_OPTIONS)
    assert "not finite" in str(error.value) and str(checkpoint_dir(out)) in str(error.value)
    assert not out.exists()
    assert (_checkpoint_state(out)["epoch"], _checkpoint_state(out)["step"]) == (2, 0)  # the end of epoch 1
    tensors = load_file(str(checkpoint_dir(out) / CHECKPOINT_FILE))
    assert all(bool(torch.isfinite(t).all()) for t in tensors.values() if t.is_floating_point())


def test_non_finite_gradients_under_a_finite_loss_are_caught_at_the_end_of_the_epoch(tmp_path, monkeypatch):
    def nan_gradient(loss, model):
        weight = model.output.weight
        return loss + 0.0 * torch.sqrt(weight.sum() * 0.0)  # value: loss; gradient: 0 * inf = nan

    _poison_loss(monkeypatch, 9 * 2, nan_gradient)  # the last step of epoch 2
    with pytest.raises(TrainingError, match="epoch 2") as error:
        tagger.train(NAN_DATA, "ner_tags", tmp_path / "m", **NAN_OPTIONS)
    assert "not finite" in str(error.value)
    assert not (tmp_path / "m").exists()


def test_a_learning_rate_that_overflows_stops_training(tmp_path):
    options = {**NAN_OPTIONS, "optimizer": "sgd", "lr": 1e38, "clip": 0.0}
    with pytest.raises(TrainingError, match="not finite"):
        tagger.train(NAN_DATA, "ner_tags", tmp_path / "m", **options)
    assert not (tmp_path / "m").exists()


def test_a_model_with_non_finite_weights_is_never_published(tmp_path, monkeypatch):
    import tagger.training

    fit = tagger.training.fit

    def nan_fit(*args, **kwargs):
        result = fit(*args, **kwargs)
        result.best_state = {k: torch.full_like(v, math.nan) if v.is_floating_point() else v for k, v in result.best_state.items()}
        return result

    monkeypatch.setattr(tagger.training, "fit", nan_fit)
    with pytest.raises(TrainingError, match="not finite"):
        tagger.train(NAN_DATA, "ner_tags", tmp_path / "m", **{**NAN_OPTIONS, "max_epochs": 1})
    assert not (tmp_path / "m").exists()


# -- threads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_threads", [2, None])
def test_training_leaves_torch_threads_as_it_found_them(tmp_path, num_threads):
    before = torch.get_num_threads()
    model = tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", max_epochs=2, num_threads=num_threads, log=lambda _: None, **TINY)
    assert torch.get_num_threads() == before
    records = [json.loads(line) for line in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines()]
    assert [r["threads"] for r in records] == [num_threads or before] * 2
    assert model.train_config.num_threads == num_threads
