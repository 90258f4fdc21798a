"""The library's two verbs: ``train`` a tagger on a DatasetDict and ``evaluate`` one on a dataset.

``train`` reads top to bottom as its steps: the options, the labels, the vocabularies and the
embedding matrix, the contextual encoder, the model, the encoded training set and the dev data
(``_prepare``); then fitting with the dev evaluator and the metrics file (``_fit``), and the
model directory with its metadata and plot (``_write_model``). Each step is a function of its own.
"""

from __future__ import annotations

import contextlib
import datetime
import platform
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from tagger import __version__
from tagger.config import TaggerConfig, TrainConfig, split_options
from tagger.errors import ConfigError, OutputError, TrainingError
from tagger.evaluation import EvaluationReport, evaluate_tags
from tagger.schemes import convert_labels, convert_tags, detect_scheme, normalize_scheme

if TYPE_CHECKING:  # imported where used: torch loads only when training starts
    from tagger.inference import Tagger

TOKENS = "tokens"
DEV_SPLITS = ("validation", "dev")
"""The splits early stopping scores, the first one present."""

_Log = Callable[[str], None]  # a progress line's destination
_Record = Dict[str, Any]  # one epoch's metrics, as metrics.jsonl stores them


def column_values(split: Any, name: str) -> List[Any]:
    """A column as a plain Python list (``datasets`` 3+ returns a lazy Column for ``split[name]``)."""
    return split.select_columns([name])[:][name] if len(split) else []


def column_tags(split: Any, tag_column: str) -> Tuple[List[List[str]], Optional[List[str]]]:
    """Tag strings of ``tag_column`` and, for a ClassLabel column, its label names in order.

    Raises:
        ConfigError: the column does not exist or is not a sequence of tags.
    """
    if tag_column not in split.column_names:
        raise ConfigError(f"tag column {tag_column!r} not in the dataset; columns: {', '.join(split.column_names)}")
    if TOKENS not in split.column_names:
        raise ConfigError(f"the dataset has no {TOKENS!r} column; columns: {', '.join(split.column_names)}")
    feature = split.features[tag_column]
    inner = getattr(feature, "feature", None)
    values = column_values(split, tag_column)
    names = getattr(inner, "names", None)
    if names is not None:
        return [[names[i] for i in row] for row in values], list(names)
    if inner is None and not isinstance(feature, list):
        raise ConfigError(f"column {tag_column!r} is not a sequence of tags ({feature})")
    return [[str(t) for t in row] for row in values], None


def _ordered_labels(tag_lists: Sequence[Sequence[str]], scheme: str) -> List[str]:
    """Label names in a stable order when the dataset gives none: O first, then by type and prefix."""
    seen = {t for tags in tag_lists for t in tags}
    if scheme == "plain":
        return sorted(seen)
    return sorted(seen, key=lambda t: (t != "O", t[2:], t[:1]))


def _training_scheme(corpus_scheme: str, choice: str) -> str:
    if corpus_scheme == "plain" or choice == "same":
        return corpus_scheme
    return normalize_scheme(choice)


# --------------------------------------------------------------------------------- the run's pieces


@dataclass
class _Labels:
    """The training split's tags and the label sets derived from them."""

    tokens: List[List[str]]
    tags: List[List[str]]
    corpus_scheme: str  # the scheme of the corpus's tags
    training_scheme: str  # the scheme the model learns
    output_labels: List[str]  # the corpus's labels, in the order of its ClassLabel feature
    labels: Any  # Vocab of the labels in the training scheme


@dataclass
class _Vocabularies:
    """The word and character vocabularies, and the pretrained vectors of the word rows."""

    words: Any  # WordVocab
    chars: Any  # Vocab
    matrix: Any  # tagger.embeddings.EmbeddingMatrix of every word row, or None without a vector file
    trainable_rows: int  # the first rows (<pad>, <unk>, the frequent training words) are fine-tuned


@dataclass
class _Run:
    """Everything a training run needs, built from the dataset and the options before training starts."""

    cfg: TrainConfig
    config: TaggerConfig
    device: Any  # torch.device
    labels: _Labels
    tagger: Tagger  # around the network being trained
    train_set: List[Any]  # EncodedSentence
    forms: Any  # the FormTable of the training sentences
    dev_split: Optional[str]
    dev: Optional[Tuple[List[List[str]], List[List[str]]]]  # dev tokens and tags
    contextual: Any = None  # the FeatureCache of the contextual encoder (tagger.contextual), or None
    ranks: Any = None  # tagger.distributed.Ranks of a run torchrun started; None: one process


