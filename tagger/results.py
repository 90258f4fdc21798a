"""What tagging returns: one ``TaggedSentence`` per sentence (tokens, offsets, tags, spans), and the
scored results of ``predict_spans(..., scores=True)`` (``ScoredSpan``) and ``predict_nbest`` (``ScoredPath``).

Every writer (``tagger.writers``: CoNLL, JSON lines, inline), the CLI and the integrations only
serialise these; none of them reads tag schemes or token offsets again. A sentence to tag is an
``InputSentence`` (its tokens and, when known, where they came from); ``InputSentence.tagged``
turns it and its predicted tags into the result.

Character offsets are code-point offsets into the text the tokens came from (a file, stdin or a
Python string), so ``original[span.start_char:span.end_char] == span.text``. Tokens given as a
list carry no offsets (None) unless the reader made some (CoNLL input: offsets into the tokens
joined by single spaces, as ``tagger tag --output jsonl`` documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from tagger.schemes import Span, normalize_scheme, spans_from_tags
from tagger.tokenize import TokenizedSentence

Offsets = Tuple[Tuple[int, int], ...]


@dataclass(frozen=True)
class ScoredSpan(Span):
    """A ``tagger.schemes.Span`` with its confidence (``predict_spans(..., scores=True)``).

    Attributes:
        score: The probability that exactly these tokens carry this label (see
            ``tagger.confidence.span_probabilities``); None only for a model whose constraints are
            not its scheme's, whose output span may then be no span of its own path.
    """

    score: Optional[float]


class ScoredPath(NamedTuple):
    """One of the n best tag paths of a sentence (``predict_nbest``).

    Attributes:
        tags: One tag per token, in the tagger's output scheme.
        score: The unnormalised path score (emissions plus the CRF's start, transition and end scores).
        probability: ``exp(score - logZ)``: the path's probability under the model.
    """

    tags: Tuple[str, ...]
    score: float
    probability: float

    def to_dict(self) -> Dict[str, Any]:
        """The path's JSON object (``tagger tag --nbest K``)."""
        return {"tags": list(self.tags), "score": self.score, "probability": self.probability}


@dataclass(frozen=True)
class TaggedSpan:
    """An entity of a tagged sentence.

    Attributes:
        label: The entity type (``PER``).
        start: Index of its first token.
        end: Index just past its last token (exclusive).
        start_char: Character offset of its first character in the input; None without offsets.
        end_char: Character offset just past its last character; None without offsets.
        text: The input it covers, as written (tokens joined by spaces when there are no offsets).
        score: The probability that exactly these tokens carry this label; None until scores are asked for.
    """

    label: str
    start: int
    end: int
    start_char: Optional[int]
    end_char: Optional[int]
    text: str
    score: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        """The span's JSON object (``tagger tag --output jsonl``); ``score`` only when there is one."""
        record: Dict[str, Any] = {
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "start_char": self.start_char,
            "end_char": self.end_char,
            "text": self.text,
        }
        if self.score is not None:
            record["score"] = self.score
        return record


@dataclass(frozen=True)
class TaggedSentence:
    """One tagged sentence: what every writer serialises.

    Attributes:
        tokens: The tokens.
        tags: One predicted tag per token, in ``scheme``.
        spans: The entities the tags make (none for ``plain`` tags such as POS).
        scheme: The tag scheme of ``tags`` (IOB1, IOB2, IOBES, BILOU or plain).
        offsets: ``(start, end)`` character offsets of each token in the input (end exclusive);
            None for tokens given without them.
        text: The input from the first token's start to the last token's end, as written; None
            without offsets.
        source: Where the sentence was read from (a file name, ``-`` for stdin); None for Python input.
        columns: For CoNLL input, the input's columns (written back before the prediction).
        probs: Per token, the probability of each label (``labels`` order); None until asked for.
        labels: The label of each column of ``probs`` (the tagger's ``labels``); None without ``probs``.
        nbest: The n best paths, best first; None until asked for.
    """

    tokens: Tuple[str, ...]
    tags: Tuple[str, ...]
    spans: Tuple[TaggedSpan, ...]
    scheme: str
    offsets: Optional[Offsets] = None
    text: Optional[str] = None
    source: Optional[str] = None
    columns: Optional[Tuple[Tuple[str, ...], ...]] = None
    probs: Optional[Tuple[Tuple[float, ...], ...]] = None
    labels: Optional[Tuple[str, ...]] = None
    nbest: Optional[Tuple[ScoredPath, ...]] = None

    def to_dict(self) -> Dict[str, Any]:
        """The sentence's JSON object: ``file`` (when it has a source), tokens, offsets, tags and spans;
        then ``labels`` and ``probs`` (a list per token, in ``labels`` order) and ``nbest`` when present.
        """
        record: Dict[str, Any] = {} if self.source is None else {"file": self.source}
        record["tokens"] = list(self.tokens)
        record["offsets"] = None if self.offsets is None else [list(pair) for pair in self.offsets]
        record["tags"] = list(self.tags)
        record["spans"] = [span.to_dict() for span in self.spans]
        if self.probs is not None:
            if self.labels is not None:
                record["labels"] = list(self.labels)
            record["probs"] = [list(row) for row in self.probs]
        if self.nbest is not None:
            record["nbest"] = [path.to_dict() for path in self.nbest]
        return record


@dataclass(frozen=True)
class InputSentence:
    """A sentence to tag: its tokens and, when known, their offsets and where they came from.

    Attributes:
        tokens: The tokens.
        offsets: ``(start, end)`` character offsets of each token in the input; None when unknown.
        text: The input from the first token's start to the last token's end (needed with offsets).
        source: Where it was read from (a file name, ``-`` for stdin); None for Python input.
        columns: For CoNLL input, the input's columns.
    """

    tokens: Tuple[str, ...]
    offsets: Optional[Offsets] = None
    text: Optional[str] = None
    source: Optional[str] = None
    columns: Optional[Tuple[Tuple[str, ...], ...]] = None

    def __post_init__(self) -> None:
        """Reject offsets that do not match the tokens."""
        if self.offsets is not None and (self.text is None or len(self.offsets) != len(self.tokens)):
            raise ValueError(f"{len(self.tokens)} tokens need as many offsets and the text they index, got {self.offsets!r}")

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], source: Optional[str] = None) -> "InputSentence":
        """Tokens given as a list, without offsets."""
        words = tuple(tokens)
        if not all(isinstance(token, str) for token in words):
            raise TypeError("a tokenised sentence is a sequence of strings")
        return cls(words, source=source)

    @classmethod
    def from_tokenized(
        cls, sentence: TokenizedSentence, source: Optional[str] = None, columns: Optional[Sequence[Sequence[str]]] = None
    ) -> "InputSentence":
        """A sentence of ``tagger.tokenize`` (tokens with offsets into the input they came from)."""
        return cls(
            tuple(sentence.tokens),
            tuple((start, end) for start, end in sentence.offsets),
            sentence.text,
            source,
            None if columns is None else tuple(tuple(column) for column in columns),
        )

    def tagged(
        self,
        tags: Sequence[str],
        scheme: str,
        probs: Optional[Sequence[Sequence[float]]] = None,
        *,
        labels: Optional[Sequence[str]] = None,
        span_scores: Optional[Mapping[Span, float]] = None,
        nbest: Optional[Sequence[ScoredPath]] = None,
    ) -> TaggedSentence:
        """The result of tagging this sentence with ``tags`` (in ``scheme``).

        Args:
            tags: One tag per token.
            scheme: Their scheme.
            probs: Per token, the probability of each of ``labels``.
            labels: The label of each column of ``probs``.
            span_scores: The score of each span of ``tags`` (``TaggedSpan.score``; None for a span not in it).
            nbest: The n best paths.

        Raises:
            ValueError: ``tags`` (or ``probs``) and the tokens differ in length.
        """
        if len(tags) != len(self.tokens):
            raise ValueError(f"expected {len(self.tokens)} tags, got {len(tags)}")
        if probs is not None and len(probs) != len(self.tokens):
            raise ValueError(f"expected {len(self.tokens)} rows of probabilities, got {len(probs)}")
        return TaggedSentence(
            self.tokens,
            tuple(tags),
            tuple(self._spans(tags, scheme, span_scores or {})),
            normalize_scheme(scheme),
            self.offsets,
            self.text,
            self.source,
            self.columns,
            None if probs is None else tuple(tuple(float(p) for p in row) for row in probs),
            None if labels is None else tuple(labels),
            None if nbest is None else tuple(nbest),
        )

    def _spans(self, tags: Sequence[str], scheme: str, scores: Mapping[Span, float]) -> List[TaggedSpan]:
        """The entities of ``tags``, with character offsets and the text they cover when offsets are known."""
        if normalize_scheme(scheme) == "plain":
            return []
        spans = []
        for span in spans_from_tags(tags, scheme):
            score = scores.get(span)
            if self.offsets is None or self.text is None:
                text = " ".join(self.tokens[span.start : span.end])
                spans.append(TaggedSpan(span.label, span.start, span.end, None, None, text, score))
                continue
            first = self.offsets[0][0]
            start_char, end_char = self.offsets[span.start][0], self.offsets[span.end - 1][1]
            text = self.text[start_char - first : end_char - first]
            spans.append(TaggedSpan(span.label, span.start, span.end, start_char, end_char, text, score))
        return spans


