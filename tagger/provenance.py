"""What ``corpora.load_corpus`` records in a dataset about where it came from (no ``datasets`` import).

The record is one line of JSON in each split's ``info.description`` (``tagger-corpus: {...}``):
the default tag column, each tag column's scheme in the files and after loading, the file of
each split, and how many sentences were repaired. It travels with the dataset through
``datasets``' own caching, so a model trained or scored on it knows the scheme it was read in.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from tagger.errors import ConfigError

MARKER = "tagger-corpus: "


def describe(text: str, record: Mapping[str, Any]) -> str:
    """``text`` followed by the record's line, for a split's ``info.description``."""
    return f"{text}\n{MARKER}{json.dumps(record, sort_keys=True)}"


def _splits(dataset: Any) -> List[Any]:
    """The splits of a DatasetDict (any mapping of splits), or [dataset] for a single Dataset."""
    return list(dataset.values()) if isinstance(dataset, Mapping) else [dataset]  # a DatasetDict is a dict


def read_record(dataset: Any) -> Dict[str, Any]:
    """The record of a ``Dataset`` or ``DatasetDict`` from ``load_corpus``.

    Raises:
        ConfigError: the dataset was not loaded by ``load_corpus``.
    """
    splits = _splits(dataset)
    description = (getattr(getattr(splits[0], "info", None), "description", None) or "") if splits else ""
    for line in description.splitlines():
        if line.startswith(MARKER):
            record = json.loads(line[len(MARKER) :])
            if isinstance(record, dict):
                return record
    raise ConfigError("this dataset was not loaded by corpora.load_corpus: its tag schemes are not recorded")


def _scheme_of(dataset: Any, column: Optional[str], key: str) -> str:
    record = read_record(dataset)
    column = column or record["tag_column"]
    if column not in record[key]:
        raise ConfigError(f"no tag scheme recorded for column {column!r}; tag columns: {', '.join(record[key])}")
    return str(record[key][column])


def source_scheme(dataset: Any, column: Optional[str] = None) -> str:
    """The tag scheme a column had in the corpus files (e.g. ``IOB1`` for CoNLL-2003 NER).

    Args:
        dataset: A ``Dataset`` or ``DatasetDict`` from ``load_corpus``.
        column: The tag column; default the corpus's default tag column.

    Returns:
        One of ``tagger.schemes.SCHEMES``.

    Raises:
        ConfigError: Not from ``load_corpus``, or not a tag column.
    """
    return _scheme_of(dataset, column, "source_schemes")


def tag_scheme(dataset: Any, column: Optional[str] = None) -> str:
    """The tag scheme a column has in the dataset (e.g. ``IOB2`` for CoNLL-2003 NER after loading).

    Args:
        dataset: A ``Dataset`` or ``DatasetDict`` from ``load_corpus``.
        column: The tag column; default the corpus's default tag column.

    Returns:
        One of ``tagger.schemes.SCHEMES``.

    Raises:
        ConfigError: Not from ``load_corpus``, or not a tag column.
    """
    return _scheme_of(dataset, column, "schemes")


def default_tag_column(dataset: Any) -> str:
    """The column a tagger should train on by default (``ner_tags``, ``upos``, ``tags``, ...)."""
    return str(read_record(dataset)["tag_column"])


def split_file(dataset: Any) -> Optional[str]:
    """The file a split (a ``Dataset`` from ``load_corpus``) was read from, or None when unknown."""
    try:
        files = read_record(dataset).get("files", {})
    except ConfigError:
        return None
    split = getattr(dataset, "split", None)
    return files.get(str(split)) if split is not None else None


def repair_counts(dataset: Any) -> Dict[str, Dict[str, int]]:
    """How many sentences ``load_corpus`` repaired, per split and tag column (``repair_tags``).

    Args:
        dataset: A ``Dataset`` or ``DatasetDict`` from ``load_corpus``.

    Returns:
        Split -> column -> number of sentences whose tags were repaired (0 when all were valid;
        empty for a corpus from the Hub, which is not checked).

    Raises:
        ConfigError: Not from ``load_corpus``.
    """
    return {split: dict(columns) for split, columns in read_record(dataset).get("repaired", {}).items()}
