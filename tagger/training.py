"""The training loop: zero_grad -> forward -> loss -> backward -> clip -> step -> average (``_Trainer.step``),
then at the end of every epoch evaluate -> commit (keep the best weights, decide on early stopping)
-> save (``_Trainer.end_epoch``).

With a :class:`~tagger.checkpoint.Checkpoint`, the whole state of the run is saved at the end of
every epoch and when the run is interrupted (Ctrl-C, SIGTERM), and a saved run resumes to the very
weights the uninterrupted run would have reached (on CPU, with the same number of threads). A
signal that arrives during a training step takes effect when the step is done, so a checkpoint
never holds half an update. A non-finite loss stops the run with a :class:`TrainingError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from tagger.averaging import WeightAverage
from tagger.batching import Batch, EncodedSentence, FormTable, bucketed_batches, make_batch, pad_contextual, word_dropout
from tagger.checkpoint import (
    Checkpoint,
    SavedRun,
    numpy_rng_json,
    optimizer_tensors,
    python_rng_json,
    restore_optimizer,
)
from tagger.config import TrainConfig
from tagger.devices import autocast_dtype, mixed_precision
from tagger.distributed import SINGLE, Ranks, all_sum, loss_function, shard
from tagger.errors import TrainingError
from tagger.evaluation import EvaluationReport
from tagger.model import SequenceTagger
from tagger.signals import Terminated
from tagger.threads import training_threads

EpochCallback = Callable[[dict], None]


@dataclass
class TrainResult:
    """What training produced: the best weights and the history behind them."""

    best_state: Dict[str, torch.Tensor]
    best_epoch: int
    best_score: float
    best_report: Optional[EvaluationReport]
    history: List[dict] = field(default_factory=list)
    seconds: float = 0.0
    stopped_because: str = ""


@dataclass
class Progress:
    """How far a run has got; with the model, optimiser and RNG states, what a checkpoint holds."""

    batch_rng: tuple  # the batch-order RNG's state before this epoch's batches were drawn
    epoch_loss: torch.Tensor  # summed sentence loss of this epoch's steps so far, on the device
    epoch: int = 1  # the epoch in progress, from 1
    step: int = 0  # steps of that epoch already taken
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    epochs_without_gain: int = 0
    elapsed: float = 0.0  # training seconds before this process (a resumed run)


@dataclass
class _SavedState:
    """A checkpoint's whole state, every part checked against the run, before any of it is put in."""

    at: Progress
    result: TrainResult
    weights: Dict[str, torch.Tensor]
    optimizer: Dict[int, Dict[str, torch.Tensor]]
    rngs: Dict[str, torch.Tensor]
    python_rng: tuple
    numpy_rng: tuple
    averages: Dict[str, torch.Tensor]
    average_updates: int
    scaler: Optional[dict]