def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- the options


def _options(options: Dict[str, Any]) -> Tuple[TrainConfig, Dict[str, Any]]:
    """The TrainConfig and the architecture options of ``tagger.train``'s keyword options, all checked.

    Raises:
        ConfigError: an unknown option, a bad value, or ``contextual_dim`` (the encoder's size, not an option).
    """
    model_options, train_options = split_options(options)
    cfg = TrainConfig(**train_options)
    if "contextual_dim" in model_options:
        raise ConfigError("contextual_dim is the encoder's hidden size, not an option: give contextual (an encoder) instead")
    # Validate the architecture options before any work (the encoder's size is known once it is loaded).
    TaggerConfig(**model_options, contextual_dim=1 if model_options.get("contextual_layers") else 0)
    return cfg, model_options


# --------------------------------------------------------------------------------- labels and vocabularies


def _split_labels(dataset: Any, tag_column: str, cfg: TrainConfig) -> _Labels:
    """Reads the training split's tokens and tags and derives the labels in both schemes."""
    from tagger.vocab import Vocab

    tokens = column_values(dataset["train"], TOKENS)
    tags, label_names = column_tags(dataset["train"], tag_column)
    corpus_scheme = normalize_scheme(column_scheme(dataset["train"], tag_column, tags))
    output_labels = label_names or _ordered_labels(tags, corpus_scheme)
    training_scheme = _training_scheme(corpus_scheme, cfg.scheme)
    labels = Vocab(convert_labels(output_labels, corpus_scheme, training_scheme), reserved=False)
    return _Labels(tokens, tags, corpus_scheme, training_scheme, output_labels, labels)


