"""Raw text -> sentences of tokens with exact character offsets, via syntok, in CoNLL-2003 style.

syntok (pure Python, rule-based, no model download) segments sentences and tokenises much like
the Penn Treebank: punctuation and clitics are split off (``do n't``, ``John 's``), quotes,
brackets and ``$``/``%`` become tokens, and numbers, dates (``1996-08-22``), URLs and
e-mail addresses stay whole. Four adjustments bring it closer to the CoNLL-2003 data:

* hyphenated and underscored words stay one token (``York-based``, ``co-operate``): syntok
  drops the hyphen between the parts, CoNLL-2003 and the PTB keep the compound whole;
* an abbreviation keeps its period (``U.S.``, ``Mr.``, ``J.``, ``a.m.``) unless the period ends
  the sentence, where CoNLL-2003 has ``U.S`` followed by ``.`` too;
* a run of periods is one token (``...``), as syntok already does inside a word;
* ``O'Neil``, ``D'Alema``, ``L'Oreal`` and ``'90s`` stay whole (syntok splits them like ``'s``).

Offsets are character (code point) offsets into the text as given: ``text[start:end] == token``
for every token, so predicted spans (``tagger.results``) can be cut out of the original text. :func:`split_stream`
reads a text stream piece by piece, one paragraph (or at most about ``chunk_chars``
characters, cut at a sentence boundary) at a time, so memory stays bounded on any input size,
with offsets counted from the start of the stream.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import (
    IO,
    Any,
    Callable,
    Generator,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

DEFAULT_CHUNK_CHARS = 1 << 16
"""How much text :func:`split_stream` holds before cutting at a sentence boundary."""

# Abbreviations that keep their period (when it does not end the sentence), besides
# initialisms (U.S., e.g.) and single capital letters (initials). Case-sensitive on purpose.
ABBREVIATIONS = frozenset(
    """Mr Mrs Ms Messrs Dr Prof Rev Hon Sr Jr St Mt Ft Gen Lt Col Maj Capt Sgt Cmdr Adm Gov Sen Rep
    Pres Inc Corp Co Ltd Bros Cie Plc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Tues
    Wed Thu Thurs Fri Sat Sun Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass
    Mich Minn Miss Mo Mont Neb Nev Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo vs etc approx est dept
    govt fig figs""".split()
)

_PARAGRAPH_BREAK = re.compile(r"\n(?:[^\S\n]*\n)+")
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_APOSTROPHES = "'\u00b4\u02b9\u02bc\u2019\u2032"
_DECADE = re.compile(r"[0-9]{2}s?")
_ELISION_PREFIXES = frozenset({"O", "D", "L"})
_INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})

_tokenizer = None


def _syntok_tokenizer() -> Any:
    """Syntok's tokenizer, built once (it is stateless), imported on first use."""
    global _tokenizer
    if _tokenizer is None:
        from syntok.tokenizer import Tokenizer

        # replace_not_contraction=False: keep "n't" as written (the default turns it into "not").
        _tokenizer = Tokenizer(emit_hyphen_or_underscore_sep=False, replace_not_contraction=False)
    return _tokenizer


@dataclass(frozen=True)
class TokenizedSentence:
    """One sentence: its tokens, their character offsets and the original text they cover.

    Attributes:
        tokens: The tokens; ``tokens[i] == text[offsets[i][0] - start_char:offsets[i][1] - start_char]``.
        offsets: ``(start, end)`` character offsets of each token (end exclusive) in the whole input.
        text: The input from the first token's start to the last token's end, as written.
    """

    tokens: List[str]
    offsets: List[Tuple[int, int]]
    text: str

    @property
    def start_char(self) -> int:
        """Offset of the sentence's first character in the input."""
        return self.offsets[0][0] if self.offsets else 0

    @property
    def end_char(self) -> int:
        """Offset just past the sentence's last character in the input."""
        return self.offsets[-1][1] if self.offsets else 0

    def surface(self, start_char: int, end_char: int) -> str:
        """The original text between two input offsets inside this sentence."""
        if not self.start_char <= start_char <= end_char <= self.end_char:
            raise ValueError(f"offsets {start_char}:{end_char} are outside the sentence ({self.start_char}:{self.end_char})")
        return self.text[start_char - self.start_char : end_char - self.start_char]

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], start_char: int = 0) -> "TokenizedSentence":
        """A sentence over ``" ".join(tokens)`` (for input that was tokenised already).

        Args:
            tokens: The tokens.
            start_char: Offset of the first token.
        """
        offsets = []
        position = start_char
        for token in tokens:
            offsets.append((position, position + len(token)))
            position += len(token) + 1
        return cls(list(tokens), offsets, " ".join(tokens))

    @classmethod
    def from_line(cls, line: str, start_char: int = 0) -> Optional["TokenizedSentence"]:
        """A pre-tokenised line split on whitespace, with offsets into the line (+ ``start_char``).

        Returns:
            The sentence, or None for a line with no tokens.
        """
        matches = list(re.finditer(r"\S+", line))
        if not matches:
            return None
        first, last = matches[0].start(), matches[-1].end()
        return cls(
            [m.group() for m in matches],
            [(start_char + m.start(), start_char + m.end()) for m in matches],
            line[first:last],
        )


