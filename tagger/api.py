"""The library's two verbs: ``train`` a tagger on a DatasetDict and ``evaluate`` one on a dataset."""

from __future__ import annotations

import datetime
import json
import platform
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from tagger import __version__
from tagger.config import TaggerConfig, TrainConfig, split_options
from tagger.errors import ConfigError
from tagger.evaluation import EvaluationReport, evaluate_tags
from tagger.schemes import convert_labels, convert_tags, detect_scheme, normalize_scheme

TOKENS = "tokens"


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


def _plot_history(history: List[dict], path: Path, *, plain: bool) -> None:
    """training.png: training loss and dev score per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    figure, loss_axis = plt.subplots(figsize=(7, 4))
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
    plt.close(figure)


def train(
    dataset: Any,
    tag_column: str,
    out_dir: Union[str, Path],
    *,
    force: bool = False,
    progress: Optional[bool] = None,
    callbacks: Sequence[Callable[[dict], None]] = (),
    log: Optional[Callable[[str], None]] = None,
    **options: Any,
) -> "Tagger":  # noqa: F821 (imported lazily)
    """Trains a tagger on ``dataset['train']`` (early stopping on ``dataset['validation']`` when
    present), writes it to ``out_dir`` and returns it.

    Args:
        dataset: A ``datasets.DatasetDict`` from ``corpora.load_corpus`` (``tokens`` plus the tag column).
        tag_column: The column to learn, e.g. ``ner_tags`` or ``upos``.
        out_dir: The model directory to write (atomically; an existing model only with ``force``).
        progress: Show a progress bar per epoch (default: when stderr is a terminal).
        callbacks: Called after every epoch with its record.
        log: Receives one line per epoch and a summary (default: stderr).
        **options: Fields of TaggerConfig and TrainConfig (``cell``, ``hidden_size``, ``layers``,
            ``crf``, ``char_encoder``, ``embeddings``, ``lr``, ``optimizer``, ``batch_size``,
            ``max_epochs``, ``seed``, ``device``, ...). The defaults are the reference model.

    Returns:
        The trained Tagger, with the best dev epoch's weights.
    """
    import torch

    from tagger.batching import FormTable, encode_sentence
    from tagger.devices import resolve_device
    from tagger.inference import Tagger
    from tagger.model import SequenceTagger
    from tagger.schemes import allowed_transitions
    from tagger.serialization import check_writable, staging_dir, write_model_files
    from tagger.training import fit, seed_everything
    from tagger.vocab import PAD, UNK, Vocab, WordVocab, build_char_vocab

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    model_options, train_options = split_options(options)
    cfg = TrainConfig(**train_options)
    TaggerConfig(**model_options)  # validate the architecture options before any work
    if "train" not in dataset:
        raise ConfigError(f"the dataset has no 'train' split; splits: {', '.join(dataset)}")
    check_writable(out_dir, force)
    device = resolve_device(cfg.device)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)

    train_tokens = column_values(dataset["train"], TOKENS)
    train_tags, label_names = column_tags(dataset["train"], tag_column)
    corpus_scheme = detect_scheme(train_tags)
    output_labels = label_names or _ordered_labels(train_tags, corpus_scheme)
    training_scheme = _training_scheme(corpus_scheme, cfg.scheme)
    labels = Vocab(convert_labels(output_labels, corpus_scheme, training_scheme), reserved=False)
    dev_split = next((s for s in ("validation", "dev") if s in dataset), None)
    other_tokens = [tokens for name in dataset if name != "train" for tokens in column_values(dataset[name], TOKENS)]

    counts = Counter(t for tokens in train_tokens for t in tokens)
    lowercase = model_options.get("lowercase_words", TaggerConfig.lowercase_words)
    word_counts = Counter()
    for word, n in counts.items():
        word_counts[word.lower() if lowercase else word] += n
    frequent = [w for w, n in sorted(word_counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= cfg.min_count]
    rare = [w for w, n in word_counts.items() if n < cfg.min_count]
    vocab_words = [PAD, UNK] + frequent
    matrix = None
    if cfg.embeddings:
        from tagger.embeddings import build_matrix

        extra = rare + [t.lower() if lowercase else t for tokens in other_tokens for t in tokens]
        matrix = build_matrix(
            cfg.embeddings, vocab_words, extra_words=extra, max_vectors=cfg.max_vectors, format=cfg.embeddings_format, seed=cfg.seed
        )
        vocab_words = matrix.words
        model_options["word_dim"] = matrix.dim
        log(
            f"embeddings {cfg.embeddings}: {matrix.dim}d, {matrix.coverage() * 100:.1f}% of {len(frequent)} training words found "
            f"({', '.join(f'{k} {v}' for k, v in matrix.stats.items())})"
        )
    word_vocab = WordVocab(vocab_words, lowercase=lowercase)
    char_vocab = build_char_vocab(counts)
    config = TaggerConfig(
        **model_options,
        num_words=len(word_vocab),
        num_chars=len(char_vocab),
        num_tags=len(labels),
        training_scheme=training_scheme,
        output_scheme=corpus_scheme,
    )

    seed_everything(cfg.seed)
    constraints = allowed_transitions(labels.items, training_scheme) if config.crf else None
    model = SequenceTagger(config, constraints)
    if matrix is not None:
        model.set_word_vectors(torch.from_numpy(matrix.vectors))
        del matrix
    model.to(device)

    forms = FormTable(char_vocab)
    train_set = []
    for tokens, tags in zip(train_tokens, train_tags):
        if tokens:
            internal = convert_tags(tags, corpus_scheme, training_scheme) if training_scheme != corpus_scheme else tags
            train_set.append(encode_sentence(tokens, word_vocab, forms, labels.encode(internal)))
    if not train_set:
        raise ConfigError("the training split has no sentences")

    tagger = Tagger(model, word_vocab, char_vocab, labels, output_labels, cfg, {})
    evaluate_dev = None
    if dev_split is not None:
        dev_tokens = column_values(dataset[dev_split], TOKENS)
        dev_tags, _ = column_tags(dataset[dev_split], tag_column)
        _check_labels(dev_tags, output_labels, f"{dev_split} split")

        def evaluate_dev(_model: Any) -> EvaluationReport:
            return evaluate_tags(dev_tags, tagger.predict(dev_tokens, batch_size=cfg.eval_batch_size), corpus_scheme)

    log(
        f"training {config.cell} tagger ({'bi' if config.bidirectional else 'uni'}directional, {config.layers} layer(s), "
        f"{'CRF' if config.crf else 'softmax'}, char {config.char_encoder}) on {len(train_set)} sentences, "
        f"{len(labels)} labels ({corpus_scheme} -> {training_scheme}), {sum(p.numel() for p in model.parameters()):,} parameters, {device}"
    )
    with staging_dir(out_dir, force) as staging:
        metrics_path = staging / "metrics.jsonl"

        def write_metrics(record: dict) -> None:
            with metrics_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

        show_progress = sys.stderr.isatty() if progress is None else progress
        result = fit(model, train_set, forms, cfg, device, evaluate_dev, [write_metrics, *callbacks], show_progress, log)
        model.load_state_dict(result.best_state)
        tagger.model.eval()
        scores: Dict[str, Any] = {}
        if result.best_report is not None:
            scores[dev_split] = result.best_report.to_dict()
        if "test" in dataset:
            scores["test"] = evaluate(tagger, dataset["test"], tag_column).to_dict()
        tagger.meta = {
            "tagger_version": __version__,
            "torch_version": torch.__version__,
            "python": platform.python_version(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "corpus": {name: len(dataset[name]) for name in dataset},
            "tag_column": tag_column,
            "embeddings": cfg.embeddings,
            "best_epoch": result.best_epoch,
            "epochs": len(result.history),
            "stopped_because": result.stopped_because,
            "training_time_s": round(result.seconds, 1),
            "scores": scores,
        }
        write_model_files(staging, tagger.to_files())
        _plot_history(result.history, staging / "training.png", plain=corpus_scheme == "plain")
    log(
        f"best epoch {result.best_epoch} of {len(result.history)} ({result.stopped_because}); "
        + (f"dev {'accuracy' if corpus_scheme == 'plain' else 'F1'} {result.best_score * 100:.2f}; " if result.best_report else "")
        + f"model written to {out_dir}"
    )
    return tagger


def _check_labels(tag_lists: Sequence[Sequence[str]], known: Sequence[str], where: str, path: Optional[str] = None) -> None:
    """Refuse gold labels the model cannot predict (the scores would be meaningless).

    Raises:
        ConfigError: Naming the data (and its file), up to ten unknown labels and the model's labels.
    """
    unknown = sorted({t for tags in tag_lists for t in tags} - set(known))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
        raise ConfigError(f"{where} has label(s) the model does not know: {shown}; the model's labels: {', '.join(known)}", path)


def evaluate(
    model: Any,
    dataset: Any,
    tag_column: Optional[str] = None,
    *,
    split: Optional[str] = None,
    mode: str = "default",
    batch_size: int = 256,
    scheme: Optional[str] = None,
) -> EvaluationReport:
    """Scores a tagger on a labelled dataset: entity precision/recall/F1, or token accuracy for plain tags.

    The gold tags are read in their own scheme and converted to the one the model predicts in
    when the two differ (entity spans are the same in both), so a model trained on the Hub's IOB2
    CoNLL-2003 scores the same on the original IOB1 files. ``tagger evaluate`` calls this.

    Args:
        model: A Tagger or the path of a model directory.
        dataset: A ``datasets.Dataset``, or a DatasetDict (``split`` chooses; default validation, then test).
        tag_column: The gold column (default: the one the model was trained on, else ``tags``).
        split: The split of a DatasetDict to score.
        mode: ``default`` (conlleval-compatible) or ``strict``; see ``tagger.evaluation.evaluate_tags``.
        batch_size: Sentences per forward pass.
        scheme: The gold tags' scheme; default: as ``corpora.load_corpus`` recorded it, else detected.

    Returns:
        The report, in the model's scheme.

    Raises:
        ConfigError: No such split or column, or gold labels the model does not know.
    """
    from tagger.inference import Tagger

    tagger = model if isinstance(model, Tagger) else Tagger.load(model)
    if hasattr(dataset, "keys") and not hasattr(dataset, "features"):
        split = split or next((s for s in ("validation", "test", "train") if s in dataset), None)
        if split not in dataset:
            raise ConfigError(f"no split {split!r}; splits: {', '.join(dataset)}")
        dataset = dataset[split]
    tag_column = tag_column or tagger.meta.get("tag_column") or "tags"
    gold, _ = column_tags(dataset, tag_column)
    gold_scheme, path = _gold_source(dataset, tag_column, gold, scheme)
    if gold_scheme != tagger.scheme and "plain" not in (gold_scheme, tagger.scheme):
        gold = [convert_tags(tags, gold_scheme, tagger.scheme) for tags in gold]
    _check_labels(gold, tagger.labels, f"column {tag_column!r}", path)
    predicted = tagger.predict(column_values(dataset, TOKENS), batch_size=batch_size)
    return evaluate_tags(gold, predicted, tagger.scheme, mode)


def _gold_source(dataset: Any, tag_column: str, gold: Sequence[Sequence[str]], scheme: Optional[str]) -> Tuple[str, Optional[str]]:
    """The gold tags' scheme (given, recorded by ``load_corpus`` or detected) and the file they came from."""
    from corpora.hf import split_file, tag_scheme

    if scheme is None:
        try:
            scheme = tag_scheme(dataset, tag_column)
        except ConfigError:  # not from load_corpus, or a column it did not record
            scheme = detect_scheme(gold)
    return normalize_scheme(scheme), split_file(dataset)