def seed_everything(seed: int) -> None:
    """Seeds Python's, NumPy's and torch's global RNGs (and leaves them so: see :func:`global_rngs_restored`)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def global_rngs_restored(device: torch.device) -> Iterator[None]:
    """Inside the block the global RNGs may be seeded and drawn from; after it (returning or raising) they are as before.

    Python's and NumPy's states are saved and put back; torch's CPU generator and the CUDA ones (of
    ``device``, and of every device once CUDA is initialised) are forked by ``torch.random.fork_rng``.
    A library call thus leaves a caller's random numbers as they would have been.
    """
    devices = set(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else set()
    if device.type == "cuda":
        devices.add(device.index if device.index is not None else torch.cuda.current_device())
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=sorted(devices)):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def lr_at(epoch: int, base_lr: float, decay: float) -> float:
    """Learning rate of epoch ``epoch`` (0-based): ``base_lr / (1 + decay * epoch)`` (Ma & Hovy)."""
    return base_lr / (1.0 + decay * epoch)


def sync_is_cheap(device: torch.device) -> bool:
    """Whether reading a value back from ``device`` every step costs nothing (CPU) or stalls it (GPU)."""
    return device.type == "cpu"


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``cfg`` names, over the trainable parameters.

    Adam(W) is fused (one kernel for the whole update) where this torch supports it on the
    parameters' device (CPU from torch 2.4), else multi-tensor (``foreach``); fused Adam made a
    CPU training step 10% faster.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    lr = cfg.learning_rate()
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True)
    adam = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    try:
        return adam(params, lr=lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, ValueError):  # fused kernels for this device arrived in a later torch
        return adam(params, lr=lr, weight_decay=cfg.weight_decay, foreach=True)


def _progress(total: int, epoch: int, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, desc=f"epoch {epoch}", unit="tok", unit_scale=True, leave=False, disable=not enabled, file=sys.stderr
    )


def _grad_scaler() -> "torch.amp.GradScaler":
    """A float16 loss scaler (``torch.amp.GradScaler`` from torch 2.3, ``torch.cuda.amp`` before)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def _all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether every value of ``tensors`` is finite (one synchronisation on a GPU)."""
    floating = [t.detach() for t in tensors if t.is_floating_point()]
    return not floating or bool(torch.stack([torch.isfinite(t).all() for t in floating]).all())


class HeldSignals:
    """SIGINT and SIGTERM as exceptions (``KeyboardInterrupt``, ``Terminated``), held back inside
    :meth:`held` until the block is done, so that a training step is applied whole or not at all.

    Installed only in the main thread, for the duration of :meth:`installed`, and never over a
    signal the process ignores (``nohup``, a background job); the previous handlers come back after.
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending: Optional[int] = None
        self.torn = False  # an exception escaped a held block: the state may be half updated

    @staticmethod
    def _exception(signum: int) -> KeyboardInterrupt:
        return Terminated(f"received signal {signum}") if signum == signal.SIGTERM else KeyboardInterrupt()

    def _handle(self, signum: int, frame: Any) -> None:
        if self._holding:
            self._pending = signum
        else:
            raise self._exception(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) not in (signal.SIG_IGN, None):
                previous[signum] = signal.signal(signum, self._handle)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        except BaseException:
            self.torn = True
            raise
        finally:
            self._holding = False
        if self._pending is not None:
            signum, self._pending = self._pending, None
            raise self._exception(signum)


def fit(
    model: SequenceTagger,
    train_set: Sequence[EncodedSentence],
    train_forms: FormTable,
    cfg: TrainConfig,
    device: torch.device,
    evaluate: Optional[Callable[[SequenceTagger], EvaluationReport]] = None,
    callbacks: Sequence[EpochCallback] = (),
    progress: bool = False,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    checkpoint: Optional[Checkpoint] = None,
    resume_from: Optional[SavedRun] = None,
    contextual: Optional[Sequence[torch.Tensor]] = None,
    ranks: Optional[Ranks] = None,
) -> TrainResult:
    """Trains ``model`` in place and returns the best weights (by dev score, else by epoch).

    Args:
        train_set: Encoded training sentences (with tags), their forms in ``train_forms``.
        evaluate: Scores the model on the dev set; without it the last epoch's weights win.
        callbacks: Called after every epoch with that epoch's record (as written to metrics.jsonl).
        progress: Show a tqdm bar per epoch on stderr.
        log: Receives one line per epoch.
        checkpoint: Where to save the run at the end of every epoch and on KeyboardInterrupt (which
            is re-raised); SIGTERM raises ``Terminated`` (a KeyboardInterrupt) during the run.
        resume_from: A saved run (``checkpoint.load()``) to continue instead of starting afresh.
        contextual: The training sentences' contextual features (``tagger.contextual``), in the order
            of ``train_set``, for a model with contextual features; padded into each batch at its step.
        ranks: This process's place in a run of several (``tagger.distributed``, in its process group):
            it trains on its share of each epoch's batches, DDP averaging the gradients; None: one process.

    Raises:
        TrainingError: the loss or the weights became non-finite (the last checkpoint is kept), or
            ``resume_from`` does not fit this model and optimiser.
    """
    if bool(model.config.contextual_layers) != (contextual is not None) or (contextual is not None and len(contextual) != len(train_set)):
        raise ValueError("a model with contextual features needs one feature tensor per training sentence, and only such a model")
    ranks = ranks or SINGLE
    trainer = _Trainer(model, train_set, train_forms, cfg, device, evaluate, callbacks, progress, log, checkpoint, contextual, ranks)
    return trainer.run(resume_from)