TagInput = Union[str, Sequence[str], InputSentence]
"""One item of what ``Tagger.tag`` takes: a text, a tokenised sentence or an ``InputSentence``."""


def input_sentences(inputs: Union[str, Iterable[TagInput]]) -> Iterator[InputSentence]:
    """The sentences to tag in ``inputs``, lazily, in order.

    Args:
        inputs: A text (split into sentences by ``tagger.tokenize.split_text``), or an iterable whose
            items are texts, tokenised sentences (sequences of strings) or ``InputSentence`` objects.
            A flat list of strings is a list of texts, as in spaCy's ``nlp.pipe``.

    Raises:
        TypeError: ``bytes``, or an item that is none of these.
    """
    if isinstance(inputs, str):
        yield from _split(inputs)
        return
    if isinstance(inputs, (bytes, bytearray)):
        raise TypeError("tag takes text as a str (decode bytes first), or a list of texts or of tokenised sentences")
    for item in inputs:
        if isinstance(item, InputSentence):
            yield item
        elif isinstance(item, str):
            yield from _split(item)
        elif isinstance(item, (bytes, bytearray)) or not isinstance(item, Iterable):
            raise TypeError(f"expected a text (str) or a tokenised sentence (a list of str), got {type(item).__name__}")
        else:
            yield InputSentence.from_tokens(item)


def _split(text: str) -> Iterator[InputSentence]:
    from tagger.tokenize import split_text

    return (InputSentence.from_tokenized(sentence) for sentence in split_text(text))
