"""Turns tokenised sentences into padded tensors: word ids, per-form character ids, masks and lengths,
and groups sentences of similar length into batches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from tagger.vocab import UNK_ID, Vocab, WordVocab

# Word-shape (casing) classes, after Reimers & Gurevych (2017); 0 is padding.
CASE_CLASSES = ("<pad>", "other", "numeric", "mainly_numeric", "lower", "upper", "initial_upper", "contains_digit")


def case_class(word: str) -> int:
    """The casing class of ``word`` as an index into ``CASE_CLASSES`` (0, padding, for the empty form)."""
    if not word:
        return 0
    digits = sum(c.isdigit() for c in word)
    if word.isdigit():
        return 2
    if digits / max(len(word), 1) > 0.5:
        return 3
    if word.islower():
        return 4
    if word.isupper():
        return 5
    if word[:1].isupper():
        return 6
    if digits:
        return 7
    return 1


class CharIndex:
    """Character ids for whole arrays of code points at once (a dense table for the Basic
    Multilingual Plane, a dict beyond it), so encoding forms costs no Python per character.
    """

    def __init__(self, char_vocab: Vocab):
        self.vocab = char_vocab
        self.table = np.full(0x10000, UNK_ID, dtype=np.int64)
        self.astral: Dict[int, int] = {}
        for char, char_id in char_vocab.ids.items():
            if len(char) != 1:  # the reserved "<pad>" and "<unk>" entries
                continue
            if ord(char) < 0x10000:
                self.table[ord(char)] = char_id
            else:
                self.astral[ord(char)] = char_id

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text``, shape (len(text),)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        bmp = codes < 0x10000
        ids = self.table[np.where(bmp, codes, 0)]
        if not bmp.all():
            ids[~bmp] = [self.astral.get(int(c), UNK_ID) for c in codes[~bmp]]
        return ids


class FormTable:
    """The distinct word forms of some sentences, each with its character ids and casing class.

    The character encoder runs once per distinct form rather than once per token. Form 0 is
    the empty form that padding positions point to.
    """

    def __init__(self, char_vocab: Vocab, max_word_length: int = 64, char_index: Optional[CharIndex] = None):
        self.char_index = char_index or CharIndex(char_vocab)
        self.max_word_length = max_word_length
        self.ids: Dict[str, int] = {"": 0}
        self.forms: List[str] = [""]
        self._arrays: Optional[tuple] = None

    def __len__(self) -> int:
        return len(self.forms)

    def encode(self, tokens: Sequence[str]) -> List[int]:
        """Form ids of ``tokens``, adding the forms not seen before."""
        ids = self.ids
        out = []
        for token in tokens:
            form_id = ids.get(token)
            if form_id is None:
                form_id = ids[token] = len(self.forms)
                self.forms.append(token)
                self._arrays = None
            out.append(form_id)
        return out

    def _clipped(self, form: str) -> str:
        # Long tokens (URLs) keep their first and last characters, which carry the most signal.
        half = self.max_word_length // 2
        return form if len(form) <= self.max_word_length else form[:half] + form[-half:]

    def arrays(self) -> tuple:
        """(chars (F, L) int64, lengths (F,) int64, case (F,) int64) over every form so far."""
        if self._arrays is None:
            clipped = [self._clipped(form) for form in self.forms]
            lengths = np.fromiter((len(form) for form in clipped), dtype=np.int64, count=len(clipped))
            char_ids = self.char_index.encode("".join(clipped))  # shape: (total characters,)
            rows = np.repeat(np.arange(len(clipped)), lengths)
            starts = np.cumsum(lengths) - lengths
            cols = np.arange(len(char_ids)) - np.repeat(starts, lengths)
            chars = np.zeros((len(clipped), max(1, int(lengths.max()))), dtype=np.int64)
            chars[rows, cols] = char_ids
            case = np.fromiter((case_class(form) for form in self.forms), dtype=np.int64, count=len(self.forms))
            case[0] = 0
            self._arrays = (chars, lengths, case)
        return self._arrays


@dataclass
class EncodedSentence:
    """One sentence as ids: words (with fallback to <unk>), forms (into a FormTable) and tags."""

    words: np.ndarray  # shape: (length,)
    forms: np.ndarray  # shape: (length,)
    tags: Optional[np.ndarray] = None  # shape: (length,)

    def __len__(self) -> int:
        return len(self.words)


def encode_sentence(
    tokens: Sequence[str], word_vocab: WordVocab, forms: FormTable, tags: Optional[Sequence[int]] = None
) -> EncodedSentence:
    return EncodedSentence(
        np.asarray(word_vocab.encode(tokens), dtype=np.int64),
        np.asarray(forms.encode(tokens), dtype=np.int64),
        None if tags is None else np.asarray(tags, dtype=np.int64),
    )


@dataclass
class Batch:
    """Padded tensors for a batch of sentences (batch-first)."""

    words: torch.Tensor  # shape: (batch, seq_len), 0 at padding
    forms: torch.Tensor  # shape: (batch, seq_len), rows of form_chars (or of the FormTable); 0 at padding
    lengths: torch.Tensor  # shape: (batch,), on the CPU (pack_padded_sequence wants it there)
    mask: torch.Tensor  # shape: (batch, seq_len), bool
    tags: Optional[torch.Tensor] = None  # shape: (batch, seq_len), 0 at padding
    form_chars: Optional[torch.Tensor] = None  # shape: (num_forms, word_len), character ids, 0 at padding
    form_lengths: Optional[torch.Tensor] = None  # shape: (num_forms,)
    form_case: Optional[torch.Tensor] = None  # shape: (num_forms,)

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum())

    def to(self, device: torch.device) -> "Batch":
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            keep_on_cpu = f.name == "lengths"
            moved[f.name] = value if value is None or keep_on_cpu else value.to(device, non_blocking=True)
        return Batch(**moved)


def make_batch(sentences: Sequence[EncodedSentence], form_table: Optional[FormTable] = None) -> Batch:
    """Pads ``sentences`` into a Batch.

    With ``form_table``, the batch carries the characters of the forms it uses (and ``forms``
    points into them); without it, ``forms`` keeps the table's ids, for features computed once
    per table (inference).
    """
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    seq_len = int(lengths.max())
    words = np.zeros((len(sentences), seq_len), dtype=np.int64)
    forms = np.zeros((len(sentences), seq_len), dtype=np.int64)
    with_tags = sentences[0].tags is not None
    tags = np.zeros((len(sentences), seq_len), dtype=np.int64) if with_tags else None
    for i, sentence in enumerate(sentences):
        n = len(sentence)
        words[i, :n] = sentence.words
        forms[i, :n] = sentence.forms
        if with_tags:
            tags[i, :n] = sentence.tags
    mask = np.arange(seq_len)[None, :] < lengths[:, None]
    batch = Batch(
        words=torch.from_numpy(words),
        forms=torch.from_numpy(forms),
        lengths=torch.from_numpy(lengths),
        mask=torch.from_numpy(mask),
        tags=None if tags is None else torch.from_numpy(tags),
    )
    if form_table is not None:
        all_chars, all_lengths, all_case = form_table.arrays()
        # Only the forms this batch uses; position 0 (padding) stays form 0 after the remapping.
        used, local_forms = np.unique(np.concatenate(([0], forms.ravel())), return_inverse=True)
        form_lengths = all_lengths[used]
        batch.forms = torch.from_numpy(local_forms[1:].reshape(forms.shape).astype(np.int64))
        batch.form_chars = torch.from_numpy(np.ascontiguousarray(all_chars[used, : max(1, int(form_lengths.max()))]))
        batch.form_lengths = torch.from_numpy(form_lengths)
        batch.form_case = torch.from_numpy(all_case[used])
    return batch


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, *, shuffle: bool = True) -> List[List[int]]:
    """Sentence indices grouped into batches of similar length.

    Sorting by length (with a little noise so batches differ between epochs) keeps padding
    small; the order of the batches is then shuffled.
    """
    order = list(range(len(lengths)))
    if shuffle:
        keys = {i: lengths[i] + rng.uniform(-1.5, 1.5) for i in order}
        order.sort(key=keys.__getitem__)
    else:
        order.sort(key=lambda i: lengths[i])
    # Longest first within each batch, so that packing it needs no permutation.
    batches = [sorted(order[i : i + batch_size], key=lambda j: -lengths[j]) for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def word_dropout(words: torch.Tensor, mask: torch.Tensor, rate: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Replaces each real word id by ``UNK_ID`` with probability ``rate`` (training only)."""
    if rate <= 0:
        return words
    drop = torch.rand(words.shape, generator=generator, device=words.device) < rate
    return words.masked_fill(drop & mask, UNK_ID)


def iter_chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
