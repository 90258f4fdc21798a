"""Write sentences back as CoNLL column files or CoNLL-U, e.g. gold and predicted tags side by side.

``write_columns`` writes one token per line with its columns (token, gold, predicted, ...), a
blank line after each sentence: the input conlleval expects and ``read_columns`` reads back.
``write_conllu`` writes sentences read by ``read_conllu`` with some columns replaced (say UPOS by
predictions); their comments are written back, multiword-token and empty-node lines are not
(the reader skipped them).
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Iterable, Iterator, Mapping, Optional, Sequence, Union, cast

from tagger.corpora.columns import Sentence
from tagger.corpora.conllu import CONLLU_COLUMNS

Target = Union[str, "os.PathLike[str]", IO[str]]


@contextlib.contextmanager
def _opened(target: Target) -> Iterator[IO[str]]:
    if hasattr(target, "write"):
        yield cast("IO[str]", target)  # a stream: it writes
    else:
        with open(os.fspath(target), "w", encoding="utf-8", newline="\n") as handle:
            yield handle


def format_columns(columns: Sequence[Sequence[str]], separator: str = " ") -> str:
    r"""One sentence as column-file lines (each ending in a newline), without the blank line.

    Args:
        columns: Equal-length columns, the tokens first.
        separator: ``" "`` (CoNLL-2003 style) or ``"\t"`` (tokens may then contain spaces).

    Returns:
        The lines joined.

    Raises:
        ValueError: Columns of different lengths, or a field that is empty or contains the
            separator or a newline (it could not be read back).
    """
    if separator not in (" ", "\t"):
        raise ValueError(f"separator must be ' ' or '\\t', got {separator!r}")
    lengths = {len(column) for column in columns}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {[len(column) for column in columns]}")
    forbidden = (" ", "\t", "\n") if separator == " " else ("\t", "\n")
    lines = []
    for row in zip(*columns):
        for field in row:
            if not field or any(char in field for char in forbidden):
                raise ValueError(f"field {field!r} is empty or contains a separator or newline")
        lines.append(separator.join(row) + "\n")
    return "".join(lines)


def write_columns(target: Target, sentences: Iterable[Sequence[Sequence[str]]], *, separator: str = " ") -> int:
    r"""Write sentences as a column file, a blank line after each.

    Args:
        target: A path or an open text stream.
        sentences: Each sentence as its columns, e.g. ``(tokens, gold_tags, predicted_tags)``.
        separator: ``" "`` or ``"\t"``.

    Returns:
        The number of sentences written.
    """
    count = 0
    with _opened(target) as handle:
        for columns in sentences:
            handle.write(format_columns(columns, separator))
            handle.write("\n")
            count += 1
    return count


def format_conllu(sentence: Sentence, replace: Optional[Mapping[str, Sequence[str]]] = None) -> str:
    """One CoNLL-U sentence (comments, word lines, blank line), some columns replaced.

    Args:
        sentence: A sentence from ``read_conllu``.
        replace: Column name (``upos``, ``xpos``, ``lemma``, ...) -> new values, one per word.

    Returns:
        The text.

    Raises:
        ValueError: Unknown column, wrong number of values, or a value with a tab or newline.
    """
    columns = list(sentence.columns)
    if len(columns) != len(CONLLU_COLUMNS):
        raise ValueError(f"not a CoNLL-U sentence: {len(columns)} columns")
    for name, values in (replace or {}).items():
        if name not in CONLLU_COLUMNS:
            raise ValueError(f"unknown CoNLL-U column {name!r}; columns: {', '.join(CONLLU_COLUMNS)}")
        if len(values) != len(sentence.tokens):
            raise ValueError(f"{len(values)} values for column {name!r} of a {len(sentence.tokens)}-word sentence")
        for value in values:
            if not value or "\t" in value or "\n" in value:
                raise ValueError(f"value {value!r} for column {name!r} is empty or contains a tab or newline")
        columns[CONLLU_COLUMNS.index(name)] = list(values)
    lines = [f"# {key} = {value}\n" if value else f"# {key}\n" for key, value in sentence.metadata.items()]
    lines.extend("\t".join(row) + "\n" for row in zip(*columns))
    return "".join(lines) + "\n"


def write_conllu(
    target: Target,
    sentences: Iterable[Sentence],
    replacements: Optional[Iterable[Mapping[str, Sequence[str]]]] = None,
) -> int:
    """Write sentences read by ``read_conllu`` back as CoNLL-U.

    Args:
        target: A path or an open text stream.
        sentences: The sentences.
        replacements: Optionally, for each sentence, column -> new values (see ``format_conllu``).

    Returns:
        The number of sentences written.
    """
    count = 0
    changes = iter(replacements) if replacements is not None else None
    with _opened(target) as handle:
        for sentence in sentences:
            handle.write(format_conllu(sentence, next(changes, None) if changes is not None else None))
            count += 1
    return count
