"""Tag schemes as pure functions: detect, validate, repair and convert IOB1/IOB2/IOBES/BILOU tag lists.

A tag is ``"O"`` or ``PREFIX-TYPE`` with PREFIX one of B, I, E, S, L, U and a non-empty TYPE
(``"B-creative-work"`` has type ``creative-work``: the tag is split at its first hyphen).
``plain`` is the scheme of per-token tags with no entity structure (POS tags).

Spans are read the conlleval way (the behaviour of seqeval's default mode), which is lenient: an
inside tag that cannot continue the open entity starts a new one, so ``O I-PER`` in IOB2 still
gives a PER span. ``allowed_transitions`` is built from the same ``_can_follow`` rule that
``validate_tags`` checks, so the CRF constraints and the validator can never disagree.

This module imports nothing heavy (no torch, no datasets) on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional, Sequence

from tagger.errors import ConfigError, InvalidTagSequence

SCHEMES = ("IOB1", "IOB2", "IOBES", "BILOU", "plain")

_ALIASES = {
    "iob1": "IOB1",
    "iob": "IOB1",
    "iob2": "IOB2",
    "bio": "IOB2",
    "iobes": "IOBES",
    "bioes": "IOBES",
    "bilou": "BILOU",
    "plain": "plain",
    "none": "plain",
    "pos": "plain",
}

# The prefixes each entity scheme uses, in its canonical label order.
_PREFIXES = {
    "IOB1": ("B", "I"),
    "IOB2": ("B", "I"),
    "IOBES": ("B", "I", "E", "S"),
    "BILOU": ("B", "I", "L", "U"),
}

# BILOU's L (last) and U (unit) play the roles of IOBES's E (end) and S (single); the rules below
# are written for B/I/E/S, so L and U are mapped on parsing.
_ROLE = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}

_OUTSIDE = ("O", "")


@dataclass(frozen=True)
class Span:
    """An entity: ``label`` over tokens ``start`` (inclusive) to ``end`` (exclusive)."""

    label: str
    start: int
    end: int

    def __post_init__(self) -> None:
        """Reject empty or negative spans."""
        if not 0 <= self.start < self.end:
            raise ValueError(f"a span needs 0 <= start < end, got start={self.start}, end={self.end}")


def normalize_scheme(name: str) -> str:
    """Return the canonical name of a tag scheme.

    Args:
        name: A scheme name or alias, case-insensitive: IOB1 (IOB), IOB2 (BIO), IOBES (BIOES),
            BILOU, plain (none, pos).

    Returns:
        One of ``SCHEMES``.

    Raises:
        ConfigError: ``name`` is not a known scheme.
    """
    canonical = _ALIASES.get(name.lower()) if isinstance(name, str) else None
    if canonical is None:
        raise ConfigError(
            f"unknown tag scheme {name!r}; choose one of {', '.join(SCHEMES)} "
            "(aliases: BIO = IOB2, BIOES = IOBES, IOB = IOB1, none/pos = plain)"
        )
    return canonical


@lru_cache(maxsize=8192)
def _parse(tag: str) -> Optional[tuple[str, str]]:
    """Split a tag into (role, type): ("O", "") for O, ("B", "PER") for B-PER or U-PER -> ("S", ...).

    Returns None for a tag that is neither O nor PREFIX-TYPE.
    """
    if tag == "O":
        return _OUTSIDE
    if len(tag) > 2 and tag[1] == "-" and tag[0] in _ROLE:
        return _ROLE[tag[0]], tag[2:]
    return None


def _parsed(tag: str) -> tuple[str, str]:
    """``_parse`` for a tag already checked to be O or PREFIX-TYPE."""
    parsed = _parse(tag)
    assert parsed is not None, tag
    return parsed


def _parse_in(tag: str, scheme: str) -> Optional[tuple[str, str]]:
    """Like ``_parse``, but None also when the prefix is not one of ``scheme``'s."""
    parsed = _parse(tag)
    if parsed is None or parsed is _OUTSIDE:
        return parsed
    return parsed if tag[0] in _PREFIXES[scheme] else None


def _can_start(cur: tuple[str, str], scheme: str) -> bool:
    """Whether a sentence may begin with ``cur`` (a parsed tag) in an entity scheme."""
    role = cur[0]
    if scheme == "IOB1":
        return role != "B"
    return role in ("O", "B", "S")  # IOB2 (no S there), IOBES, BILOU


def _can_end(prev: tuple[str, str], scheme: str) -> bool:
    """Whether a sentence may end with ``prev`` (a parsed tag) in an entity scheme."""
    if scheme in ("IOB1", "IOB2"):
        return True
    return prev[0] in ("O", "E", "S")


