"""Hugging Face ``datasets`` loader: local corpus files -> ``DatasetDict`` with the Hub's features.

``load_corpus`` builds each split with ``Dataset.from_generator`` over the streaming readers, so
the result is an ordinary Arrow-backed dataset (``map``, ``to_pandas``, caching and
``push_to_hub`` work). The cache fingerprint covers the file's absolute path, size and
modification time and every option that changes the output, so an edited file is read again.

Known corpora (``KNOWN_CORPORA``) get the features of their Hub versions, label order included;
CoNLL-2003's IOB1 NER and chunk columns are converted to IOB2, as the Hub's copy is. Any other
file gets ``tokens`` and ``tags`` with label names inferred from the data. The tag schemes (as in
the files and as returned) are recorded in ``dataset.info.description`` and read back by
``source_scheme`` and ``tag_scheme``.

Gold entity tags are checked against the file's scheme at every load, cached copy or not (an
uncached pass reads the tag columns; it costs about a quarter of a second on CoNLL-2003's
training file): a sequence the scheme forbids (``B-LOC I-LOC O`` in IOBES, or an IOB2 file
mixed with IOBES sentences) raises ``InvalidTagSequence`` naming the file and line, unless
``repair_tags=True``, which reads it the conlleval way (``tagger.schemes.repair_tags``) and
counts the sentences so repaired (``repair_counts``). Known corpora are repaired by default, as
their Hub copies are (CoNLL-2003's training file has two IOB1 slips).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Sequence, Union
from urllib.parse import urlparse

from tagger import schemes
from tagger.corpora.columns import MAX_SENTENCE_LENGTH, Sentence, check_file, read_columns
from tagger.corpora.conllu import CONLLU_COLUMNS, read_conllu
from tagger.corpora.detect import detect_format, normalize_format, read_sentences
from tagger.corpora.schemas import KNOWN_CORPORA, UD_FEATURE_COLUMNS, CorpusSchema
from tagger.errors import ConfigError, CorpusFormatError, InvalidTagSequence, TaggerError
from tagger.provenance import default_tag_column, describe, repair_counts, source_scheme, split_file, tag_scheme  # noqa: F401 (corpora's API)

if TYPE_CHECKING:  # pragma: no cover
    import datasets

# Bump when the generated examples change for the same inputs, to invalidate cached Arrow files.
_CACHE_VERSION = "2"  # 2: repair_tags
_HUB_PROBE_TIMEOUT_S = 3.0
_SPLIT_NAME = re.compile(r"\w+(\.\w+)*")
_REPAIR_HINT = "fix the file, or pass repair_tags=True (tagger train/evaluate --repair-tags) to read it the conlleval way"

PathLike = Union[str, "os.PathLike[str]"]


def load_corpus(
    name_or_files: Union[str, PathLike, Mapping[str, PathLike]],
    data_dir: Optional[PathLike] = None,
    *,
    format: str = "auto",
    tag_column: Union[int, str, None] = None,
    column_names: Optional[Sequence[str]] = None,
    split_files: Optional[Mapping[str, PathLike]] = None,
    to_scheme: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    max_sentence_length: int = MAX_SENTENCE_LENGTH,
    repair_tags: Optional[bool] = None,
) -> "datasets.DatasetDict":
    """Load a corpus as a ``DatasetDict`` of train/validation/test splits.

    Args:
        name_or_files: A known corpus name (``conll2003``, ``conll2000``, ``wnut17``,
            ``ud_en_ewt``), a path to one file (-> a ``train`` split), or a dict split -> path.
        data_dir: Directory holding ``<name>/`` folders for known corpora; default
            ``$TAGGER_DATA``. Without local files the Hub is tried, failing fast when offline.
        format: ``auto``, ``conll`` or ``conllu`` (generic files).
        tag_column: Generic files: the column that becomes ``tags``, by name (see
            ``column_names``; CoNLL-U: id, form, lemma, upos, xpos, ...) or 0-based index among
            all columns; default the last column, or ``upos`` for CoNLL-U. Known corpora: the
            default tag column recorded in the info (e.g. ``pos_tags``).
        column_names: Names of all columns of generic column files.
        split_files: Known corpora only: split -> file, overriding the usual file names
            (relative paths are taken inside ``data_dir/<name>/`` when a data dir is set).
        to_scheme: Convert entity tag columns to this scheme (``IOB2``, ``IOBES``, ...);
            generic files are not converted unless asked.
        cache_dir: Where ``datasets`` keeps its Arrow files (default: its usual cache).
        max_sentence_length: Longest sentence accepted, in tokens.
        repair_tags: What to do with entity tag sequences the file's scheme forbids: False:
            raise; True: repair them the conlleval way (an inside tag that cannot continue its
            entity starts one) and count them, see ``repair_counts``. Default: False for
            generic files, True for known corpora (as their Hub copies are).

    Returns:
        The ``DatasetDict``.

    Raises:
        ConfigError: Bad options, unknown corpus name, or no local files and no Hub.
        CorpusFormatError: A file that cannot be read, or a tag outside a known corpus's labels.
        InvalidTagSequence: A tag sequence the file's scheme forbids (without ``repair_tags``),
            or a tag that is neither ``O`` nor PREFIX-TYPE in an entity column, naming file and line.
    """
    if repair_tags is not None and not isinstance(repair_tags, bool):
        raise ConfigError(f"repair_tags must be True, False or None, got {repair_tags!r}")
    if to_scheme is not None:
        to_scheme = schemes.normalize_scheme(to_scheme)
    options = (format, tag_column, column_names)
    if isinstance(name_or_files, Mapping):
        files = _split_dict(name_or_files, split_files)
        return _load_generic(files, *options, to_scheme, cache_dir, max_sentence_length, bool(repair_tags))
    if not isinstance(name_or_files, (str, os.PathLike)):
        raise ConfigError(f"expected a corpus name, a path or a dict split -> path, got {type(name_or_files).__name__}")
    name = os.fspath(name_or_files)
    if isinstance(name_or_files, str) and name in KNOWN_CORPORA and not os.path.isfile(name):
        schema = KNOWN_CORPORA[name]
        return _load_known(schema, data_dir, *options, split_files, to_scheme, cache_dir, max_sentence_length, repair_tags is not False)
    if split_files is not None:
        raise ConfigError("split_files is for known corpus names; pass a dict of split -> path instead")
    if isinstance(name_or_files, str) and not os.path.exists(name) and os.sep not in name and "." not in name:
        raise ConfigError(f"unknown corpus {name!r}: known corpora are {', '.join(KNOWN_CORPORA)}; or give a file path")
    return _load_generic({"train": name}, *options, to_scheme, cache_dir, max_sentence_length, bool(repair_tags))


def _split_dict(name_or_files: Mapping[str, PathLike], split_files: Optional[Mapping[str, PathLike]]) -> dict[str, str]:
    """The dict split -> path given to ``load_corpus``, checked, with string keys and paths."""
    if split_files is not None:
        raise ConfigError("split_files is for known corpus names; pass the dict of split -> path alone")
    files = {str(split): os.fspath(path) for split, path in name_or_files.items()}
    if not files:
        raise ConfigError("no files given: the dict of split -> path is empty")
    for split in files:
        _check_split_name(split)
    return files


def _check_split_name(split: Any) -> None:
    if not _SPLIT_NAME.fullmatch(str(split)):
        raise ConfigError(f"bad split name {split!r}: use letters, digits and underscores (train, validation)")


def label_names(dataset: Any, column: str) -> list[str]:
    """The label names of a tag column, in id order.

    Args:
        dataset: A ``Dataset`` (or a ``DatasetDict``: labels of all splits).
        column: A column of label sequences.

    Returns:
        The ``ClassLabel`` names, or for string columns the distinct values (``O`` first, then
        grouped by entity type, or sorted for plain tags).

    Raises:
        ConfigError: No such column.
    """
    splits = _splits(dataset)
    if not splits:
        raise ConfigError("the DatasetDict has no splits")
    features = splits[0].features
    if column not in features:
        raise ConfigError(f"no column {column!r}; columns: {', '.join(features)}")
    feature = features[column]
    inner = getattr(feature, "feature", feature)
    names = getattr(inner, "names", None)
    if names is not None:
        return list(names)
    values: dict[str, None] = {}
    for split in splits:
        for row in split[column]:
            values.update(dict.fromkeys(row if isinstance(row, list) else [row]))
    return infer_label_names(values)


def infer_label_names(labels: Iterable[str], scheme: Optional[str] = None) -> list[str]:
    """Order a set of labels: ``O`` first, then by entity type with prefixes in scheme order.

    Args:
        labels: The labels (duplicates allowed).
        scheme: Their scheme; detected from the labels when None. For plain tags: sorted.

    Returns:
        The distinct labels in order.
    """
    distinct = sorted(set(labels))
    if scheme is None:
        scheme = schemes.detect_scheme([distinct])
    scheme = schemes.normalize_scheme(scheme)
    if scheme == "plain":
        return distinct
    prefix_order = {prefix: i for i, prefix in enumerate("BIELSU")}

    def key(label: str) -> tuple[int, str, int, str]:
        if label == "O":
            return (0, "", 0, "")
        if len(label) > 2 and label[1] == "-" and label[0] in prefix_order:
            return (1, label[2:], prefix_order[label[0]], "")
        return (2, "", 0, label)  # not an entity tag: last

    return sorted(distinct, key=key)


def _splits(dataset: Any) -> list[Any]:
    """The splits of a DatasetDict, or [dataset] for a single Dataset."""
    import datasets

    if isinstance(dataset, (datasets.DatasetDict, Mapping)):
        return list(dataset.values())
    return [dataset]


def _stamp(path: str) -> str:
    """What identifies a file's content for the cache: absolute path, size and mtime."""
    stat = os.stat(path)
    return f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}"