class _Trainer:
    """One training run: the loop of :func:`fit`, with the state a checkpoint saves and restores."""

    def __init__(
        self,
        model: SequenceTagger,
        train_set: Sequence[EncodedSentence],
        train_forms: FormTable,
        cfg: TrainConfig,
        device: torch.device,
        evaluate: Optional[Callable[[SequenceTagger], EvaluationReport]],
        callbacks: Sequence[EpochCallback],
        progress: bool,
        log: Callable[[str], None],
        checkpoint: Optional[Checkpoint],
        contextual: Optional[Sequence[torch.Tensor]] = None,
        ranks: Ranks = SINGLE,
    ):
        self.contextual, self.ranks = contextual, ranks
        self.loss = loss_function(model, ranks, device)  # model.loss, or DDP's forward around it
        self.model, self.train_set, self.train_forms, self.cfg, self.device = model, train_set, train_forms, cfg, device
        self.evaluate, self.callbacks, self.progress, self.log, self.checkpoint = evaluate, callbacks, progress, log, checkpoint
        self.rng = random.Random(cfg.seed)
        self.dropout_generator = torch.Generator(device=device).manual_seed(cfg.seed)
        self.optimizer = make_optimizer(model, cfg)
        self.base_lr = cfg.learning_rate()
        self.use_amp = cfg.mixed_precision and device.type == "cuda"
        self.scaler = _grad_scaler() if self.use_amp and autocast_dtype(device) == torch.float16 else None
        self.params = [p for p in model.parameters() if p.requires_grad]
        trained = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        self.average = WeightAverage(trained, cfg.weight_average) if cfg.weight_average > 0 else None
        self.lengths = [len(s) for s in train_set]
        self.steps_per_epoch = -(-len(train_set) // cfg.batch_size) // ranks.world_size  # this rank's share (shard)
        self.check_every_step = sync_is_cheap(device)
        self.signals = HeldSignals()
        self.threads = training_threads(cfg.num_threads)  # pinned to num_threads, else fitted to the free cores
        self.result = TrainResult(best_state={}, best_epoch=-1, best_score=-math.inf, best_report=None)
        self.at = Progress(batch_rng=self.rng.getstate(), epoch_loss=torch.zeros((), device=device))
        self.on_disk: Optional[tuple] = None  # (epoch, step) of the checkpoint last written or resumed
        self.started = 0.0

    # -- the loop ------------------------------------------------------------------------------

    def run(self, resume_from: Optional[SavedRun]) -> TrainResult:
        if resume_from is not None:
            self.restore(resume_from)
            self.log(f"resuming from {resume_from.path.parent}: epoch {self.at.epoch}, step {self.at.step} of {self.steps_per_epoch}")
        self.started = time.perf_counter() - self.at.elapsed
        with self.signals.installed(), self.threads:
            try:
                while not self.result.stopped_because:
                    if self.at.epoch > self.cfg.max_epochs:
                        self.result.stopped_because = f"max_epochs={self.cfg.max_epochs} reached"
                        break
                    self.epoch()
            except KeyboardInterrupt:
                self.save_on_interrupt()
                raise
        self.result.seconds = time.perf_counter() - self.started
        return self.result

    def epoch(self) -> None:
        """Trains the epoch in progress from its next step, then evaluates and records it."""
        at, cfg = self.at, self.cfg
        lr = lr_at(at.epoch - 1, self.base_lr, cfg.lr_decay)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.rng.setstate(at.batch_rng)
        # Batches are built once per epoch (bucketed by length), not per step; contextual features are
        # padded in at each step, so that the epoch holds no padded copy of all of them.
        order = shard(bucketed_batches(self.lengths, cfg.batch_size, self.rng), self.ranks)
        batches: List[Batch] = [make_batch([self.train_set[i] for i in ids], self.train_forms) for ids in order]
        self.model.train()
        bar = _progress(sum(self.lengths), at.epoch, self.progress, at.epoch_tokens)
        clock = time.perf_counter()
        for step in range(at.step, len(batches)):
            with self.signals.held():  # a signal now takes effect once the step is done and counted
                loss = self.step(self.with_contextual(batches[step], order[step]), step + 1)
                now = time.perf_counter()
                at.step, at.epoch_seconds, clock = step + 1, at.epoch_seconds + now - clock, now
            self.threads.step()
            if self.progress:
                bar.update(batches[step].num_tokens)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        bar.close()
        self.end_epoch(lr)

    def with_contextual(self, batch: Batch, ids: Sequence[int]) -> Batch:
        """``batch`` with the contextual features of its sentences ``ids`` (unchanged without them)."""
        if self.contextual is None:
            return batch
        return dataclasses.replace(batch, contextual=pad_contextual([self.contextual[i] for i in ids]))

    def step(self, batch: Batch, number: int) -> torch.Tensor:
        """One update on ``batch`` (the epoch's step ``number``, from 1); returns its loss."""
        batch = batch.to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        words = word_dropout(batch.words, batch.mask, self.cfg.word_dropout, self.dropout_generator)
        with mixed_precision(self.device, self.use_amp):
            loss = self.loss(batch, words)  # forward and loss
        if self.check_every_step and not math.isfinite(loss.item()):  # before the update spoils the weights
            raise self.non_finite(f"the loss is not finite ({loss.item()})", number)
        self.backward(loss)
        if self.cfg.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.clip)
        self.optimizer_step()
        if self.average is not None:
            self.average.update()
        self.at.epoch_loss += loss.detach() * len(batch.lengths)  # summed on the device: no sync per step on a GPU
        self.at.epoch_tokens += batch.num_tokens
        return loss

    def backward(self, loss: torch.Tensor) -> None:
        """The gradients of ``loss``, unscaled (float16 mixed precision scales the loss against underflow)."""
        if self.scaler is None:
            loss.backward()
            return
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)

    def optimizer_step(self) -> None:
        """Applies the gradients (the scaler skips a step whose gradients overflowed, and adapts its scale)."""
        if self.scaler is None:
            self.optimizer.step()
            return
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def end_epoch(self, lr: float) -> None:
        """Checks the epoch's loss and weights, scores the dev set, keeps the best weights, saves."""
        record = self.epoch_record(lr)
        self.model.eval()  # dropout off: dev scores and model selection must match inference
        with self.averaged():  # the weights scored and kept are the averaged ones
            report = self.evaluate(self.model) if self.evaluate is not None else None
            score = report.main_score if report is not None else float(self.at.epoch)
            if report is not None:
                record.update(dev_f1=report.f1, dev_precision=report.precision, dev_recall=report.recall, dev_accuracy=report.accuracy)
            record["elapsed_s"] = time.perf_counter() - self.started
            with self.signals.held():  # the epoch is recorded whole, or not at all
                improved = self.commit(record, report, score)
        for callback in self.callbacks:
            callback(record)
        self.save()
        self.log_epoch(record, report, score, improved)

    def epoch_record(self, lr: float) -> dict:
        """The finished epoch's training figures, once its loss and the weights are checked to be finite.

        Raises:
            TrainingError: the epoch's loss or the weights are not finite.
        """
        at = self.at
        loss = all_sum(at.epoch_loss, self.ranks).item() / len(self.train_set)  # every rank's sentences
        tokens = int(all_sum(torch.tensor(float(at.epoch_tokens), device=self.device), self.ranks).item())
        if not math.isfinite(loss):
            raise self.non_finite(f"the epoch's loss is not finite ({loss})")
        if not _all_finite(self.params):
            raise self.non_finite("the weights are not finite after its last step")
        return {
            "epoch": at.epoch,
            "lr": lr,
            "loss": loss,
            "train_tokens_per_s": tokens / max(at.epoch_seconds, 1e-9),
            "train_seconds": at.epoch_seconds,
            "threads": torch.get_num_threads(),
        }

    def log_epoch(self, record: dict, report: Optional[EvaluationReport], score: float, improved: bool) -> None:
        """The epoch's line: loss, learning rate, speed, dev score (``*`` when it is the best so far)."""
        dev = f"  dev {'acc' if report is not None and report.scheme == 'plain' else 'F1'} {score * 100:.2f}" if report is not None else ""
        self.log(
            f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  lr {record['lr']:.4g}  {record['train_tokens_per_s']:,.0f} tok/s"
            f"{dev}{'  *' if improved else ''}  ({record['elapsed_s']:.0f}s)"
        )

    def commit(self, record: dict, report: Optional[EvaluationReport], score: float) -> bool:
        """Records the finished epoch, moves on to the next and decides whether to stop there."""
        at, result, cfg = self.at, self.result, self.cfg
        improved = score > result.best_score
        if improved:
            result.best_score, result.best_epoch, result.best_report = score, at.epoch, report
            result.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            at.epochs_without_gain = 0
        else:
            at.epochs_without_gain += 1
        record["best"] = improved
        result.history.append(record)
        if self.evaluate is not None and at.epochs_without_gain >= cfg.patience:
            result.stopped_because = f"no dev improvement for {cfg.patience} epochs"
        elif cfg.max_minutes is not None and time.perf_counter() - self.started > cfg.max_minutes * 60:
            result.stopped_because = f"time limit of {cfg.max_minutes} minutes"
        at.epoch, at.step, at.batch_rng = at.epoch + 1, 0, self.rng.getstate()
        at.epoch_loss, at.epoch_tokens, at.epoch_seconds = torch.zeros((), device=self.device), 0, 0.0
        return improved

    def averaged(self) -> "contextlib.AbstractContextManager[None]":
        """The model holds its averaged weights inside the block (its own ones without averaging)."""
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    def non_finite(self, what: str, step: Optional[int] = None) -> TrainingError:
        where = f"epoch {self.at.epoch}, step {step}" if step is not None else f"epoch {self.at.epoch}"
        kept = "no checkpoint was written yet"
        if self.checkpoint is not None and self.on_disk is not None:
            epoch, at_step = self.on_disk
            moment = f"epoch {epoch}, step {at_step}" if at_step else (f"the end of epoch {epoch - 1}" if epoch > 1 else "the start")
            kept = f"the checkpoint of {moment} is kept in {self.checkpoint.directory}"
        return TrainingError(
            f"training stopped at {where}: {what}; lower the learning rate or look for extreme values in the data ({kept})"
        )

    # -- checkpoints ---------------------------------------------------------------------------

    def save(self) -> None:
        """Writes the checkpoint of the present state (a signal waits until it is written)."""
        if self.checkpoint is None:
            return
        with self.signals.held():
            self.checkpoint.save(self.state_json(), self.state_tensors())
            self.on_disk = (self.at.epoch, self.at.step)

    def save_on_interrupt(self) -> None:
        """Saves the run unless the interrupt tore a step or the state is no longer finite, and says how to resume."""
        if self.checkpoint is None:
            return
        if self.signals.torn or not (_all_finite(self.params) and math.isfinite(self.at.epoch_loss.item())):
            self.log(f"interrupted; the checkpoint in {self.checkpoint.directory} is the one of the last epoch (if any)")
            return
        self.save()
        self.log(
            f"interrupted at epoch {self.at.epoch}, step {self.at.step} of {self.steps_per_epoch}: checkpoint written to "
            f"{self.checkpoint.directory}; to continue, run the same command with --resume (tagger.train(..., resume=True))"
        )

    def state_json(self) -> Dict[str, Any]:
        at, result = self.at, self.result
        report = result.best_report.to_dict() if result.best_report is not None else None
        return {
            "epoch": at.epoch,
            "step": at.step,
            "steps_per_epoch": self.steps_per_epoch,
            "lr": lr_at(at.epoch - 1, self.base_lr, self.cfg.lr_decay),  # for the record: a pure function of the epoch
            "batch_rng": python_rng_json(at.batch_rng),
            "python_rng": python_rng_json(random.getstate()),
            "numpy_rng": numpy_rng_json(),
            "epoch_tokens": at.epoch_tokens,
            "epoch_seconds": at.epoch_seconds,
            "epochs_without_gain": at.epochs_without_gain,
            "elapsed_s": time.perf_counter() - self.started,
            "best_epoch": result.best_epoch,
            "best_score": result.best_score if result.best_epoch > 0 else None,
            "best_report": report,
            "history": result.history,
            "stopped_because": result.stopped_because,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "average_updates": self.average.updates if self.average is not None else None,
            "world_size": self.ranks.world_size,
        }

    def state_tensors(self) -> Dict[str, torch.Tensor]:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors.update({f"best.{k}": v for k, v in self.result.best_state.items()})
        tensors.update(optimizer_tensors(self.optimizer, self.params))
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.dropout"] = self.dropout_generator.get_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        tensors["epoch_loss"] = self.at.epoch_loss
        if self.average is not None:
            tensors.update({f"average.{k}": v for k, v in self.average.state_tensors().items()})
        return tensors

    def restore(self, saved: SavedRun) -> None:
        """Puts this run in the state ``saved`` holds, after checking all of it.

        Raises:
            TrainingError: a field of the wrong type or range, or a tensor of the wrong name or shape.
        """
        state = self.checked(saved)
        # Everything checked: now change the run.
        self.model.load_state_dict(state.weights)
        restore_optimizer(self.optimizer, state.optimizer)
        if self.average is not None:
            self.average.load(state.averages, state.average_updates)
        if self.scaler is not None:
            assert state.scaler is not None  # checked: a scaler's state exactly when the run has a scaler
            self.scaler.load_state_dict(state.scaler)
        self._set_rng_states(state.rngs)
        random.setstate(state.python_rng)
        np.random.set_state(state.numpy_rng)
        self.at, self.result = state.at, state.result
        self.on_disk = (state.at.epoch, state.at.step)

    def checked(self, saved: SavedRun) -> _SavedState:
        """Every part of ``saved``, checked against this run's model, optimiser and options; nothing is changed yet.

        Raises:
            TrainingError: a field of the wrong type or range, or a tensor of the wrong name or shape.
        """
        world_size = saved.state.get("world_size", 1)  # absent in the checkpoints of one process before it was recorded
        if world_size != self.ranks.world_size:
            raise saved.error(
                f"was written by a run of {world_size} process(es); resume it with as many (torchrun --nproc-per-node), "
                f"not {self.ranks.world_size}: each process's share of the batches depends on their number"
            )
        at = self.saved_progress(saved)
        result = self.saved_result(saved, at.epoch)
        weights = saved.weights("model", self.model.state_dict())
        optimizer = saved.optimizer_state(self.cfg.optimizer, self.params)
        rngs = {name: saved.tensor(f"rng.{name}", like) for name, like in self._rng_states().items()}
        averages = saved.weights("average", self.average.state_tensors()) if self.average is not None else {}
        average_updates = saved.integer("average_updates") if self.average is not None else 0
        if saved.untaken():
            raise saved.error(f"unexpected tensor(s) {', '.join(saved.untaken()[:3])}")
        python_rng, numpy_rng = saved.python_rng("python_rng"), saved.numpy_rng("numpy_rng")
        scaler = saved.state.get("scaler")
        if (scaler is None) != (self.scaler is None) or (scaler is not None and not _is_scaler_state(scaler)):
            raise saved.error("scaler state does not fit this run's mixed precision")
        return _SavedState(at, result, weights, optimizer, rngs, python_rng, numpy_rng, averages, average_updates, scaler)

    def saved_progress(self, saved: SavedRun) -> Progress:
        """How far the saved run had got (checked)."""
        epoch_loss = saved.tensor("epoch_loss", self.at.epoch_loss.cpu(), finite=True)
        return Progress(
            batch_rng=saved.python_rng("batch_rng"),
            epoch_loss=epoch_loss.to(self.device),
            epoch=saved.integer("epoch", 1),
            step=saved.integer("step", 0, self.steps_per_epoch),
            epoch_tokens=saved.integer("epoch_tokens"),
            epoch_seconds=saved.number("epoch_seconds"),
            epochs_without_gain=saved.integer("epochs_without_gain"),
            elapsed=saved.number("elapsed_s"),
        )

    def saved_result(self, saved: SavedRun, epoch: int) -> TrainResult:
        """The saved run's result so far, before its epoch ``epoch``: history, best epoch, its weights and report (checked)."""
        history = saved.history(epoch - 1)
        best_epoch = saved.integer("best_epoch", -1, epoch - 1)
        best_score = saved.number("best_score", optional=best_epoch < 1)
        best = saved.weights("best", self.model.state_dict()) if best_epoch >= 1 else {}
        report = saved.report()
        best_score = best_score if best_score is not None else -math.inf
        return TrainResult(best, best_epoch, best_score, report, history, 0.0, saved.text("stopped_because"))

    def _rng_states(self) -> Dict[str, torch.Tensor]:
        states = {"torch": torch.get_rng_state(), "dropout": self.dropout_generator.get_state()}
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        return states

    def _set_rng_states(self, states: Dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(states["torch"].clone())
        self.dropout_generator.set_state(states["dropout"].clone())
        if "cuda" in states:
            torch.cuda.set_rng_state(states["cuda"].clone(), self.device)


def _is_scaler_state(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and type(v) in (int, float) for k, v in value.items())
