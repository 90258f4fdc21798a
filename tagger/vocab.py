"""Vocab: a string <-> id map, stored as a JSON list in index order; one class for words, chars and labels."""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Sequence

from tagger.wordforms import lookup_forms

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1


class Vocab:
    """An ordered set of strings with ids.

    Args:
        items: The strings in id order. When ``reserved`` is true they must start with
            ``PAD`` and ``UNK`` (ids 0 and 1) and unknown strings map to ``UNK_ID``;
            otherwise (labels) an unknown string raises ``KeyError``.
    """

    def __init__(self, items: Sequence[str], *, reserved: bool = True):
        self.items: List[str] = list(items)
        self.reserved = reserved
        if not all(isinstance(item, str) for item in self.items):
            index, item = next((i, item) for i, item in enumerate(self.items) if not isinstance(item, str))
            raise TypeError(f"vocabulary entry {index} is not a string: {item!r}")
        if reserved and self.items[:2] != [PAD, UNK]:
            raise ValueError(f"a reserved vocabulary starts with {PAD!r}, {UNK!r}; got {self.items[:2]!r}")
        self.ids: Dict[str, int] = {item: i for i, item in enumerate(self.items)}
        if len(self.ids) != len(self.items):
            duplicates = [item for item, n in Counter(self.items).items() if n > 1]
            raise ValueError(f"duplicate vocabulary entries: {duplicates[:5]!r}")

    @classmethod
    def from_counts(cls, counts: Counter, *, min_count: int = 1, keep: Iterable[str] = ()) -> "Vocab":
        """A reserved vocabulary of the strings seen at least ``min_count`` times (most frequent first),
        plus every string in ``keep`` regardless of its count.
        """
        kept = set(keep)
        ordered = [s for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count or s in kept]
        ordered += sorted(kept - set(ordered))
        return cls([PAD, UNK] + [s for s in ordered if s not in (PAD, UNK)])

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return item in self.ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.items == other.items and self.reserved == other.reserved

    def index(self, item: str) -> int:
        """The id of ``item``; ``UNK_ID`` for an unknown item of a reserved vocabulary."""
        if self.reserved:
            return self.ids.get(item, UNK_ID)
        return self.ids[item]

    def encode(self, items: Iterable[str]) -> List[int]:
        if self.reserved:
            get = self.ids.get
            return [get(item, UNK_ID) for item in items]
        ids = self.ids
        return [ids[item] for item in items]

    def decode(self, ids: Iterable[int]) -> List[str]:
        items = self.items
        return [items[i] for i in ids]


class WordVocab(Vocab):
    """A word vocabulary whose lookup falls back from the exact form to the lowercase and the
    digit-normalised form (as the embedding matrix was built), then to ``UNK``.

    Args:
        items: Words in id order, starting with ``PAD`` and ``UNK``.
        lowercase: The words are lowercase keys: look tokens up by their lowercase form (the
            casing then reaches the model through the character and casing features).
    """

    def __init__(self, items: Sequence[str], *, lowercase: bool = False):
        super().__init__(items, reserved=True)
        self.lowercase = lowercase
        self._resolved: Dict[str, int] = {}

    def key(self, word: str) -> str:
        """The form under which ``word`` is stored."""
        return word.lower() if self.lowercase else word

    def index(self, item: str) -> int:
        found = self.ids.get(self.key(item))
        if found is not None:
            return found
        return self._fallback(item)

    def _fallback(self, item: str) -> int:
        resolved = self._resolved.get(item)
        if resolved is None:
            resolved = next((self.ids[form] for form in lookup_forms(self.key(item))[1:] if form in self.ids), UNK_ID)
            if len(self._resolved) < 1_000_000:  # bounded cache for streaming huge inputs
                self._resolved[item] = resolved
        return resolved

    def encode(self, items: Iterable[str]) -> List[int]:
        get = self.ids.get
        fallback = self._fallback
        out = []
        for item in items:
            found = get(item.lower() if self.lowercase else item)
            out.append(found if found is not None else fallback(item))
        return out


def build_char_vocab(words: Iterable[str], *, min_count: int = 1) -> Vocab:
    """A reserved character vocabulary from the characters of ``words``."""
    counts: Counter = Counter()
    for word in words:
        counts.update(word)
    return Vocab.from_counts(counts, min_count=min_count)


def label_vocab(labels: Sequence[str]) -> Vocab:
    """A label vocabulary (no reserved entries) in the given order."""
    return Vocab(labels, reserved=False)