# --------------------------------------------------------------------------------- splitting


def split_text(text: str) -> Iterator[TokenizedSentence]:
    """Split raw text into sentences of tokens (lazily, paragraph by paragraph).

    Args:
        text: Running text; blank lines separate paragraphs, which no sentence crosses.

    Returns:
        An iterator of sentences with offsets into ``text``.

    Example:
        >>> [s.tokens for s in split_text("Mr. Smith doesn't work for New York-based Acme. He's in the U.S.")]
        [['Mr.', 'Smith', 'does', "n't", 'work', 'for', 'New', 'York-based', 'Acme', '.'], ['He', "'s", 'in', 'the', 'U.S', '.']]
    """
    if not isinstance(text, str):
        raise TypeError(f"split_text takes a str, got {type(text).__name__}")
    return _split(text, 0)


def split_stream(source: Union[IO[str], Iterable[str]], *, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> Iterator[TokenizedSentence]:
    """Split a text stream into sentences of tokens in bounded memory.

    The text is the concatenation of the pieces ``source`` yields (lines of a file, or chunks);
    an object with ``read`` is read ``chunk_chars`` characters at a time. Text is processed a
    paragraph at a time; a paragraph longer than ``chunk_chars`` is cut at a sentence boundary,
    and a sentence longer than ``chunk_chars / 2`` at a space (so a file without punctuation or
    blank lines still streams); only a run of ``chunk_chars`` characters without whitespace is
    cut inside.

    Args:
        source: A text file object, or any iterable of strings.
        chunk_chars: Roughly how many characters are held at once.

    Returns:
        An iterator of sentences with offsets counted from the start of the stream; the same
        sentences as :func:`split_text` on the whole text unless a long paragraph had to be cut.
    """
    if chunk_chars < 2:
        raise ValueError(f"chunk_chars must be >= 2, got {chunk_chars}")
    parts: List[str] = []
    size = 0
    base = 0  # offset of parts[0] in the stream
    for piece in _pieces(source, chunk_chars):
        if not isinstance(piece, str):
            raise TypeError(f"split_stream reads text; got a {type(piece).__name__} piece")
        parts.append(piece)
        size += len(piece)
        # A whitespace-only line ends a paragraph (line input); otherwise wait for enough text.
        if size < chunk_chars and not (piece.isspace() and "\n" in piece):
            continue
        buffer = "".join(parts)
        cut = _last_paragraph_break(buffer)
        if cut is None and len(buffer) >= chunk_chars:
            cut = yield from _emit_complete_sentences(buffer, base, chunk_chars)
        elif cut is not None:
            yield from _split(buffer[:cut], base)
        cut = cut or 0
        base += cut
        rest = buffer[cut:]
        parts, size = ([rest], len(rest)) if rest else ([], 0)
    if parts:
        yield from _split("".join(parts), base)


def _pieces(source: Union[IO[str], Iterable[str]], chunk_chars: int) -> Iterator[str]:
    read = getattr(source, "read", None)
    if read is None:
        yield from source
        return
    while True:
        piece = read(chunk_chars)
        if not piece:
            return
        yield piece


def _last_paragraph_break(buffer: str) -> Optional[int]:
    """End of the last blank-line run in ``buffer``, or None when it has none."""
    cut = None
    for match in _PARAGRAPH_BREAK.finditer(buffer):
        cut = match.end()
    return cut


def _emit_complete_sentences(buffer: str, base: int, chunk_chars: int) -> Generator[TokenizedSentence, None, int]:
    """Yield the sentences of ``buffer`` but its last (maybe unfinished) one; returns where that one starts.

    When the last sentence is itself long, it is cut at its last whitespace, so the text kept
    back is at most ``chunk_chars / 2`` plus a partial word; a "word" longer than ``chunk_chars``
    is cut too.
    """
    sentences = list(_split(buffer, base))
    keep = len(buffer)
    if sentences:
        keep = sentences[-1].start_char - base
        yield from sentences[:-1]
    if len(buffer) - keep > chunk_chars // 2:
        space = max(buffer.rfind(" ", keep), buffer.rfind("\n", keep), buffer.rfind("\t", keep))
        if space > keep:
            cut = space + 1
        elif len(buffer) - keep > chunk_chars:
            cut = len(buffer)  # no whitespace in a whole chunk: not text; cut anyway to bound memory
        else:
            return keep
        yield from _split(buffer[keep:cut], base + keep)
        keep = cut
    return keep


def _split(text: str, base: int) -> Iterator[TokenizedSentence]:
    """Sentences of ``text`` with offsets shifted by ``base``, paragraph by paragraph."""
    from syntok.segmenter import segment

    tokenizer = _syntok_tokenizer()
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        yield from _split_paragraph(text, start, match.start(), base, tokenizer, segment)
        start = match.end()
    yield from _split_paragraph(text, start, len(text), base, tokenizer, segment)


def _split_paragraph(
    text: str, start: int, end: int, base: int, tokenizer: Any, segment: Callable[[Any], Iterable[Any]]
) -> Iterator[TokenizedSentence]:
    """Sentences of ``text[start:end]`` (one paragraph); ``tokenizer``/``segment`` are syntok's."""
    paragraph = text[start:end]
    if not paragraph.strip():
        return
    cursor = 0
    # Not tokenizer.tokenize(paragraph, base_offset): syntok pads the text with base_offset spaces.
    for syntok_sentence in segment(tokenizer.tokenize(paragraph)):
        pieces: List[List[int]] = []
        for token in syntok_sentence:
            value = token.value
            if not value:
                continue  # syntok's empty token carrying trailing whitespace
            position = token.offset
            if paragraph[position : position + len(value)] != value:
                # Defensive: should syntok ever normalise a token, find its text from where we are.
                position = paragraph.find(value, cursor)
                if position < 0:
                    continue
            cursor = position + len(value)
            pieces.append([position, cursor])
        pieces = _adjust(paragraph, pieces)
        if pieces:
            first, last = pieces[0][0], pieces[-1][1]
            yield TokenizedSentence(
                [paragraph[s:e] for s, e in pieces],
                [(base + start + s, base + start + e) for s, e in pieces],
                paragraph[first:last],
            )


def _adjust(text: str, pieces: List[List[int]]) -> List[List[int]]:
    """Apply the CoNLL-2003 adjustments (see the module docstring) to one sentence's token offsets."""
    # Glue: a gap without whitespace between two tokens is a hyphen or underscore syntok dropped.
    glued: List[List[int]] = []
    for piece in pieces:
        if glued and piece[0] > glued[-1][1] and not _has_space(text[glued[-1][1] : piece[0]]):
            glued[-1][1] = piece[1]
        else:
            glued.append(list(piece))
    # Runs of periods, elisions (O'Neil), then abbreviation periods.
    merged: List[List[int]] = []
    for piece in glued:
        if merged and merged[-1][1] == piece[0]:
            previous, current = text[merged[-1][0] : merged[-1][1]], text[piece[0] : piece[1]]
            if _is_periods(previous) and _is_periods(current):
                merged[-1][1] = piece[1]
                continue
            if previous in _ELISION_PREFIXES and len(current) > 1 and current[0] in _APOSTROPHES and current[1].isupper():
                merged[-1][1] = piece[1]
                continue
            if len(previous) == 1 and previous in _APOSTROPHES and _DECADE.fullmatch(current):
                merged[-1][1] = piece[1]  # '90s
                continue
        merged.append(piece)
    adjusted: List[List[int]] = []
    for index, piece in enumerate(merged):
        last = index == len(merged) - 1
        follows = bool(adjusted) and adjusted[-1][1] == piece[0]
        if follows and not last and text[piece[0] : piece[1]] == "." and _is_abbreviation(text[adjusted[-1][0] : adjusted[-1][1]]):
            adjusted[-1][1] = piece[1]
            continue
        adjusted.append(piece)
    return [piece for piece in adjusted if not _is_invisible(text[piece[0] : piece[1]])]


def _has_space(gap: str) -> bool:
    return any(c.isspace() for c in gap)


def _is_periods(token: str) -> bool:
    return bool(token) and token.strip(".") == ""


def _is_abbreviation(token: str) -> bool:
    word = token.rsplit("-", 1)[-1]  # pro-U.S -> U.S
    return word in ABBREVIATIONS or (len(word) == 1 and word.isupper()) or bool(_INITIALISM.fullmatch(word))


def _is_invisible(token: str) -> bool:
    """A token of format characters only (a byte-order mark, a lone soft hyphen): not a word."""
    return all(unicodedata.category(c) in _INVISIBLE for c in token)
