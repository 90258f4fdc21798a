"""Writers of tagged sentences: CoNLL rows, JSON lines and inline brackets, each a pure function of a ``TaggedSentence``.

``tagger tag --output conll|jsonl|inline`` writes exactly these strings, one sentence at a time,
so a Python user, the spaCy component and the server produce the same bytes.
"""

from __future__ import annotations

import json
from typing import IO, Callable, Dict, Iterable, List

from tagger.results import TaggedSentence


def to_conll(sentence: TaggedSentence) -> str:
    """Tab-separated rows: the token (or the input's CoNLL columns) and the predicted tag; a blank line after."""
    columns = sentence.columns if sentence.columns is not None else (sentence.tokens,)
    rows = ["\t".join(fields) for fields in zip(*columns, sentence.tags)]
    return "\n".join(rows) + "\n\n"


def to_jsonl(sentence: TaggedSentence) -> str:
    """One JSON object on one line (``TaggedSentence.to_dict``), non-ASCII characters as they are."""
    return json.dumps(sentence.to_dict(), ensure_ascii=False) + "\n"


def to_inline(sentence: TaggedSentence) -> str:
    """``[PER John Smith] lives in [LOC Paris] .`` for entity tags, ``John/PROPN lives/VERB`` for plain tags; one line."""
    tokens = sentence.tokens
    if sentence.scheme == "plain":
        return " ".join(f"{token}/{tag}" for token, tag in zip(tokens, sentence.tags)) + "\n"
    pieces: List[str] = []
    position = 0
    for span in sentence.spans:
        pieces.extend(tokens[position : span.start])
        pieces.append(f"[{span.label} {' '.join(tokens[span.start : span.end])}]")
        position = span.end
    pieces.extend(tokens[position:])
    return " ".join(pieces) + "\n"


WRITERS: Dict[str, Callable[[TaggedSentence], str]] = {"conll": to_conll, "jsonl": to_jsonl, "inline": to_inline}
"""The writer of each output format, by the name ``tagger tag --output`` takes."""


def write_sentences(sentences: Iterable[TaggedSentence], out: IO[str], output_format: str) -> int:
    """Write each sentence to ``out`` as soon as it comes, in ``output_format``; returns how many were written.

    Raises:
        ValueError: An unknown format (not one of ``WRITERS``).
    """
    writer = WRITERS.get(output_format)
    if writer is None:
        raise ValueError(f"output format must be one of {', '.join(WRITERS)}, got {output_format!r}")
    count = 0
    for sentence in sentences:
        out.write(writer(sentence))
        count += 1
    return count