def _can_follow(prev: tuple[str, str], cur: tuple[str, str], scheme: str) -> bool:
    """Whether parsed tag ``cur`` may directly follow parsed tag ``prev`` in an entity scheme."""
    prev_role, prev_type = prev
    role, typ = cur
    inside_same = prev_role in ("B", "I") and prev_type == typ
    if scheme == "IOB2":
        return role != "I" or inside_same
    if scheme == "IOB1":
        return role != "B" or inside_same
    # IOBES / BILOU: an open entity (after B or I) must continue with I or E of its own type.
    if prev_role in ("B", "I"):
        return role in ("I", "E") and typ == prev_type
    return role in ("O", "B", "S")


def detect_scheme(sequences: Iterable[Sequence[str]]) -> str:
    """Guess the tag scheme of a corpus column from its tag sequences.

    Rules: ``plain`` when no tag has an entity prefix (POS tags); BILOU if any L-/U- tag occurs;
    IOBES if any E-/S- tag occurs; otherwise IOB1 when entities start with I- (after O, the
    sentence start or another type) more often than B- tags start entities after anything but
    the same type, else IOB2. Annotation slips therefore do not flip a corpus's scheme.

    Args:
        sequences: The tag sequences, one per sentence.

    Returns:
        One of ``SCHEMES``.
    """
    entity = False
    seen_lu = seen_es = False
    i_starts = 0  # I-X opening an entity: IOB1 evidence
    b_starts = 0  # B-X not following the same type: IOB2 evidence
    for tags in sequences:
        prev = _OUTSIDE
        for tag in tags:
            parsed = _parse(tag)
            if parsed is None:
                prev = _OUTSIDE
                continue
            role, typ = parsed
            if role != "O":
                entity = True
                prefix = tag[0]
                if prefix in "LU":
                    seen_lu = True
                elif prefix in "ES":
                    seen_es = True
                elif not (prev[0] in ("B", "I") and prev[1] == typ):
                    if role == "I":
                        i_starts += 1
                    else:
                        b_starts += 1
            prev = parsed
    if not entity:
        return "plain"
    if seen_lu:
        return "BILOU"
    if seen_es:
        return "IOBES"
    return "IOB1" if i_starts > b_starts else "IOB2"


def _where(sentence: Optional[int], position: int) -> str:
    head = f"sentence {sentence}, " if sentence is not None else ""
    return f"{head}token {position}"


def find_violation(tags: Sequence[str], scheme: str) -> Optional[tuple[int, str]]:
    """The first place where a tag sequence breaks its scheme, or None when it is valid.

    Args:
        tags: One sentence's tags.
        scheme: The scheme they should follow (any name ``normalize_scheme`` accepts).

    Returns:
        ``(position, reason)``: the 0-based token position and e.g. ``"I-PER follows B-LOC (IOB2)"``.
    """
    scheme = normalize_scheme(scheme)
    if scheme == "plain":
        return None
    prev: tuple[str, str] = _OUTSIDE
    prev_tag = None
    for position, tag in enumerate(tags):
        cur = _parse_in(tag, scheme)
        if cur is None:
            return position, f"{tag!r} is not a valid {scheme} tag"
        if prev_tag is None:
            if not _can_start(cur, scheme):
                return position, f"{tag} starts the sentence ({scheme})"
        elif not _can_follow(prev, cur, scheme):
            return position, f"{tag} follows {prev_tag} ({scheme})"
        prev, prev_tag = cur, tag
    if prev_tag is not None and not _can_end(prev, scheme):
        return len(tags) - 1, f"{prev_tag} ends the sentence ({scheme})"
    return None


def is_entity_tag(tag: str) -> bool:
    """Whether ``tag`` is ``O`` or PREFIX-TYPE with a prefix of any scheme (B, I, E, S, L, U)."""
    return _parse(tag) is not None


def validate_tags(tags: Sequence[str], scheme: str, *, sentence: Optional[int] = None, path: Optional[str] = None) -> None:
    """Check that a tag sequence obeys its scheme.

    Args:
        tags: One sentence's tags.
        scheme: The scheme they should follow (any name ``normalize_scheme`` accepts).
        sentence: The sentence's index, named in the error message.
        path: The file the tags came from, named in the error.

    Raises:
        InvalidTagSequence: The first violation, e.g.
            ``sentence 12, token 3: I-PER follows B-LOC (IOB2)``; token positions are 0-based.
    """
    violation = find_violation(tags, scheme)
    if violation is not None:
        position, reason = violation
        raise InvalidTagSequence(f"{_where(sentence, position)}: {reason}", path=path)


