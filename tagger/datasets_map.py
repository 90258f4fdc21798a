"""Predicted tags as a column of a Hugging Face dataset: a function for ``Dataset.map(batched=True)``.

``DatasetTagger`` is what ``map`` calls; ``add_predictions`` calls ``map`` with it and with the
features that keep the dataset's ``ClassLabel``. With ``num_proc=N`` ``datasets`` pickles the
function into every worker: only the model's path and the options travel, and each worker loads
the model once, on its first batch, and keeps it. The function hashes (``datasets``' fingerprint
of the map, hence its cache) by those options and by the model files' size and modification time,
as ``corpora.load_corpus`` fingerprints a corpus, so an identical map is read from the cache and a
retrained model is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from tagger.errors import ConfigError

if TYPE_CHECKING:
    from tagger.tagging import TaggerBase

PREDICTIONS = "predictions"
TOKENS = "tokens"

_STATE = ("model", "tokens_column", "output_column", "names", "engine", "device", "batch_size", "stamp")


def label_names(feature: Any) -> Optional[List[str]]:
    """The names of a ``ClassLabel`` or of a ``Sequence(ClassLabel)`` (None for any other feature)."""
    inner = getattr(feature, "feature", feature)
    if isinstance(inner, list) and len(inner) == 1:  # datasets' list form of a sequence: [ClassLabel]
        inner = inner[0]
    names = getattr(inner, "names", None)
    return list(names) if names is not None else None


def _stamp(path: Path) -> Tuple[Tuple[str, int, int], ...]:
    """What identifies a model's files for a fingerprint: each file's name, size and modification time."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)