def _training_words(token_counts: Counter[str], min_count: int, lowercase: bool) -> Tuple[List[str], List[str]]:
    """The words seen at least ``min_count`` times (most frequent first, ties in alphabetical order) and the rarer ones."""
    word_counts: Counter[str] = Counter()
    for word, n in token_counts.items():
        word_counts[word.lower() if lowercase else word] += n
    frequent = [w for w, n in sorted(word_counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    rare = [w for w, n in word_counts.items() if n < min_count]
    return frequent, rare


def _vocabularies(dataset: Any, train_tokens: List[List[str]], cfg: TrainConfig, lowercase: bool, log: _Log) -> _Vocabularies:
    """The word and character vocabularies, with the vector matrix of the word rows when ``cfg.embeddings`` names a file.

    The word rows: ``<pad>``, ``<unk>`` and the training words (at least ``min_count`` times),
    then, with a vector file, rows of pretrained words (see :func:`_embedding_matrix`).
    """
    from tagger.vocab import PAD, UNK, WordVocab, build_char_vocab

    token_counts = Counter(t for tokens in train_tokens for t in tokens)
    frequent, rare = _training_words(token_counts, cfg.min_count, lowercase)
    training_rows = [PAD, UNK] + frequent
    matrix = _embedding_matrix(dataset, training_rows, rare, cfg, lowercase) if cfg.embeddings else None
    if matrix is not None:
        log(
            f"embeddings {cfg.embeddings}: {matrix.dim}d, {matrix.coverage() * 100:.1f}% of {len(frequent)} training words found "
            f"({', '.join(f'{k} {v}' for k, v in matrix.stats.items())}); "
            f"{len(matrix.words) - len(training_rows)} more rows keep their pretrained vectors"
        )
    words = WordVocab(matrix.words if matrix is not None else training_rows, lowercase=lowercase)
    return _Vocabularies(words, build_char_vocab(token_counts), matrix, len(training_rows))


def _embedding_matrix(dataset: Any, training_rows: List[str], rare: List[str], cfg: TrainConfig, lowercase: bool) -> Any:
    """The vectors of ``training_rows`` and of more pretrained words from ``cfg.embeddings``.

    The more words: the rare training words the file has, and the file's first words
    (``max_vectors`` of them, by default as many as fit in ``MAX_FILE_VALUES`` numbers). Never the
    words of the data the model is evaluated on, unless ``vocab_from_eval_splits`` asks for the
    old transductive vocabulary.
    """
    from tagger import embeddings

    assert cfg.embeddings is not None, "called only with a vector file"
    extra = rare
    max_values = None if cfg.max_vectors is not None else embeddings.MAX_FILE_VALUES
    if cfg.vocab_from_eval_splits:
        other_tokens = [tokens for name in dataset if name != "train" for tokens in column_values(dataset[name], TOKENS)]
        extra = rare + [t.lower() if lowercase else t for tokens in other_tokens for t in tokens]
        max_values = None  # today's rows: the evaluation words, plus the file's first max_vectors words when given
    return embeddings.build_matrix(
        cfg.embeddings,
        training_rows,
        extra_words=extra,
        max_vectors=cfg.max_vectors,
        max_values=max_values,
        format=cfg.embeddings_format,
        seed=cfg.seed,
    )


# --------------------------------------------------------------------------------- contextual encoder, model


def _contextual_encoder(cfg: TrainConfig, layers: Optional[int], device: Any, allow_download: bool, log: _Log) -> Any:
    """The FeatureCache of ``cfg.contextual``'s encoder (None without one), keeping its last ``layers`` layers.

    Raises:
        ConfigError: ``contextual_layers`` without an encoder, or as ``tagger.contextual.load_encoder``.
    """
    if not cfg.contextual:
        if layers:
            raise ConfigError(f"contextual_layers {layers} needs contextual (a Hugging Face encoder: --contextual NAME_OR_PATH)")
        return None
    from tagger.contextual import FeatureCache, load_encoder

    encoder = load_encoder(cfg.contextual, layers=layers, pooling=cfg.contextual_pooling, device=device, allow_download=allow_download)
    info = encoder.description
    log(
        f"contextual features from {cfg.contextual} ({info['model_type']}, {info['hidden_size']}d, last {encoder.layers} of "
        f"{info['num_hidden_layers']} layers, {encoder.pooling} sub-token, windows of {encoder.max_positions} sub-tokens)"
    )
    return FeatureCache(encoder)


def _tagger_config(model_options: Dict[str, Any], vocabularies: _Vocabularies, labels: _Labels, contextual: Any) -> TaggerConfig:
    """The architecture: the options, with the sizes the vocabularies, the vectors and the encoder fix."""
    sizes: Dict[str, Any] = {}
    if vocabularies.matrix is not None:
        sizes["word_dim"] = vocabularies.matrix.dim
    if contextual is not None:
        sizes.update(contextual_dim=contextual.encoder.dim, contextual_layers=contextual.encoder.layers)
    return TaggerConfig(
        **{**model_options, **sizes},
        num_words=len(vocabularies.words),
        num_chars=len(vocabularies.chars),
        num_tags=len(labels.labels),
        training_scheme=labels.training_scheme,
        output_scheme=labels.corpus_scheme,
    )


def _build_model(config: TaggerConfig, labels: _Labels, vocabularies: _Vocabularies, seed: int, device: Any) -> Any:
    """The network, initialised from ``seed`` (which reseeds the global RNGs), with the pretrained vectors, on ``device``."""
    import torch

    from tagger.model import SequenceTagger
    from tagger.schemes import allowed_transitions
    from tagger.training import seed_everything

    seed_everything(seed)
    model = SequenceTagger(config, allowed_transitions(labels.labels.items, labels.training_scheme) if config.crf else None)
    if vocabularies.matrix is not None:
        # Only the training words' rows are fine-tuned: the other pretrained rows stay as the file has
        # them (a frozen buffer, no gradient nor optimiser state), so any word the file knows keeps
        # its vector at tagging time, and a 400k-row matrix costs a training step no more than 20k.
        model.set_word_vectors(torch.from_numpy(vocabularies.matrix.vectors), trainable_rows=vocabularies.trainable_rows)
    return model.to(device)


# --------------------------------------------------------------------------------- encoding, dev data


def _encode_training_set(labels: _Labels, word_vocab: Any, forms: Any) -> List[Any]:
    """The non-empty training sentences as ids, their tags converted to the training scheme.

    Raises:
        ConfigError: the training split has no sentences.
    """
    from tagger.batching import encode_sentence

    corpus, scheme = labels.corpus_scheme, labels.training_scheme
    train_set = []
    for tokens, tags in zip(labels.tokens, labels.tags):
        if tokens:
            internal = convert_tags(tags, corpus, scheme) if scheme != corpus else tags
            train_set.append(encode_sentence(tokens, word_vocab, forms, labels.labels.encode(internal)))
    if not train_set:
        raise ConfigError("the training split has no sentences")
    return train_set


def _dev_data(dataset: Any, tag_column: str, labels: _Labels) -> Tuple[Optional[str], Optional[Tuple[List[List[str]], List[List[str]]]]]:
    """The dev split's name and its tokens and tags (``(None, None)`` without one).

    Raises:
        ConfigError: the dev split has labels the training split does not.
    """
    dev_split = next((s for s in DEV_SPLITS if s in dataset), None)
    if dev_split is None:
        return None, None
    dev_tags, _ = column_tags(dataset[dev_split], tag_column)
    _check_labels(dev_tags, labels.output_labels, f"{dev_split} split")
    return dev_split, (column_values(dataset[dev_split], TOKENS), dev_tags)


def _prepare(
    dataset: Any, tag_column: str, cfg: TrainConfig, model_options: Dict[str, Any], device: Any, log: _Log, allow_download: bool
) -> _Run:
    """Everything before the first step, in order: labels, vocabularies and vectors, encoder, model, encoding, dev data.

    Raises:
        ConfigError: no training sentences, dev labels the training split does not have, or an encoder that cannot be loaded.
    """
    from tagger.batching import FormTable
    from tagger.inference import Tagger

    labels = _split_labels(dataset, tag_column, cfg)
    lowercase = model_options.get("lowercase_words", TaggerConfig.lowercase_words)
    vocabularies = _vocabularies(dataset, labels.tokens, cfg, lowercase, log)
    layers = model_options.get("contextual_layers")
    contextual = _contextual_encoder(cfg, layers, device, allow_download, log)  # before the seed: loading may draw numbers
    config = _tagger_config(model_options, vocabularies, labels, contextual)
    model = _build_model(config, labels, vocabularies, cfg.seed, device)
    forms = FormTable(vocabularies.chars)
    train_set = _encode_training_set(labels, vocabularies.words, forms)
    tagger = Tagger(model, vocabularies.words, vocabularies.chars, labels.labels, labels.output_labels, cfg, {}, contextual=contextual)
    dev_split, dev = _dev_data(dataset, tag_column, labels)
    return _Run(cfg, config, device, labels, tagger, train_set, forms, dev_split, dev, contextual)


def _describe(run: _Run) -> str:
    """The run's first line: the architecture, the data and the device."""
    config, labels, model = run.config, run.labels, run.tagger.model
    return (
        f"training {config.cell} tagger ({'bi' if config.bidirectional else 'uni'}directional, {config.layers} layer(s), "
        f"{'CRF' if config.crf else 'softmax'}, char {config.char_encoder}) on {len(run.train_set)} sentences, "
        f"{len(labels.labels)} labels ({labels.corpus_scheme} -> {labels.training_scheme}), "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, {run.device}"
    )


# --------------------------------------------------------------------------------- checkpoint


def _check_checkpoint(directory: Path, resume: bool, force: bool) -> None:
    """Refuses at once to start over a checkpoint, or to resume without one.

    Raises:
        OutputError: a checkpoint of an interrupted run is there and neither ``resume`` nor ``force`` was
            given, or something that is not a directory is where the checkpoint goes.
        TrainingError: ``resume`` without a checkpoint.
    """
    from tagger.checkpoint import CHECKPOINT_FILE

    if directory.exists() and not directory.is_dir():
        raise OutputError("is where the run's checkpoint directory goes but is not a directory; move it or choose another --out", directory)
    exists = (directory / CHECKPOINT_FILE).is_file()
    if exists and not (resume or force):
        raise OutputError(
            "holds the checkpoint of an interrupted run: pass --resume (resume=True) to continue it, "
            "or --force (force=True) to start afresh and replace it",
            directory,
        )
    if resume and not exists:
        raise TrainingError("no checkpoint to resume from (one is written at the end of every epoch and on Ctrl-C)", directory)


def _checkpoint(run: _Run, out_dir: Union[str, Path]) -> Any:
    """The run's Checkpoint beside ``out_dir``, knowing the configuration and a fingerprint of the data."""
    from tagger.checkpoint import Checkpoint, checkpoint_dir, data_fingerprint, run_identity

    tagger = run.tagger
    vocabularies = [tagger.word_vocab.items, tagger.char_vocab.items, run.labels.labels.items, run.labels.output_labels]
    fingerprint = data_fingerprint(run.train_set, run.forms.forms, vocabularies, run.dev)
    contextual = run.contextual.description if run.contextual is not None else None
    return Checkpoint(checkpoint_dir(out_dir), run_identity(run.config, run.cfg, run.device, fingerprint, contextual))


# --------------------------------------------------------------------------------- fitting


def _dev_evaluator(run: _Run) -> Optional[Callable[[Any], EvaluationReport]]:
    """Scores the dev set as ``tagger.evaluate`` would (the model as inference sees it); None without dev data."""
    if run.dev is None:
        return None
    dev_tokens, dev_tags = run.dev

    def evaluate_dev(_model: Any) -> EvaluationReport:
        return evaluate_tags(dev_tags, run.tagger.predict(dev_tokens, batch_size=run.cfg.eval_batch_size), run.labels.corpus_scheme)

    return evaluate_dev


def _metrics_writer(path: Path, done: List[_Record]) -> Callable[[_Record], None]:
    """Starts ``path`` with the records of the epochs already ``done`` (a resumed run's); the callback appends one more."""
    from tagger.files import dumps_json

    with path.open("w", encoding="utf-8") as f:
        f.writelines(dumps_json(record) + "\n" for record in done)

    def write_metrics(record: _Record) -> None:
        with path.open("a", encoding="utf-8") as f:
            f.write(dumps_json(record, source=path.name) + "\n")

    return write_metrics


def _contextual_features(run: _Run, progress: bool, log: _Log) -> Optional[List[Any]]:
    """The training sentences' contextual features (in ``run.train_set``'s order), computed once with the dev
    sentences', which the cache keeps for scoring the dev set every epoch; None without an encoder.
    """
    if run.contextual is None:
        return None
    import time

    started = time.perf_counter()
    sentences = [tokens for tokens in run.labels.tokens if tokens]  # the sentences _encode_training_set kept
    features: List[Any] = run.contextual.features(sentences + (run.dev[0] if run.dev is not None else []), progress)[: len(sentences)]
    log(
        f"contextual features of {len(run.contextual.memo):,} distinct sentences in {time.perf_counter() - started:.0f}s, "
        f"{run.contextual.nbytes() / 2**20:,.0f} MiB kept in memory"
    )
    return features


def _fit(
    run: _Run,
    checkpoint: Any,
    resume: bool,
    metrics_path: Path,
    callbacks: Sequence[Callable[[_Record], None]],
    progress: Optional[bool],
    log: _Log,
) -> Any:
    """Trains (or resumes) the run, appending each epoch's record to ``metrics_path``; returns the TrainResult."""
    from tagger import training

    saved = checkpoint.load() if resume else None
    done = saved.history(saved.integer("epoch", 1) - 1) if saved is not None else []
    metrics = [_metrics_writer(metrics_path, done), *callbacks]
    show_progress = sys.stderr.isatty() if progress is None else progress
    features = _contextual_features(run, show_progress, log)
    main = run.ranks is None or run.ranks.main
    return training.fit(
        run.tagger.model,
        run.train_set,
        run.forms,
        run.cfg,
        run.device,
        _dev_evaluator(run),
        metrics,
        show_progress and main,
        log,
        checkpoint if main else None,  # rank 0 alone writes it; every rank resumes from it
        saved,
        features,
        run.ranks,
    )


# --------------------------------------------------------------------------------- metadata, plot, writing


def _meta(run: _Run, dataset: Any, tag_column: str, result: Any, scores: Dict[str, Any]) -> Dict[str, Any]:
    """meta.json: versions, the corpus, the run's course (processes included) and its scores."""
    import torch

    from tagger.distributed import SINGLE

    ranks = run.ranks or SINGLE
    return {
        "tagger_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "corpus": {name: len(dataset[name]) for name in dataset},
        "tag_column": tag_column,
        "embeddings": run.cfg.embeddings,
        "best_epoch": result.best_epoch,
        "epochs": len(result.history),
        "stopped_because": result.stopped_because,
        "training_time_s": round(result.seconds, 1),
        "distributed": {"world_size": ranks.world_size, "backend": ranks.backend},
        "scores": scores,
    }


def _plot_history(history: List[_Record], path: Path, *, plain: bool) -> None:
    """training.png: training loss and dev score per epoch.

    Drawn with matplotlib's object API on an Agg canvas of its own: pyplot and the process-wide
    backend (which a caller may have chosen) are left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    figure = Figure(figsize=(7, 4))
    FigureCanvasAgg(figure)
    loss_axis = figure.subplots()
    loss_axis.plot(epochs, [r["loss"] for r in history], color="tab:blue", marker="o", label="train loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("train loss", color="tab:blue")
    if any("dev_f1" in r for r in history):
        score_axis = loss_axis.twinx()
        key = "dev_accuracy" if plain else "dev_f1"
        score_axis.plot(epochs, [r.get(key, float("nan")) * 100 for r in history], color="tab:red", marker="s", label="dev")
        score_axis.set_ylabel("dev accuracy" if key == "dev_accuracy" else "dev F1", color="tab:red")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _best_weights(run: _Run, result: Any) -> None:
    """Puts the best epoch's weights into the run's tagger, in eval mode.

    Raises:
        TrainingError: the best weights are not finite (such a model is never written).
    """
    import torch

    if not all(bool(torch.isfinite(t).all()) for t in result.best_state.values() if t.is_floating_point()):
        raise TrainingError("the trained weights are not finite; no model was written")
    run.tagger.model.load_state_dict(result.best_state)
    run.tagger.model.eval()


def _write_model(run: _Run, result: Any, dataset: Any, tag_column: str, staging: Path) -> None:
    """Loads the best weights, scores the test split and writes the model files and the plot into ``staging``.

    Raises:
        TrainingError: the best weights are not finite (such a model is never written).
    """
    from tagger.serialization import write_model_files

    _best_weights(run, result)
    scores: Dict[str, Any] = {}
    if result.best_report is not None:
        assert run.dev_split is not None  # a best report is a dev split's
        scores[run.dev_split] = result.best_report.to_dict()
    if "test" in dataset:
        scores["test"] = evaluate(run.tagger, dataset["test"], tag_column).to_dict()
    run.tagger.meta = _meta(run, dataset, tag_column, result, scores)
    write_model_files(staging, run.tagger.to_files())
    _plot_history(result.history, staging / "training.png", plain=run.labels.corpus_scheme == "plain")


def _summary(run: _Run, result: Any, out_dir: Union[str, Path]) -> str:
    """The last line of a run: the best epoch, its dev score and where the model went."""
    dev = ""
    if result.best_report:
        dev = f"dev {'accuracy' if run.labels.corpus_scheme == 'plain' else 'F1'} {result.best_score * 100:.2f}; "
    return f"best epoch {result.best_epoch} of {len(result.history)} ({result.stopped_because}); {dev}model written to {out_dir}"


# --------------------------------------------------------------------------------- train


def train(
    dataset: Any,
    tag_column: str,
    out_dir: Union[str, Path],
    *,
    force: bool = False,
    resume: bool = False,
    progress: Optional[bool] = None,
    callbacks: Sequence[Callable[[Dict[str, Any]], None]] = (),
    log: Optional[Callable[[str], None]] = None,
    allow_download: bool = False,
    **options: Any,
) -> Tagger:
    """Trains a tagger on ``dataset['train']``, writes it to ``out_dir`` and returns it.

    Training stops early on ``dataset['validation']`` when there is one.

    The run is checkpointed in ``<out_dir>.checkpoint`` at the end of every epoch and on Ctrl-C or
    SIGTERM; the checkpoint is removed once the model is written. The process is left as it was
    found: the global random states (Python's, NumPy's, torch's), torch's thread count, the signal
    handlers and matplotlib's backend.

    Args:
        dataset: A ``datasets.DatasetDict`` from ``corpora.load_corpus`` (``tokens`` plus the tag column).
        tag_column: The column to learn, e.g. ``ner_tags`` or ``upos``.
        out_dir: The model directory to write (atomically; an existing model only with ``force``).
        force: Replace an existing model in ``out_dir`` (and start afresh over a checkpoint).
        resume: Continue the interrupted run checkpointed beside ``out_dir`` (same options and data);
            it reaches the weights the uninterrupted run would have (bit for bit on CPU).
        progress: Show a progress bar per epoch (default: when stderr is a terminal).
        callbacks: Called after every epoch with its record.
        log: Receives one line per epoch and a summary (default: stderr).
        allow_download: Let ``contextual`` name a Hugging Face Hub encoder that is not in the local
            cache (it is downloaded); without it nothing is ever downloaded.
        **options: Fields of TaggerConfig and TrainConfig (``cell``, ``hidden_size``, ``layers``,
            ``crf``, ``char_encoder``, ``embeddings``, ``lr``, ``optimizer``, ``batch_size``,
            ``max_epochs``, ``seed``, ``device``, ...). The defaults are the reference model.
            ``contextual`` (a local directory or Hub name of an encoder), ``contextual_layers`` (default
            4, at most the encoder's) and ``contextual_pooling`` (``first`` or ``mean``) add contextual
            features: the encoder's frozen hidden states, pooled per word, computed once per sentence.

    Returns:
        The trained Tagger, with the best dev epoch's weights.

    Raises:
        TrainingError: a non-finite loss (the last checkpoint is kept), or a checkpoint that does
            not belong to this run.
    """
    from tagger import distributed
    from tagger.checkpoint import checkpoint_dir
    from tagger.devices import resolve_device
    from tagger.serialization import check_writable
    from tagger.signals import terminate_raises
    from tagger.training import global_rngs_restored

    cfg, model_options = _options(options)
    if "train" not in dataset:
        raise ConfigError(f"the dataset has no 'train' split; splits: {', '.join(dataset)}")
    ranks = distributed.ranks_from_environment()  # several processes when torchrun started this one
    log, callbacks = ((log or _stderr_log), callbacks) if ranks.main else (_silent, ())  # rank 0 speaks for the run
    if ranks.main:
        check_writable(out_dir, force)
    device = distributed.device_for(resolve_device(cfg.device), ranks)
    with distributed.process_group(ranks, device) as ranks:
        with terminate_raises(), global_rngs_restored(device), _output_dir(out_dir, force, ranks) as staging:
            if ranks.main:
                _check_checkpoint(checkpoint_dir(out_dir), resume, force)
            run = _prepare(dataset, tag_column, cfg, model_options, device, log, allow_download)
            run.ranks = ranks
            checkpoint = _checkpoint(run, out_dir)
            log(_describe(run))
            try:
                result = _fit(run, checkpoint, resume, staging / "metrics.jsonl", callbacks, progress, log)
                try:
                    _write_model(run, result, dataset, tag_column, staging)
                except KeyboardInterrupt:
                    log(f"interrupted after training; the finished run is in {checkpoint.directory}: add --resume to write its model")
                    raise
            finally:
                if run.contextual is not None:  # the returned tagger computes features afresh; the training cache is let go
                    run.tagger.contextual = run.contextual.encoder
        if ranks.main:
            checkpoint.remove()
        distributed.barrier(ranks)  # the other ranks return once rank 0 has written the model
    log(_summary(run, result, out_dir))
    return run.tagger


def _silent(line: str) -> None:
    """The log of a rank other than 0."""


def _output_dir(out_dir: Union[str, Path], force: bool, ranks: Any) -> "contextlib.AbstractContextManager[Path]":
    """Where the model is written: ``out_dir``'s staging directory on rank 0, a scratch directory on the others."""
    from tagger.serialization import staging_dir

    return staging_dir(out_dir, force) if ranks.main else _scratch_dir()


@contextlib.contextmanager
def _scratch_dir() -> Iterator[Path]:
    """Where a rank other than 0 writes the files it never publishes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tagger-rank-") as scratch:
        yield Path(scratch)


# --------------------------------------------------------------------------------- evaluate


def _check_labels(tag_lists: Sequence[Sequence[str]], known: Sequence[str], where: str, path: Optional[str] = None) -> None:
    """Refuse gold labels the model cannot predict (the scores would be meaningless).

    Raises:
        ConfigError: Naming the file (else ``where``), up to ten unknown labels and the model's labels.
    """
    unknown = sorted({t for tags in tag_lists for t in tags} - set(known))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
        what = "label(s) the model does not know" if path else f"{where} has label(s) the model does not know"
        raise ConfigError(f"{what}: {shown}; the model's labels: {', '.join(known)}", path)


def evaluate(
    model: Any,
    dataset: Any,
    tag_column: Optional[str] = None,
    *,
    split: Optional[str] = None,
    mode: str = "default",
    batch_size: int = 256,
    scheme: Optional[str] = None,
    engine: str = "auto",
    device: str = "auto",
    predictions: Optional[str] = None,
) -> EvaluationReport:
    """Scores a tagger on a labelled dataset: entity precision/recall/F1, or token accuracy for plain tags.

    The gold tags are read in their own scheme and converted to the one the model predicts in
    when the two differ (entity spans are the same in both), so a model trained on the Hub's IOB2
    CoNLL-2003 scores the same on the original IOB1 files. ``tagger evaluate`` calls this.
    A path is loaded with ``tagger.load`` and the same ``engine`` and ``device`` rule as ``tagger
    tag``, so the score is that of the engine that tags the user's text.

    Args:
        model: A loaded tagger of any engine (``tagger.load``), or a model directory or ``.onnx`` file.
        dataset: A ``datasets.Dataset``, or a DatasetDict (``split`` chooses; default validation, then test).
        tag_column: The gold column (default: the one the model was trained on, else ``tags``).
        split: The split of a DatasetDict to score.
        mode: ``default`` (conlleval-compatible) or ``strict``; see ``tagger.evaluation.evaluate_tags``.
        batch_size: Sentences per forward pass.
        scheme: The gold tags' scheme; default: as ``corpora.load_corpus`` recorded it, else detected.
        engine: auto | torch | numpy | onnx, for a ``model`` given as a path (see ``tagger.engines.choose_engine``).
        device: auto | cpu | cuda | cuda:N, for a ``model`` given as a path.
        predictions: A column of this model's predictions made already (``tagger.datasets_map``'s
            ``add_predictions`` or ``DatasetTagger`` under ``Dataset.map``: label strings or ClassLabel
            ids), scored as it is instead of tagging the tokens again.

    Returns:
        The report, in the model's scheme.

    Raises:
        ConfigError: No such split or column, or gold labels (or predictions) the model does not know.
    """
    from tagger.engines import load
    from tagger.tagging import TaggerBase

    tagger = model if isinstance(model, TaggerBase) else load(model, engine=engine, device=device)
    dataset = _split_to_score(dataset, split)
    tag_column = tag_column or tagger.meta.get("tag_column") or "tags"
    gold, _ = column_tags(dataset, tag_column)
    gold_scheme, path = _gold_source(dataset, tag_column, gold, scheme)
    if gold_scheme != tagger.scheme and "plain" not in (gold_scheme, tagger.scheme):
        gold = [convert_tags(tags, gold_scheme, tagger.scheme) for tags in gold]
    _check_labels(gold, tagger.labels, f"column {tag_column!r}", path)
    if predictions is None:
        predicted = tagger.predict(column_values(dataset, TOKENS), batch_size=batch_size)
    else:
        predicted, _ = column_tags(dataset, predictions)
        _check_labels(predicted, tagger.labels, f"column {predictions!r}")
    return evaluate_tags(gold, predicted, tagger.scheme, mode)


def _split_to_score(dataset: Any, split: Optional[str]) -> Any:
    """``dataset`` itself, or its split ``split`` of a DatasetDict (default validation, then test, then train).

    Raises:
        ConfigError: No such split.
    """
    if not hasattr(dataset, "keys") or hasattr(dataset, "features"):
        return dataset
    split = split or next((s for s in ("validation", "test", "train") if s in dataset), None)
    if split not in dataset:
        raise ConfigError(f"no split {split!r}; splits: {', '.join(dataset)}")
    return dataset[split]


def _gold_source(dataset: Any, tag_column: str, gold: Sequence[Sequence[str]], scheme: Optional[str]) -> Tuple[str, Optional[str]]:
    """The gold tags' scheme (given, recorded by ``load_corpus`` or detected) and the file they came from."""
    from tagger.provenance import split_file

    return normalize_scheme(scheme or column_scheme(dataset, tag_column, gold)), split_file(dataset)


def column_scheme(dataset: Any, tag_column: str, tags: Sequence[Sequence[str]]) -> str:
    """The scheme of a tag column: as ``load_corpus`` recorded it (over all the files), else detected from ``tags``."""
    from tagger.provenance import tag_scheme

    try:
        return tag_scheme(dataset, tag_column)
    except ConfigError:  # not from load_corpus, or a column it did not record
        return detect_scheme(tags)