def _fingerprint(kind: str, gen_kwargs: Mapping[str, Any]) -> str:
    payload = json.dumps([kind, _CACHE_VERSION, dict(gen_kwargs)], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _from_generator(generator: Any, features: Any, gen_kwargs: dict[str, Any], split: str, cache_dir: Any) -> Any:
    """``Dataset.from_generator`` with our fingerprint, re-raising our own errors unwrapped."""
    import datasets

    try:
        return datasets.Dataset.from_generator(
            generator,
            features=features,
            gen_kwargs=gen_kwargs,
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            split=datasets.NamedSplit(split),
            fingerprint=_fingerprint(f"{generator.__name__}/{split}", gen_kwargs),
        )
    except TaggerError:
        raise
    except Exception as exc:  # datasets wraps generator errors in DatasetGenerationError
        cause: Optional[BaseException] = exc
        while cause is not None and not isinstance(cause, TaggerError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise cause from None
        raise


def _encoder(names: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def _encode(tags: list[str], index: Mapping[str, int], column: str, sentence: Sentence, what: str, conllu: bool) -> list[int]:
    try:
        return [index[tag] for tag in tags]
    except KeyError:
        position = next(i for i, tag in enumerate(tags) if tag not in index)
        if conllu:
            where, line = f" (word {position + 1} of the sentence)", sentence.first_line
        else:
            where, line = "", sentence.first_line + position
        raise CorpusFormatError(
            f"{column} tag {tags[position]!r}{where} is not one of the {len(index)} {what} labels",
            path=sentence.path,
            line=line,
        ) from None


def _checked_tags(
    tags: list[str], scheme: str, repair: bool, sentence: Sentence, conllu: bool, column: Optional[str] = None
) -> tuple[list[str], bool]:
    """``tags`` if valid in ``scheme``, else repaired (with ``repair``); returns (tags, whether repaired).

    Raises:
        InvalidTagSequence: Invalid and not to be repaired, or a tag no scheme can read
            (``X-PER``), naming the file and the line of the first bad token.
    """
    violation = schemes.find_violation(tags, scheme)
    if violation is None:
        return tags, False
    position, reason = violation
    unreadable = next((i for i, tag in enumerate(tags) if not schemes.is_entity_tag(tag)), None)
    if unreadable is not None:
        position, reason = unreadable, f"{tags[unreadable]!r} is not a valid {scheme} tag (O or PREFIX-TYPE)"
    elif repair:
        return schemes.repair_tags(tags, scheme), True
    if conllu:  # word lines and skipped range lines interleave: name the sentence's first line
        where, line = f"word {position + 1} of the sentence: ", sentence.first_line
    else:
        where, line = "", sentence.first_line + position
    message = f"{column + ': ' if column else ''}{where}{reason}"
    if unreadable is None:
        message += f"; {_mixture_hint(tags, scheme)}{_REPAIR_HINT}"
    raise InvalidTagSequence(message, path=sentence.path, line=line)


def _mixture_hint(tags: list[str], scheme: str) -> str:
    """A hint when an invalid sentence is valid in a neighbouring scheme (a mixture of schemes)."""
    for other in {"IOB1": ("IOB2",), "IOB2": ("IOB1",), "IOBES": ("IOB2",), "BILOU": ("IOB2", "IOBES")}[scheme]:
        if schemes.find_violation(tags, other) is None:
            return f"this sentence is valid {other}: does the file mix {other} and {scheme} tags? "
    return ""


def _count_note(counts: Mapping[str, Mapping[str, int]]) -> str:
    total = sum(n for columns in counts.values() for n in columns.values())
    if not total:
        return ""
    return f"; repaired {total} tag sequence{'s' if total != 1 else ''} the conlleval way"


# ----------------------------------------------------------------------------- known corpora


def _known_names(schema: CorpusSchema, column: str, target: str) -> tuple[str, ...]:
    names = schema.label_names[column]
    hub = schema.hub_schemes[column]
    return names if target == hub else tuple(schemes.convert_labels(names, hub, target))


def _known_features(schema: CorpusSchema, targets: Mapping[str, str]) -> Any:
    import datasets

    def labels(column: str) -> Any:
        return datasets.Sequence(datasets.ClassLabel(names=list(_known_names(schema, column, targets[column]))))

    strings = datasets.Sequence(datasets.Value("string"))
    if schema.format == "conllu":
        fields: dict[str, Any] = {"idx": datasets.Value("string"), "text": datasets.Value("string")}
        for feature in UD_FEATURE_COLUMNS:
            fields[feature] = labels(feature) if feature in schema.label_names else strings
        return datasets.Features(fields)
    fields = {schema.id_column: datasets.Value("string"), "tokens": strings}
    for column in schema.columns[1:]:
        fields[column] = labels(column)
    return datasets.Features(fields)


def _known_examples(corpus: str, path: str, stamp: str, targets: str, max_sentence_length: int, repair: bool) -> Iterator[dict[str, Any]]:
    """Examples of one split of a known corpus; ``targets`` is JSON column -> scheme wanted."""
    del stamp  # part of the cache fingerprint only
    schema = KNOWN_CORPORA[corpus]
    wanted = json.loads(targets)
    indexes = {column: _encoder(_known_names(schema, column, wanted[column])) for column in schema.label_names}
    if schema.format == "conllu":
        positions = {feature: CONLLU_COLUMNS.index(column) for feature, column in UD_FEATURE_COLUMNS.items()}
        for number, sentence in enumerate(read_conllu(path, max_sentence_length=max_sentence_length)):
            example: dict[str, Any] = {
                "idx": sentence.metadata.get("sent_id", str(number)),
                "text": sentence.metadata.get("text", " ".join(sentence.tokens)),
            }
            for feature, position in positions.items():
                values = sentence.columns[position]
                if feature in indexes:
                    example[feature] = _encode(values, indexes[feature], feature, sentence, corpus, conllu=True)
                else:
                    example[feature] = values
            yield example
        return
    columns = schema.columns
    for number, sentence in enumerate(read_columns(path, num_columns=len(columns), max_sentence_length=max_sentence_length)):
        example = {schema.id_column: str(number), "tokens": sentence.tokens}
        for position in range(1, len(columns)):
            column = columns[position]
            tags = sentence.columns[position]
            source, target = schema.file_schemes[column], wanted[column]
            if source != "plain":
                tags, _ = _checked_tags(tags, source, repair, sentence, conllu=False, column=column)
            if source != target:
                tags = schemes.convert_tags(tags, source, target)
            example[column] = _encode(tags, indexes[column], column, sentence, corpus, conllu=False)
        yield example


def _check_known_file(schema: CorpusSchema, path: str, repair: bool, max_sentence_length: int) -> dict[str, int]:
    """Check the entity columns of one known-corpus file; returns column -> sentences repaired."""
    positions = {column: i for i, column in enumerate(schema.columns) if schema.file_schemes.get(column, "plain") != "plain"}
    counts = dict.fromkeys(positions, 0)
    if schema.format != "conll" or not positions:
        return counts
    for sentence in read_columns(path, num_columns=len(schema.columns), max_sentence_length=max_sentence_length):
        for column, position in positions.items():
            _, repaired = _checked_tags(sentence.columns[position], schema.file_schemes[column], repair, sentence, False, column)
            counts[column] += repaired
    return counts


def _env_offline() -> bool:
    return any(os.environ.get(var, "").upper() in ("1", "ON", "YES", "TRUE") for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _hub_unreachable() -> Optional[str]:
    """Why the Hub cannot be used, found in milliseconds; None when it may be reachable.

    ``datasets`` retries for about 25 s before giving up on an unreachable Hub, so a quick TCP
    probe decides first. Offline mode counts only when ``datasets`` itself is in it (it reads
    the variables once, at import); then it fails at once or serves its own cache.
    """
    import datasets

    if datasets.config.HF_HUB_OFFLINE:
        return None
    if _env_offline():
        return "offline mode is set (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE)"
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=_HUB_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc})"
    return None


def _from_hub(schema: CorpusSchema, cache_dir: Any) -> tuple[Any, str]:
    """Try the Hub's copies of a known corpus; returns (DatasetDict or None, why it failed)."""
    reason = _hub_unreachable()
    if reason is not None:
        return None, reason
    import datasets

    failures = []
    for path, config in schema.hub:
        try:
            cache = None if cache_dir is None else os.fspath(cache_dir)
            return datasets.load_dataset(path, config, cache_dir=cache), ""
        except Exception as exc:  # any failure means: fall back to the error below
            failures.append(f"{path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return None, "; ".join(failures)


def _load_known(
    schema: CorpusSchema,
    data_dir: Optional[PathLike],
    format: str,
    tag_column: Union[int, str, None],
    column_names: Optional[Sequence[str]],
    split_files: Optional[Mapping[str, PathLike]],
    to_scheme: Optional[str],
    cache_dir: Any,
    max_sentence_length: int,
    repair: bool,
) -> Any:
    tag_column = _known_tag_column(schema, format, tag_column, column_names)
    targets = _known_targets(schema, tag_column, to_scheme)
    root = os.fspath(data_dir) if data_dir is not None else os.environ.get("TAGGER_DATA") or None
    corpus_dir = Path(root) / schema.name if root else None
    files = _known_files(schema, corpus_dir, split_files)
    if not files:
        built = _known_from_hub(schema, targets, to_scheme, corpus_dir, root, cache_dir)
        counts: dict[str, dict[str, int]] = {}
    else:
        features = _known_features(schema, targets)
        # Checked here, outside the cached generator, so that a cached copy never skips the check.
        counts = {split: _check_known_file(schema, path, repair, max_sentence_length) for split, path in files.items()}
        built = _build_known(schema, files, features, targets, max_sentence_length, repair, cache_dir)
    marker = {
        "corpus": schema.name,
        "tag_column": tag_column,
        "source_schemes": dict(schema.file_schemes),
        "schemes": {**dict(schema.file_schemes), **targets},
        "files": files,
        "repaired": counts,
    }
    changed = ", ".join(
        f"{column} {schema.file_schemes[column]} -> {target}" for column, target in targets.items() if schema.file_schemes[column] != target
    )
    text = f"{schema.name} loaded by corpora.load_corpus" + (f"; converted {changed}" if changed else "") + _count_note(counts)
    for split in built.values():
        split.info.description = describe(text, marker)
    return built


def _known_tag_column(schema: CorpusSchema, format: str, tag_column: Union[int, str, None], column_names: Optional[Sequence[str]]) -> str:
    """Check the generic-file options against a known corpus; returns its tag column (given or default)."""
    if column_names is not None:
        raise ConfigError(f"column_names is for generic files; {schema.name}'s columns are fixed")
    fmt = normalize_format(format)
    if fmt not in ("auto", schema.format):
        raise ConfigError(f"{schema.name} files are {schema.format}, not {fmt}")
    tag_column = schema.tag_column if tag_column is None else tag_column
    if not isinstance(tag_column, str) or tag_column not in schema.file_schemes:
        raise ConfigError(f"{schema.name} has no tag column {tag_column!r}; choose one of {', '.join(schema.file_schemes)}")
    return tag_column


def _known_targets(schema: CorpusSchema, tag_column: str, to_scheme: Optional[str]) -> dict[str, str]:
    """The scheme each label column is returned in: the Hub's, or ``to_scheme`` for entity columns."""
    targets = {}
    for column in schema.label_names:
        target = schema.hub_schemes[column]
        if to_scheme is not None and schema.file_schemes[column] != "plain":
            target = to_scheme
        targets[column] = target
    if to_scheme is not None and schema.file_schemes[tag_column] == "plain" and to_scheme != "plain":
        raise ConfigError(f"{schema.name} {tag_column} tags are plain (no entities): to_scheme does not apply")
    if to_scheme == "plain" and any(s != "plain" for s in schema.file_schemes.values()):
        raise ConfigError(f"cannot convert {schema.name}'s entity columns to plain tags")
    return targets


def _known_files(schema: CorpusSchema, corpus_dir: Optional[Path], split_files: Optional[Mapping[str, PathLike]]) -> dict[str, str]:
    """Split -> local file: ``split_files`` (relative ones inside ``corpus_dir``), else the usual names found there."""
    if split_files is None:
        if corpus_dir is None:
            return {}
        return {split: str(corpus_dir / name) for split, name in schema.files.items() if (corpus_dir / name).is_file()}
    files = {}
    for split, path in split_files.items():
        _check_split_name(split)
        path = Path(path)
        if not path.is_absolute() and corpus_dir is not None:
            path = corpus_dir / path
        files[str(split)] = check_file(path)
    return files


def _known_from_hub(
    schema: CorpusSchema,
    targets: Mapping[str, str],
    to_scheme: Optional[str],
    corpus_dir: Optional[Path],
    root: Optional[str],
    cache_dir: Any,
) -> Any:
    """The Hub's copy of a known corpus without local files; the error says where to put them."""
    names = "/".join(name for split, name in schema.files.items() if split != "test")
    hub, reason = _from_hub(schema, cache_dir)
    if hub is None:
        where = f"in {corpus_dir}/" if corpus_dir is not None else "in DIR/" + schema.name + "/"
        how = "" if root else " and pass data_dir=DIR or set TAGGER_DATA=DIR"
        raise ConfigError(
            f"{schema.name}: no local files; put {names}[/{schema.files.get('test', 'test')}] {where}{how}"
            f" (the Hub could not be used: {reason})"
        )
    if to_scheme is not None and any(targets[c] != schema.hub_schemes[c] for c in targets):
        raise ConfigError(f"to_scheme={to_scheme} needs local {schema.name} files; the Hub copy is IOB2")
    return hub


def _build_known(
    schema: CorpusSchema,
    files: Mapping[str, str],
    features: Any,
    targets: Mapping[str, str],
    max_sentence_length: int,
    repair: bool,
    cache_dir: Any,
) -> Any:
    """The ``DatasetDict`` of a known corpus's local files, one cached generator per split."""
    import datasets

    built = datasets.DatasetDict()
    payload = json.dumps(targets, sort_keys=True)
    for split, path in files.items():
        gen_kwargs = {
            "corpus": schema.name,
            "path": path,
            "stamp": _stamp(path),
            "targets": payload,
            "max_sentence_length": max_sentence_length,
            "repair": repair,
        }
        built[split] = _from_generator(_known_examples, features, gen_kwargs, split, cache_dir)
    return built


# ----------------------------------------------------------------------------- generic files


def _resolve_tag_index(
    fmt: str, tag_column: Union[int, str, None], column_names: Optional[Sequence[str]], num_columns: int, path: str
) -> int:
    """0-based index of the tag column among all ``num_columns`` columns of a file."""
    if fmt == "conllu":
        names: Sequence[str] = CONLLU_COLUMNS
        token_index = CONLLU_COLUMNS.index("form")
        if tag_column is None:
            tag_column = "upos"
        if isinstance(tag_column, str):
            tag_column = tag_column.lower()
    else:
        names = column_names or ()
        token_index = 0
        if num_columns < 2:
            raise CorpusFormatError("only one column (the tokens): there is no tag column", path=path, line=1)
        if tag_column is None:
            tag_column = num_columns - 1
    if isinstance(tag_column, str):
        if tag_column not in names:
            known = ", ".join(names) if names else "none (pass column_names=[...] to name them)"
            raise ConfigError(f"no column named {tag_column!r} in {path}; column names: {known}")
        index = list(names).index(tag_column)
    elif isinstance(tag_column, int) and not isinstance(tag_column, bool):
        index = tag_column + num_columns if tag_column < 0 else tag_column
        if not 0 <= index < num_columns:
            raise ConfigError(f"tag_column={tag_column} is out of range: {path} has {num_columns} columns")
    else:
        raise ConfigError(f"tag_column must be a column name or index, got {tag_column!r}")
    if index == token_index:
        raise ConfigError(f"tag_column={tag_column!r} is the token column of {path}")
    return index


def _generic_sentences(path: str, fmt: str, column_names: Optional[Sequence[str]], max_sentence_length: int) -> Iterator[Sentence]:
    return read_sentences(path, fmt, column_names=column_names if fmt == "conll" else None, max_sentence_length=max_sentence_length)


def _generic_examples(
    path: str,
    stamp: str,
    fmt: str,
    column_names: str,
    tag_index: int,
    source: str,
    target: str,
    names: str,
    max_sentence_length: int,
    repair: bool,
) -> Iterator[dict[str, Any]]:
    """Examples (tokens, tags) of one generic file; list-valued options arrive as JSON strings."""
    del stamp  # part of the cache fingerprint only
    index = _encoder(json.loads(names))
    for sentence in _generic_sentences(path, fmt, json.loads(column_names), max_sentence_length):
        tags = sentence.columns[tag_index]
        if source != "plain":
            tags, _ = _checked_tags(tags, source, repair, sentence, conllu=fmt == "conllu")
        if source != target:
            tags = schemes.convert_tags(tags, source, target)
        yield {"tokens": sentence.tokens, "tags": _encode(tags, index, "tags", sentence, "inferred", conllu=fmt == "conllu")}


def _load_generic(
    files: Mapping[str, str],
    format: str,
    tag_column: Union[int, str, None],
    column_names: Optional[Sequence[str]],
    to_scheme: Optional[str],
    cache_dir: Any,
    max_sentence_length: int,
    repair: bool,
) -> Any:
    fmt = normalize_format(format)
    plans = _generic_plans(files, fmt, column_names)
    source, labels, tag_indexes = _scan_generic(plans, tag_column, column_names, max_sentence_length)
    target = source if to_scheme is None else to_scheme
    counts = {split: {"tags": 0} for split in plans}
    if source != target:
        schemes.convert_labels([label for label in labels if schemes.is_entity_tag(label)], source, target)  # ConfigError if impossible
    if source == "plain":
        names = infer_label_names(labels, source)
    else:
        names = _check_generic(plans, tag_indexes, source, target, repair, column_names, max_sentence_length, counts)
    built = _build_generic(plans, tag_indexes, source, target, names, column_names, max_sentence_length, repair, cache_dir)
    if fmt == "conllu" or all(f == "conllu" for _, f in plans.values()):
        chosen = CONLLU_COLUMNS[next(iter(tag_indexes.values()))]
    else:
        chosen = str(tag_column) if tag_column is not None else "last"
    marker = {
        "corpus": None,
        "tag_column": "tags",
        "source_schemes": {"tags": source},
        "schemes": {"tags": target},
        "files": {split: path for split, (path, _) in plans.items()},
        "repaired": counts,
    }
    text = f"tags from column {chosen} of {', '.join(p for p, _ in plans.values())}, loaded by corpora.load_corpus"
    if source != target:
        text += f"; converted {source} -> {target}"
    text += _count_note(counts)
    for split in built.values():
        split.info.description = describe(text, marker)
    return built


_Plans = Mapping[str, tuple[str, str]]  # split -> (checked path, format)


def _generic_plans(files: Mapping[str, str], fmt: str, column_names: Optional[Sequence[str]]) -> dict[str, tuple[str, str]]:
    """Split -> (path, format) for each generic file, each checked to exist, formats detected for ``auto``."""
    plans = {}
    for split, path in files.items():
        path = check_file(path)
        file_fmt = detect_format(path) if fmt == "auto" else fmt
        if file_fmt == "conllu" and column_names is not None:
            raise ConfigError(f"column_names applies to column files; {path} is CoNLL-U")
        plans[split] = (path, file_fmt)
    return plans


def _scan_generic(
    plans: _Plans, tag_column: Union[int, str, None], column_names: Optional[Sequence[str]], max_sentence_length: int
) -> tuple[str, dict[str, None], dict[str, int]]:
    """First pass over all splits: (scheme detected, labels seen, split -> tag column index).

    Streaming, one sentence at a time; each split's tag column is resolved from its first sentence.
    """
    labels: dict[str, None] = {}
    tag_indexes: dict[str, int] = {}

    def tag_sequences() -> Iterator[list[str]]:
        for split, (path, file_fmt) in plans.items():
            for sentence in _generic_sentences(path, file_fmt, column_names, max_sentence_length):
                if split not in tag_indexes:
                    tag_indexes[split] = _resolve_tag_index(file_fmt, tag_column, column_names, len(sentence.columns), path)
                tags = sentence.columns[tag_indexes[split]]
                labels.update(dict.fromkeys(tags))
                yield tags

    source = schemes.detect_scheme(tag_sequences())
    return source, labels, tag_indexes


def _check_generic(
    plans: _Plans,
    tag_indexes: Mapping[str, int],
    source: str,
    target: str,
    repair: bool,
    column_names: Optional[Sequence[str]],
    max_sentence_length: int,
    counts: dict[str, dict[str, int]],
) -> list[str]:
    """Second pass, for entity tags: check (or repair) every sentence in the scheme ``source``.

    It runs outside the cached generator so that a cached copy never skips it. Adds the sentences
    repaired to ``counts``; returns the label names as the dataset will hold them (in ``target``).
    """
    final: dict[str, None] = {}
    for split, (path, file_fmt) in plans.items():
        for sentence in _generic_sentences(path, file_fmt, column_names, max_sentence_length):
            tags, repaired = _checked_tags(sentence.columns[tag_indexes[split]], source, repair, sentence, file_fmt == "conllu")
            counts[split]["tags"] += repaired
            final.update(dict.fromkeys(schemes.convert_tags(tags, source, target) if source != target else tags))
    return infer_label_names(final, target)


def _build_generic(
    plans: _Plans,
    tag_indexes: Mapping[str, int],
    source: str,
    target: str,
    names: list[str],
    column_names: Optional[Sequence[str]],
    max_sentence_length: int,
    repair: bool,
    cache_dir: Any,
) -> Any:
    """The ``DatasetDict`` of generic files (``tokens``, ``tags``), one cached generator per split."""
    import datasets

    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    built = datasets.DatasetDict()
    for split, (path, file_fmt) in plans.items():
        gen_kwargs = {
            "path": path,
            "stamp": _stamp(path),
            "fmt": file_fmt,
            "column_names": json.dumps(column_names),
            "tag_index": tag_indexes[split],
            "source": source,
            "target": target,
            "names": json.dumps(names),
            "max_sentence_length": max_sentence_length,
            "repair": repair,
        }
        built[split] = _from_generator(_generic_examples, features, gen_kwargs, split, cache_dir)
    return built