class DatasetTagger:
    """A function for ``Dataset.map(batched=True)`` that adds a column of predicted tags.

    Args:
        model: A model directory (or an ``.onnx`` file), loaded here with ``tagger.load``.
        tokens_column: The column of tokenised sentences.
        output_column: The column to write.
        labels: Write ``ClassLabel`` ids by these names (a list, a ``ClassLabel`` or a
            ``Sequence(ClassLabel)``, e.g. the dataset's gold feature) instead of label strings.
        engine: auto | torch | numpy | onnx.
        device: auto | cpu | cuda | cuda:N.
        batch_size: Sentences per forward pass.

    Raises:
        ModelFileError: A missing or bad model.
        ConfigError: A bad engine, device or batch size, or ``labels`` that are not label names.

    Example:
        >>> dataset.map(DatasetTagger("models/ner"), batched=True, num_proc=2)["predictions"][0]
        ['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'O']
    """

    def __init__(
        self,
        model: Union[str, "os.PathLike[str]"],
        *,
        tokens_column: str = TOKENS,
        output_column: str = PREDICTIONS,
        labels: Any = None,
        engine: str = "auto",
        device: str = "auto",
        batch_size: int = 256,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        names = labels if labels is None or isinstance(labels, (list, tuple)) else label_names(labels)
        if labels is not None and (names is None or not all(isinstance(name, str) for name in names)):
            raise ConfigError(f"labels must be label names, a ClassLabel or a Sequence(ClassLabel), got {labels!r}")
        self.model = os.path.abspath(os.fspath(model))
        self.tokens_column = tokens_column
        self.output_column = output_column
        self.engine = engine
        self.device = device
        self.batch_size = batch_size
        self._tagger: Optional[TaggerBase] = None
        self._use_labels(names)
        self._loaded()  # a bad model fails here, not in every worker
        self.stamp = _stamp(Path(self.model))

    def _use_labels(self, names: Optional[Sequence[str]]) -> None:
        self.names = None if names is None else list(names)
        self._ids = None if names is None else {name: i for i, name in enumerate(names)}

    def _loaded(self) -> "TaggerBase":
        if self._tagger is None:
            from tagger import engines

            self._tagger = engines.load(self.model, engine=self.engine, device=self.device)
        return self._tagger

    @property
    def tagger(self) -> "TaggerBase":
        """The loaded tagger (loaded in this process on first use)."""
        return self._loaded()

    def __call__(self, batch: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
        """The predictions of a batch of rows: ``{output_column: [tags per sentence]}``.

        Raises:
            ConfigError: No tokens column, or a predicted label that is not one of ``labels``.
        """
        if self.tokens_column not in batch:
            raise ConfigError(f"no column {self.tokens_column!r} to tag; columns: {', '.join(batch)}")
        predicted = self._loaded().predict(batch[self.tokens_column], batch_size=self.batch_size)
        if self._ids is None:
            return {self.output_column: predicted}
        return {self.output_column: [self._encode(tags) for tags in predicted]}

    def _encode(self, tags: Sequence[str]) -> List[int]:
        assert self._ids is not None
        try:
            return [self._ids[tag] for tag in tags]
        except KeyError as error:
            raise ConfigError(
                f"the model predicted {error.args[0]!r}, which is not one of the column's labels ({', '.join(self._ids)});"
                " map without labels to get label strings"
            ) from None

    def features(self, features: Any) -> Any:
        """``features`` with the output column added (``Sequence(ClassLabel)`` with labels, else strings), for ``map``."""
        import datasets

        inner = datasets.Value("string") if self.names is None else datasets.ClassLabel(names=self.names)
        return datasets.Features({**features, self.output_column: datasets.Sequence(inner)})

    def __getstate__(self) -> Dict[str, Any]:
        """The model's path, its files' stamp and the options, never the loaded model: what is pickled and what is hashed."""
        return {key: getattr(self, key) for key in _STATE}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """Restores the options; the model loads on the first batch."""
        self.__dict__.update(state)
        self._tagger = None
        self._use_labels(state["names"])


def add_predictions(
    dataset: Any,
    model: Union[str, "os.PathLike[str]"],
    *,
    tag_column: Optional[str] = None,
    output_column: str = PREDICTIONS,
    tokens_column: str = TOKENS,
    engine: str = "auto",
    device: str = "auto",
    batch_size: int = 256,
    num_proc: Optional[int] = None,
    **map_options: Any,
) -> Any:
    """A ``Dataset`` or ``DatasetDict`` with a column of predicted tags (``Dataset.map`` with ``DatasetTagger``).

    The predictions are ``ClassLabel`` ids of the dataset's own feature when the tag column is a
    ``Sequence(ClassLabel)``, label strings otherwise.

    Args:
        dataset: A ``Dataset`` or ``DatasetDict`` (e.g. from ``corpora.load_corpus``).
        model: A model directory or an ``.onnx`` file.
        tag_column: The gold column whose labels the predictions take; default the model's
            training column when the dataset has it, else the dataset's default from ``load_corpus``.
        output_column: The column to add.
        tokens_column: The column of tokenised sentences.
        engine: auto | torch | numpy | onnx.
        device: auto | cpu | cuda | cuda:N.
        batch_size: Sentences per forward pass.
        num_proc: Worker processes for ``map`` (each loads the model once).
        **map_options: More options of ``Dataset.map`` (``cache_file_name``, ``load_from_cache_file``, ...; its
            rows per call stay at its default 1000: ``batch_size`` here is the forward pass's).

    Returns:
        The mapped dataset.

    Raises:
        ConfigError: No such tag column, a predicted label the column does not have, or bad options.
        ModelFileError: A missing or bad model.
    """
    first = next(iter(dataset.values())) if hasattr(dataset, "values") and not hasattr(dataset, "features") else dataset
    tagger = DatasetTagger(
        model, tokens_column=tokens_column, output_column=output_column, engine=engine, device=device, batch_size=batch_size
    )
    column = tag_column or _default_tag_column(first, tagger.tagger)
    if column is not None:
        if column not in first.features:
            raise ConfigError(f"tag column {column!r} not in the dataset; columns: {', '.join(first.features)}")
        tagger._use_labels(label_names(first.features[column]))
    return dataset.map(tagger, batched=True, num_proc=num_proc, features=tagger.features(first.features), **map_options)


def _default_tag_column(dataset: Any, tagger: "TaggerBase") -> Optional[str]:
    from tagger.provenance import default_tag_column

    trained_on = tagger.meta.get("tag_column")
    if trained_on in dataset.features:
        return str(trained_on)
    try:
        return default_tag_column(dataset)
    except ConfigError:
        return None