def spans_from_tags(tags: Sequence[str], scheme: str, *, strict: bool = False) -> list[Span]:
    """Read the entities of a tag sequence, conlleval-style (lenient) or strictly.

    Lenient (the default, conlleval's and seqeval's default mode): an inside or end tag that
    cannot continue the open entity starts a new one (IOB2 ``O I-PER`` gives a PER span), and
    an entity ends at ``O``, at a begin/single tag, at a change of type or after an end/single
    tag. L-/U- read as E-/S-, so every scheme is read by the same rules.

    Strict (seqeval's strict mode): the same entities, but only those whose tags form a valid
    entity of ``scheme`` count: IOB2 ``B I*``; IOB1 ``I I*``, or ``B I*`` right after an
    entity of its type; IOBES ``S`` or ``B I* E``; BILOU ``U`` or ``B I* L``. Ill-formed
    fragments (IOB2 ``O I-PER``, IOBES ``B-PER O``, an ``E-PER`` in a BILOU sequence) are
    dropped rather than re-read.

    For ``plain``, every tag other than ``O`` is a one-token span.

    Args:
        tags: One sentence's tags.
        scheme: Its scheme.
        strict: Keep only well-formed entities.

    Returns:
        The spans in order.

    Raises:
        InvalidTagSequence: A tag is neither ``O`` nor PREFIX-TYPE (entity schemes only).
    """
    scheme = normalize_scheme(scheme)
    if scheme == "plain":
        return [Span(tag, i, i + 1) for i, tag in enumerate(tags) if tag != "O"]
    spans: list[Span] = []
    start = 0
    open_type: Optional[str] = None
    prev_role = "O"
    for i, tag in enumerate(tags):
        parsed = _parse(tag)
        if parsed is None:
            raise InvalidTagSequence(f"{_where(None, i)}: {tag!r} is not O or PREFIX-TYPE ({scheme})")
        role, typ = parsed
        if open_type is not None and (prev_role in ("E", "S") or role in ("B", "S", "O") or typ != open_type):
            spans.append(Span(open_type, start, i))
            open_type = None
        if role != "O" and open_type is None:
            start, open_type = i, typ
        prev_role = role
    if open_type is not None:
        spans.append(Span(open_type, start, len(tags)))
    if strict:
        return [span for span in spans if _well_formed(tags, span, scheme)]
    return spans


def _well_formed(tags: Sequence[str], span: Span, scheme: str) -> bool:
    """Whether the tags of a (leniently read) span form a valid entity of ``scheme``."""
    role_list = []
    for tag in tags[span.start : span.end]:
        parsed = _parse_in(tag, scheme)
        if parsed is None:
            return False  # a prefix the scheme does not use (E- in BILOU, S- in IOB2, ...)
        role_list.append(parsed[0])
    roles = "".join(role_list)
    if scheme == "IOB2":
        return roles[0] == "B" and roles[1:] == "I" * (len(roles) - 1)
    if scheme == "IOB1":
        if roles[1:] != "I" * (len(roles) - 1):
            return False
        if roles[0] == "I":
            return True
        before = _parse(tags[span.start - 1]) if span.start else None
        return before is not None and before[0] in ("B", "I") and before[1] == span.label
    if len(roles) == 1:
        return roles == "S"
    return roles[0] == "B" and roles[-1] == "E" and roles[1:-1] == "I" * (len(roles) - 2)


def tags_from_spans(spans: Sequence[Span], length: int, scheme: str) -> list[str]:
    """Write spans as the tag sequence of one sentence in ``scheme``.

    Args:
        spans: Non-overlapping spans (any order) inside ``range(length)``.
        length: The number of tokens.
        scheme: The target scheme; for ``plain`` every span must be one token long.

    Returns:
        ``length`` tags, ``O`` outside the spans.

    Raises:
        ValueError: Spans overlap, fall outside the sentence, have an empty label, or (plain)
            are longer than one token.
    """
    scheme = normalize_scheme(scheme)
    tags = ["O"] * length
    prev_end, prev_label = -1, None
    for span in sorted(spans, key=lambda s: s.start):
        if span.end > length:
            raise ValueError(f"span {span} ends after the sentence ({length} tokens)")
        if span.start < prev_end:
            raise ValueError(f"span {span} overlaps the span before it")
        if not span.label:
            raise ValueError(f"span {span} has an empty label")
        label, start, end = span.label, span.start, span.end
        if scheme == "plain":
            if end - start != 1:
                raise ValueError(f"span {span} is longer than one token, impossible in the plain scheme")
            tags[start] = label
        elif scheme == "IOB2":
            tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
        elif scheme == "IOB1":
            first = "B" if (prev_end == start and prev_label == label) else "I"
            tags[start:end] = [f"{first}-{label}"] + [f"I-{label}"] * (end - start - 1)
        else:
            begin, _, last, single = _PREFIXES[scheme]
            if end - start == 1:
                tags[start] = f"{single}-{label}"
            else:
                tags[start:end] = [f"{begin}-{label}"] + [f"I-{label}"] * (end - start - 2) + [f"{last}-{label}"]
        prev_end, prev_label = end, label
    return tags


def repair_tags(tags: Sequence[str], scheme: str) -> list[str]:
    """Make a tag sequence valid in its scheme, reading it the conlleval way.

    An inside tag that cannot continue the open entity starts a new one; the result passes
    ``validate_tags`` and equals ``tags`` when they were valid already.

    Args:
        tags: One sentence's tags.
        scheme: Its scheme.

    Returns:
        The repaired tags.
    """
    scheme = normalize_scheme(scheme)
    if scheme == "plain":
        return list(tags)
    return tags_from_spans(spans_from_tags(tags, scheme), len(tags), scheme)


def _check_pair(source: str, target: str) -> tuple[str, str]:
    source, target = normalize_scheme(source), normalize_scheme(target)
    if (source == "plain") != (target == "plain"):
        raise ConfigError(f"cannot convert between {source} and {target}: plain tags have no entity structure")
    return source, target


def convert_tags(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Convert one sentence's tags from one scheme to another, through their spans.

    Args:
        tags: The tags in ``source``; invalid sequences are read leniently (see ``spans_from_tags``).
        source: Their scheme.
        target: The scheme wanted.

    Returns:
        The tags in ``target`` (valid there).

    Raises:
        ConfigError: Exactly one of the schemes is ``plain``.
    """
    source, target = _check_pair(source, target)
    if source == "plain":
        return list(tags)
    return tags_from_spans(spans_from_tags(tags, source), len(tags), target)


def _types_of(labels: Sequence[str], scheme: str) -> list[str]:
    """Entity types in order of first appearance; ConfigError for a label foreign to ``scheme``."""
    types: dict[str, None] = {}
    for label in labels:
        parsed = _parse_in(label, scheme)
        if parsed is None:
            expected = "/".join(_PREFIXES[scheme])
            raise ConfigError(f"label {label!r} is not a valid {scheme} tag (expected O or {expected}-TYPE)")
        if parsed[0] != "O":
            types.setdefault(parsed[1], None)
    return list(types)


def convert_labels(labels: Sequence[str], source: str, target: str) -> list[str]:
    """Convert a label set to another scheme, completed with every tag the target uses.

    Args:
        labels: Labels of ``source`` (duplicates allowed).
        source: Their scheme.
        target: The scheme wanted.

    Returns:
        ``O`` first, then for each entity type in order of first appearance in ``labels`` its
        tags in the target's canonical prefix order (IOB1/IOB2: B, I; IOBES: B, I, E, S;
        BILOU: B, I, L, U). For plain -> plain, the distinct labels in order.

    Raises:
        ConfigError: Exactly one scheme is plain, or a label does not belong to ``source``.
    """
    source, target = _check_pair(source, target)
    if source == "plain":
        return list(dict.fromkeys(labels))
    return ["O"] + [f"{prefix}-{typ}" for typ in _types_of(labels, source) for prefix in _PREFIXES[target]]


def allowed_transitions(labels: Sequence[str], scheme: str) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """The transitions a linear-chain CRF may use for ``labels`` under ``scheme``.

    Args:
        labels: The label vocabulary, in index order.
        scheme: The scheme the labels follow.

    Returns:
        ``(allowed_start, allowed, allowed_end)``: ``allowed_start[j]`` whether a sentence may
        start with label j, ``allowed[i][j]`` whether label j may follow label i, and
        ``allowed_end[i]`` whether a sentence may end with label i. All True for ``plain``.

    Raises:
        ConfigError: A label is not a tag of ``scheme``.
    """
    scheme = normalize_scheme(scheme)
    n = len(labels)
    if scheme == "plain":
        return [True] * n, [[True] * n for _ in range(n)], [True] * n
    _types_of(labels, scheme)  # raises on foreign labels
    parsed = [_parsed(label) for label in labels]
    start = [_can_start(p, scheme) for p in parsed]
    end = [_can_end(p, scheme) for p in parsed]
    allowed = [[_can_follow(p, q, scheme) for q in parsed] for p in parsed]
    return start, allowed, end
